"""The notification endpoints of /api/v1/: who may watch, set a preference, manage
webhook endpoints, read deliveries and send test events; out of reach is 404, a
read-only token may only read, and a webhook's secret never comes back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import ApiToken, User
from notify.models import Mode, NotificationPreference, Watch, WebhookDelivery, WebhookEndpoint
from notify.services.webhooks import webhook_endpoint_save
from syncs.models import RunStatus, SyncConfig
from tests.helpers import NOW
from tests.notify.conftest import WEBHOOK_SECRET, Listeners, finished_run

pytestmark = pytest.mark.django_db

NEW_SECRET = "a-brand-new-secret-9f8e7d6c5b4a"
EP = "/api/v1/webhook-endpoints/"
NOTIFY_PERMS = (
    "view_webhookendpoint",
    "add_webhookendpoint",
    "change_webhookendpoint",
    "delete_webhookendpoint",
    "send_test_event",
)


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()
    yield
    cache.clear()


def client(user: User, *, read_only: bool = False) -> APIClient:
    c = APIClient()
    token = ApiToken.objects.issue(user=user, read_only=read_only, name="test")[1]
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return c


def support(listeners: Listeners) -> User:
    """Staff who may view every organization and manage webhooks."""
    user = listeners.bystander
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="notify", codename__in=NOTIFY_PERMS)
    )
    return User.objects.get(pk=user.pk)


def hook(org, url: str, **values) -> WebhookEndpoint:
    return webhook_endpoint_save(
        endpoint=WebhookEndpoint(organization=org),
        values={"url": url, "secret": WEBHOOK_SECRET, "events": ["run.failed"], **values},
    )


def body(url: str, org_id, **extra) -> dict:
    return {
        "organization": org_id,
        "url": url,
        "secret": NEW_SECRET,
        "events": ["run.failed"],
        **extra,
    }


def no_secret(response) -> None:
    text = response.content.decode()
    assert WEBHOOK_SECRET not in text and NEW_SECRET not in text


# ---------------------------------------------------------------- webhook endpoints


def test_api_district_admin_manages_their_organizations_webhooks(listeners, receiver):
    api = client(listeners.admin)
    created = api.post(EP, body(receiver.url(), listeners.org.pk), format="json")
    assert created.status_code == 201, created.content
    no_secret(created)
    data = created.json()
    assert data["has_secret"] is True and "secret" not in data
    assert data["created_by"] == "alpha-admin"
    pk = data["id"]
    assert WebhookEndpoint.objects.get(pk=pk).secret == NEW_SECRET

    listed = api.get(EP)
    assert [e["id"] for e in listed.json()["results"]] == [pk]
    no_secret(listed)
    changed = api.patch(f"{EP}{pk}/", {"events": ["run.held", "sync.stale"]}, format="json")
    assert changed.status_code == 200 and changed.json()["events"] == ["run.held", "sync.stale"]
    no_secret(changed)
    assert WebhookEndpoint.objects.get(pk=pk).secret == NEW_SECRET  # kept
    assert api.delete(f"{EP}{pk}/").status_code == 204
    assert not WebhookEndpoint.objects.filter(pk=pk).exists()


def test_api_district_admin_cannot_reach_another_districts_webhooks(listeners, receiver):
    theirs = hook(listeners.other_org, receiver.url())
    everyone = hook(None, receiver.url())
    api = client(listeners.admin)
    for pk in (theirs.pk, everyone.pk):
        assert api.get(f"{EP}{pk}/").status_code == 404
        assert api.patch(f"{EP}{pk}/", {"enabled": False}, format="json").status_code == 404
        assert api.delete(f"{EP}{pk}/").status_code == 404
        assert api.get(f"{EP}{pk}/deliveries/").status_code == 404
        assert api.post(f"{EP}{pk}/test/").status_code == 404
    assert api.get(EP).json()["results"] == []
    # Creating one for B reads the same as for an organization that does not exist.
    for org_id in (listeners.other_org.pk, 999_999):
        refused = api.post(EP, body(receiver.url(), org_id), format="json")
        assert refused.status_code == 400
        assert refused.json()["details"] == {"organization": ["No such organization."]}
    # Nor a global one.
    refused = api.post(EP, body(receiver.url(), None), format="json")
    assert refused.status_code == 403
    assert WebhookEndpoint.objects.count() == 2


def test_api_read_only_token_cannot_change_webhooks(listeners, receiver):
    mine = hook(listeners.org, receiver.url())
    api = client(listeners.admin, read_only=True)
    assert api.get(f"{EP}{mine.pk}/").status_code == 200
    assert api.post(EP, body(receiver.url(), listeners.org.pk), format="json").status_code == 403
    assert api.patch(f"{EP}{mine.pk}/", {"enabled": False}, format="json").status_code == 403
    assert api.delete(f"{EP}{mine.pk}/").status_code == 403
    assert api.post(f"{EP}{mine.pk}/test/").status_code == 403
    assert (
        api.put(
            f"/api/v1/organizations/{listeners.org.pk}/notification-preference/",
            {"mode": "off"},
            format="json",
        ).status_code
        == 403
    )
    assert WebhookEndpoint.objects.get(pk=mine.pk).enabled


def test_api_school_admin_and_plain_staff_cannot_manage_webhooks(listeners, receiver):
    hook(listeners.org, receiver.url())
    school = client(listeners.school_admin)
    assert school.get(EP).json()["results"] == []
    refused = school.post(EP, body(receiver.url(), listeners.org.pk), format="json")
    assert refused.status_code == 403
    staff = client(listeners.watcher)  # views every organization, no notify permissions
    assert staff.get(EP).json()["results"] == []
    assert staff.post(EP, body(receiver.url(), None), format="json").status_code == 403


def test_api_staff_with_permission_manage_any_and_global_webhooks(listeners, receiver):
    theirs = hook(listeners.other_org, receiver.url())
    api = client(support(listeners))
    created = api.post(EP, body(receiver.url(), None), format="json")
    assert created.status_code == 201, created.content
    assert created.json()["organization"] is None
    listed = api.get(EP).json()["results"]
    assert {e["id"] for e in listed} == {theirs.pk, created.json()["id"]}
    assert api.patch(f"{EP}{theirs.pk}/", {"name": "B's"}, format="json").status_code == 200


def test_api_webhook_url_is_checked(listeners, settings):
    settings.ROLLCALL_WEBHOOKS_ALLOW_LOOPBACK = False
    api = client(listeners.admin)
    refused = api.post(EP, body("https://127.0.0.1/hook", listeners.org.pk), format="json")
    assert refused.status_code == 400
    assert "a loopback address" in refused.json()["details"]["url"][0]
    short = api.post(
        EP,
        {**body("https://127.0.0.1/hook", listeners.org.pk), "secret": "short"},
        format="json",
    )
    assert short.status_code == 400 and "secret" in short.json()["details"]
    no_secret(short)


def test_api_deliveries_and_test_event(listeners, receiver, django_capture_on_commit_callbacks):
    mine = hook(listeners.org, receiver.url())
    api = client(listeners.admin)
    with django_capture_on_commit_callbacks(execute=True):
        sent = api.post(f"{EP}{mine.pk}/test/")
    assert sent.status_code == 202, sent.content
    assert sent.json()["event_id"].startswith("evt_")
    (got,) = receiver.received
    assert got.signature_ok
    deliveries = api.get(f"{EP}{mine.pk}/deliveries/")
    assert deliveries.status_code == 200
    (row,) = deliveries.json()["results"]
    assert (row["event"], row["status"], row["response_code"], row["attempt"]) == (
        "test",
        "succeeded",
        200,
        1,
    )
    no_secret(deliveries)
    assert WebhookDelivery.objects.count() == 1


def test_api_test_event_needs_its_permission_for_staff(listeners, receiver):
    theirs = hook(listeners.other_org, receiver.url())
    staff = support(listeners)
    staff.user_permissions.remove(Permission.objects.get(codename="send_test_event"))
    api = client(User.objects.get(pk=staff.pk))
    assert api.post(f"{EP}{theirs.pk}/test/").status_code == 403


# ---------------------------------------------------------------- watch


def test_api_staff_watch_an_organization(listeners):
    api = client(listeners.bystander)
    url = f"/api/v1/organizations/{listeners.org.pk}/watch/"
    assert api.get(url).json()["watching"] is False
    watched = api.put(url)
    assert watched.status_code == 200 and watched.json()["watching"] is True
    assert Watch.objects.filter(user=listeners.bystander, organization=listeners.org).exists()
    assert api.put(url).status_code == 200  # idempotent
    assert api.delete(url).status_code == 204
    assert api.get(url).json()["watching"] is False


def test_api_watch_is_for_staff_and_scoped(listeners):
    url = f"/api/v1/organizations/{listeners.org.pk}/watch/"
    assert client(listeners.admin).put(url).status_code == 403  # sees it, may not watch
    assert client(listeners.other_admin).get(url).status_code == 404  # cannot see it
    assert client(listeners.bystander, read_only=True).put(url).status_code == 403
    assert (
        not Watch.objects.filter(organization=listeners.org)
        .exclude(user=listeners.watcher)
        .exists()
    )


# ---------------------------------------------------------------- preference


def test_api_notification_preference(listeners):
    api = client(listeners.admin)
    url = f"/api/v1/organizations/{listeners.org.pk}/notification-preference/"
    got = api.get(url).json()
    assert got == {
        "organization": listeners.org.pk,
        "mode": "immediate",
        "default": True,
        "receives": True,
        "because": ["district_admin"],
    }
    changed = api.put(url, {"mode": "daily"}, format="json")
    assert changed.status_code == 200 and changed.json()["mode"] == "daily"
    assert NotificationPreference.objects.get(user=listeners.admin).mode == Mode.DAILY
    assert api.put(url, {"mode": "hourly"}, format="json").status_code == 400
    off = api.put(url, {"mode": "off"}, format="json").json()
    assert off["receives"] is False
    assert client(listeners.other_admin).get(url).status_code == 404
    assert client(listeners.school_admin).get(url).json()["receives"] is False


# ---------------------------------------------------------------- health


def test_api_config_health(listeners):
    long_ago = NOW - timedelta(days=400)
    SyncConfig.objects.filter(pk=listeners.config.pk).update(created_at=long_ago)
    finished_run(listeners.config, long_ago, status=RunStatus.SUCCEEDED)
    api = client(listeners.admin)
    got = api.get(f"/api/v1/sync-configs/{listeners.config.pk}/health/")
    assert got.status_code == 200
    assert got.json()["state"] == "stale" and got.json()["stale_after_hours"] == 36
    assert api.get(f"/api/v1/sync-configs/{listeners.other_config.pk}/health/").status_code == 404
