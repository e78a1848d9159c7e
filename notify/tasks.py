"""django-q2 entry points: each takes ids (the cluster pickles arguments) and calls
services. Schedules (syncs.services.schedules) wake check_stale (every 30 minutes) and
send_due (every minute: webhook retries, emails whose task was lost, daily digests)."""

from __future__ import annotations

from django.utils import timezone

from notify import services
from notify.services import email, stale, webhooks


def run_finished(run_id: int) -> None:
    """What a finished run means for listeners (queued by the engine's outcome hook)."""
    services.run_finished(run_id)


def check_stale() -> dict[str, list[int]]:
    return stale.configs_check_stale(now=timezone.now())


def send_notification(notification_id: int) -> str:
    return email.notification_send(notification_id, now=timezone.now())


def deliver_webhook(delivery_id: int) -> str:
    return webhooks.webhook_delivery_attempt(delivery_id)


def send_due() -> dict[str, object]:
    """Webhook attempts that are due, emails whose task was lost, and the daily digests
    once their hour has come (each a no-op when there is nothing to do)."""
    now = timezone.now()
    return {
        "webhooks": webhooks.webhook_deliveries_due(now=now),
        "emails": email.notifications_send_due(now=now),
        "digests": email.digests_send(now=now),
    }
