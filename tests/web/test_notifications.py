"""The notifications page (the caller's own mode, the organization's webhooks) and each
config's health on the sync tab.

School admins get no notifications (notify.selectors.recipients), so their page says so
and shows no form; posting anyway is a 403.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from notify.models import ConfigWatch, Mode, NotificationPreference, WebhookEndpoint
from syncs.models import SyncConfig, SyncRun
from tests.web.conftest import client_for, csrf_token, grant, text

SECRET = "very-secret-signing-key-42"
GOOD_URL = "https://93.184.215.14/hook"  # an address literal: resolves without a network


def page_url(org) -> str:
    return reverse("web:notifications", args=[org.pk])


def add_url(org) -> str:
    return reverse("web:webhook_add", args=[org.pk])


def endpoint_body(**changes) -> dict:
    return {
        "name": "Messaging app",
        "url": GOOD_URL,
        "secret": SECRET,
        "events": ["run.failed", "sync.stale"],
        **changes,
    }


@pytest.fixture
def endpoint(world) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        organization=world.org,
        name="Existing hook",
        url=GOOD_URL,
        secret=SECRET,
        events=["run.failed"],
    )


def test_district_admin_sets_their_mode_and_adds_an_endpoint(world):
    client = client_for(world.district_admin, csrf=True)
    token = csrf_token(client, page_url(world.org))

    response = client.post(
        reverse("web:notification_preference", args=[world.org.pk]),
        {"mode": "daily", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    pref = NotificationPreference.objects.get(user=world.district_admin, organization=world.org)
    assert pref.mode == Mode.DAILY

    response = client.post(add_url(world.org), {**endpoint_body(), "csrfmiddlewaretoken": token})
    assert response.status_code == 302, text(response)
    endpoint = WebhookEndpoint.objects.get(organization=world.org)
    assert endpoint.url == GOOD_URL
    assert endpoint.secret == SECRET
    assert endpoint.events == ["run.failed", "sync.stale"]
    assert endpoint.created_by == world.district_admin

    page = client.get(page_url(world.org))
    body = text(page)
    assert "Messaging app" in body and GOOD_URL in body
    assert "Run failed, Sync stale" in body
    assert "in one daily digest" in body
    assert re.search(r'<input[^>]*value="daily"[^>]*checked', page.content.decode())
    # The secret is write-only: on no page, ever.
    for url in (page_url(world.org), reverse("web:tab", args=[world.org.pk])):
        assert SECRET not in client.get(url).content.decode()


def test_another_districts_admin_gets_404_for_the_page_and_every_post(world, endpoint):
    client = client_for(world.other_admin)
    org = world.org
    assert client.get(page_url(org)).status_code == 404
    posts = {
        reverse("web:notification_preference", args=[org.pk]): {"mode": "off"},
        add_url(org): endpoint_body(),
        reverse("web:webhook_enabled", args=[org.pk, endpoint.pk]): {"enabled": "0"},
        reverse("web:webhook_test", args=[org.pk, endpoint.pk]): {},
        reverse("web:webhook_delete", args=[org.pk, endpoint.pk]): {},
        # A's endpoint through B's own page is no better.
        reverse("web:webhook_delete", args=[world.other_org.pk, endpoint.pk]): {},
    }
    for url, data in posts.items():
        assert client.post(url, data).status_code == 404, url
    assert not NotificationPreference.objects.exists()
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk, enabled=True).exists()
    assert WebhookEndpoint.objects.count() == 1


def test_school_admin_sees_why_they_get_none_and_may_not_post(world, endpoint):
    client = client_for(world.school_admin)
    page = client.get(page_url(world.org))
    assert page.status_code == 200
    body = text(page)
    assert "As a school admin you get none" in body
    assert "<form" not in page.content.decode().split('id="content"')[1]
    assert "Existing hook" not in body  # not their organization's webhooks
    posts = {
        reverse("web:notification_preference", args=[world.org.pk]): {"mode": "off"},
        add_url(world.org): endpoint_body(),
    }
    for url, data in posts.items():
        assert client.post(url, data).status_code == 403, url
    # An endpoint they cannot see is not there for them at all.
    assert (
        client.post(reverse("web:webhook_delete", args=[world.org.pk, endpoint.pk])).status_code
        == 404
    )
    assert not NotificationPreference.objects.exists()
    assert WebhookEndpoint.objects.count() == 1


def test_staff_without_notify_permissions_set_their_mode_but_not_webhooks(world):
    client = client_for(world.staff_viewer)
    body = text(client.get(page_url(world.org)))
    assert "You do not watch this organization" in body
    assert "Add an endpoint" not in body
    assert (
        client.post(
            reverse("web:notification_preference", args=[world.org.pk]), {"mode": "off"}
        ).status_code
        == 302
    )
    assert client.post(add_url(world.org), endpoint_body()).status_code == 403
    assert not WebhookEndpoint.objects.exists()


def test_staff_with_notify_permissions_manage_webhooks(world):
    staff = grant(world.support, "notify.view_webhookendpoint", "notify.add_webhookendpoint")
    client = client_for(staff)
    assert "Add an endpoint" in text(client.get(page_url(world.org)))
    assert client.post(add_url(world.org), endpoint_body()).status_code == 302
    assert WebhookEndpoint.objects.get().organization == world.org


def test_posts_without_the_csrf_token_are_refused(world):
    client = client_for(world.district_admin, csrf=True)
    client.get(page_url(world.org))
    prefs = client.post(
        reverse("web:notification_preference", args=[world.org.pk]), {"mode": "off"}
    )
    assert prefs.status_code == 403
    assert client.post(add_url(world.org), endpoint_body()).status_code == 403
    assert not NotificationPreference.objects.exists()
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://10.0.0.5/", "Webhooks are sent over https:// only."),
        ("https://10.0.0.5/", "The host 10.0.0.5 resolves to 10.0.0.5"),
    ],
)
def test_a_bad_url_shows_its_message_on_the_form_and_stores_nothing(world, settings, url, message):
    settings.ROLLCALL_WEBHOOKS_ALLOW_LOOPBACK = False
    client = client_for(world.district_admin)
    response = client.post(add_url(world.org), endpoint_body(url=url))
    assert response.status_code == 400
    body = text(response)
    assert message in body
    assert "public addresses" in body
    html = response.content.decode()
    assert f'value="{url}"' in html  # what was typed stays, to be corrected
    assert SECRET not in html  # ... but never the secret
    assert not WebhookEndpoint.objects.exists()


def test_a_short_secret_and_no_events_show_their_messages(world):
    response = client_for(world.district_admin).post(
        add_url(world.org), endpoint_body(secret="short", events=[])
    )
    assert response.status_code == 400
    body = text(response)
    assert "Choose at least one event." in body
    assert not WebhookEndpoint.objects.exists()
    response = client_for(world.district_admin).post(
        add_url(world.org), endpoint_body(secret="short")
    )
    assert "Use a secret of at least 16 characters." in text(response)
    assert not WebhookEndpoint.objects.exists()


def test_district_admin_tests_disables_enables_and_deletes_an_endpoint(world, endpoint):
    client = client_for(world.district_admin)
    org = world.org

    response = client.post(reverse("web:webhook_test", args=[org.pk, endpoint.pk]), follow=True)
    assert "A test event" in text(response)
    delivery = endpoint.deliveries.get()
    assert delivery.event.kind == "test"
    assert "Pending" in text(client.get(page_url(org)))  # its last deliveries

    client.post(reverse("web:webhook_enabled", args=[org.pk, endpoint.pk]), {"enabled": "0"})
    endpoint.refresh_from_db()
    assert not endpoint.enabled
    assert "Disabled" in text(client.get(page_url(org)))

    client.post(reverse("web:webhook_enabled", args=[org.pk, endpoint.pk]), {"enabled": "1"})
    endpoint.refresh_from_db()
    assert endpoint.enabled

    client.post(reverse("web:webhook_delete", args=[org.pk, endpoint.pk]))
    assert not WebhookEndpoint.objects.exists()


def test_the_tab_links_to_the_notifications_page(world):
    page = client_for(world.district_admin).get(reverse("web:tab", args=[world.org.pk]))
    assert f'href="{page_url(world.org)}"' in page.content.decode()


# ---------------------------------------------------------------- health on the tab


def silent_for(config: SyncConfig, hours: float) -> None:
    """The config's last successful run ended `hours` ago (and it is older than that)."""
    now = timezone.now()
    SyncConfig.objects.filter(pk=config.pk).update(created_at=now - timedelta(days=60))
    SyncRun.objects.filter(config=config).update(finished_at=now - timedelta(hours=hours))


def config_card(world) -> str:
    page = client_for(world.district_admin).get(reverse("web:tab", args=[world.org.pk]))
    body = text(page)
    return body[body.index(world.config.name) :]


def test_a_config_silent_for_37_hours_shows_stale(world):
    silent_for(world.config, 37)
    card = config_card(world)
    assert "Health Stale" in card
    assert "No successful run for 37 hours (stale after 36)" in card


def test_a_config_that_synced_recently_shows_ok(world):
    silent_for(world.config, 2)
    card = config_card(world)
    assert "Health OK" in card and "Stale" not in card


def test_a_paused_config_shows_paused_not_stale(world):
    silent_for(world.config, 24 * 20)
    today = timezone.now().date()
    ConfigWatch.objects.create(
        config=world.config,
        paused_from=today - timedelta(days=10),
        paused_until=today + timedelta(days=10),
    )
    card = config_card(world)
    assert "Health Paused" in card and "Paused until" in card
    assert "Stale" not in card
