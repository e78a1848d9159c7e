"""Webhook endpoints in the admin: the secret is write-only, URLs are checked, and
*Send test event* needs its permission; deliveries are read-only."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.models import User
from notify.models import WebhookDelivery, WebhookEndpoint
from tests.factories import WebhookDeliveryFactory, WebhookEndpointFactory
from tests.notify.conftest import WEBHOOK_SECRET

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:notify_webhookendpoint_changelist"


def staff(*codenames: str) -> User:
    user = User.objects.create_user("staff", password="pw", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="notify", codename__in=codenames)
    )
    return User.objects.get(pk=user.pk)


def form(url: str, secret: str = "", **extra) -> dict:
    return {"name": "Ops", "url": url, "secret": secret, "events": ["run.failed"], **extra}


def test_admin_endpoint_secret_is_write_only(admin_client, receiver):
    hook = WebhookEndpointFactory(url=receiver.url(), secret=WEBHOOK_SECRET)
    change = reverse("admin:notify_webhookendpoint_change", args=[hook.pk])
    page = admin_client.get(change).content.decode()
    assert WEBHOOK_SECRET not in page
    # Saved with the secret left blank: the stored one is kept.
    response = admin_client.post(change, form(receiver.url(), organization=hook.organization_id))
    assert response.status_code == 302, response.content
    assert WebhookEndpoint.objects.get(pk=hook.pk).secret == WEBHOOK_SECRET
    assert WEBHOOK_SECRET not in admin_client.get(reverse(CHANGELIST)).content.decode()


def test_admin_endpoint_url_refused_with_a_clear_message(admin_client, settings):
    settings.ROLLCALL_WEBHOOKS_ALLOW_LOOPBACK = False
    response = admin_client.post(
        reverse("admin:notify_webhookendpoint_add"),
        form("https://127.0.0.1/hook", secret="a-long-enough-secret-123"),
    )
    assert response.status_code == 200
    assert "resolves to 127.0.0.1, a loopback address" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_admin_endpoint_added_with_its_secret(admin_client, receiver):
    response = admin_client.post(
        reverse("admin:notify_webhookendpoint_add"),
        form(receiver.url(), secret="a-long-enough-secret-123"),
    )
    assert response.status_code == 302, response.content
    hook = WebhookEndpoint.objects.get()
    assert hook.organization is None and hook.secret == "a-long-enough-secret-123"
    assert hook.created_by.username == "admin"


def test_admin_send_test_event_needs_its_permission(
    client, receiver, django_capture_on_commit_callbacks
):
    hook = WebhookEndpointFactory(url=receiver.url(), secret=WEBHOOK_SECRET)
    action = {"action": "send_test_event", "_selected_action": [hook.pk]}
    client.force_login(staff("view_webhookendpoint", "change_webhookendpoint"))
    client.post(reverse(CHANGELIST), action)
    assert not WebhookDelivery.objects.exists()

    client.force_login(staff_plus("send_test_event"))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse(CHANGELIST), action)
    assert response.status_code == 302
    (delivery,) = WebhookDelivery.objects.all()
    assert (delivery.event.kind, delivery.status) == ("test", "succeeded")
    assert [r.signature_ok for r in receiver.received] == [True]


def staff_plus(codename: str) -> User:
    user = User.objects.get(username="staff")
    user.user_permissions.add(Permission.objects.get(codename=codename))
    return User.objects.get(pk=user.pk)


def test_admin_deliveries_are_read_only(admin_client):
    delivery = WebhookDeliveryFactory()
    change = reverse("admin:notify_webhookdelivery_change", args=[delivery.pk])
    assert admin_client.get(change).status_code == 200
    assert admin_client.post(change, {"status": "failed"}).status_code == 403
    assert admin_client.get(reverse("admin:notify_webhookdelivery_add")).status_code == 403
