"""Webhook endpoints and deliveries.

An event makes one pending delivery per endpoint that hears it; the worker attempts it
at once (a queued task) and a schedule (`notify.tasks.send_due`, every minute) attempts
whatever is due. Each attempt is its own row: a failed one is followed by a pending row
for the next attempt after a bounded exponential backoff (WEBHOOK_RETRY_MINUTES, default
1, 5, 25 and 125 minutes: five attempts), and the last failed one is marked gave_up.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from notify import webhooks
from notify.models import (
    DeliveryStatus,
    Event,
    EventKind,
    WebhookDelivery,
    WebhookEndpoint,
)
from notify.selectors import endpoints_for
from notify.services.queue import enqueue

logger = logging.getLogger(__name__)

# A delivery claimed this long ago and never finished: its worker died mid-attempt.
SENDING_STALE = timedelta(minutes=10)
MIN_SECRET_LENGTH = 16


# ---------------------------------------------------------------- endpoints


def webhook_endpoint_save(
    *, endpoint: WebhookEndpoint, values: dict[str, Any], user: User | None = None
) -> WebhookEndpoint:
    """Create or change an endpoint. The URL is checked (https, public addresses only)
    and the whole endpoint validated before anything is saved. A secret left out (or
    empty) keeps the stored one; a new endpoint must have one."""
    for name, value in values.items():
        if name == "secret" and not value:
            continue
        setattr(endpoint, name, value)
    if endpoint.pk is None and user is not None and endpoint.created_by_id is None:
        endpoint.created_by = user
    errors: dict[str, list[str]] = {}
    problem = webhooks.url_problem(endpoint.url or "")
    if problem:
        errors["url"] = [problem]
    if not endpoint.secret:
        errors["secret"] = ["Set a secret: it signs every delivery."]
    elif len(endpoint.secret) < MIN_SECRET_LENGTH:
        errors["secret"] = [f"Use a secret of at least {MIN_SECRET_LENGTH} characters."]
    try:
        endpoint.full_clean(exclude=["url", "secret"])
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    endpoint.save()
    return endpoint


def webhook_test_send(*, endpoint: WebhookEndpoint, user: User | None) -> WebhookDelivery:
    """A `test` event delivered to this endpoint only (whatever it subscribes to)."""
    now = timezone.now()
    with transaction.atomic():
        event = Event.objects.create(
            kind=EventKind.TEST,
            key=f"test:{endpoint.pk}:{uuid.uuid4().hex}",
            organization=endpoint.organization,
            data={
                "message": "A test event from Rollcall: your endpoint is set up.",
                "endpoint": endpoint.pk,
                "sent_by": user.get_username() if user else None,
            },
            created_at=now,
        )
        return _delivery_create(event, endpoint, now)


# ---------------------------------------------------------------- deliveries


def payload_of(event: Event) -> dict[str, Any]:
    """The versioned body: {"version": 1, "id", "event", "created", "data"}."""
    return {
        "version": 1,
        "id": event.public_id,
        "event": event.kind,
        "created": event.created_at.isoformat().replace("+00:00", "Z"),
        "data": event.data,
    }


def webhook_deliveries_create(event: Event) -> list[WebhookDelivery]:
    """A pending first attempt for every enabled endpoint that hears the event."""
    return [
        _delivery_create(event, endpoint, event.created_at)
        for endpoint in endpoints_for(event.kind, event.organization_id)
    ]


def _delivery_create(event: Event, endpoint: WebhookEndpoint, at: datetime) -> WebhookDelivery:
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event=event,
        payload=payload_of(event),
        attempt=1,
        status=DeliveryStatus.PENDING,
        next_attempt_at=at,
        created_at=at,
    )
    enqueue("notify.tasks.deliver_webhook", delivery.pk, name=f"notify-webhook-{delivery.pk}")
    return delivery


def webhook_delivery_attempt(delivery_id: int, *, now: datetime | None = None) -> str:
    """Make one attempt (claimed first: a second call does nothing) and record it;
    schedule the next attempt or give up. Returns the attempt's status."""
    now = now or timezone.now()
    claimed = WebhookDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.SENDING, attempted_at=now
    )
    if not claimed:
        return "skipped"
    delivery = WebhookDelivery.objects.select_related("endpoint", "event").get(pk=delivery_id)
    endpoint = delivery.endpoint
    if not endpoint.enabled:
        _finish(delivery, DeliveryStatus.GAVE_UP, error="The endpoint was disabled.")
        return DeliveryStatus.GAVE_UP
    config = webhooks.webhook_settings()
    outcome = webhooks.post(
        endpoint.url,
        secret=endpoint.secret,
        payload=delivery.payload,
        headers={
            "Rollcall-Event": delivery.event.kind,
            "Rollcall-Event-Id": delivery.event.public_id,
            "Rollcall-Delivery": str(delivery.pk),
            "Rollcall-Attempt": str(delivery.attempt),
        },
        timeout=config["timeout"],
    )
    if outcome.ok:
        _finish(delivery, DeliveryStatus.SUCCEEDED, outcome)
        return DeliveryStatus.SUCCEEDED
    waits = config["retry_minutes"]
    if delivery.attempt > len(waits):
        _finish(delivery, DeliveryStatus.GAVE_UP, outcome)
        logger.warning(
            "Webhook delivery %s to endpoint %s gave up after %s attempts",
            delivery.pk,
            endpoint.pk,
            delivery.attempt,
        )
        return DeliveryStatus.GAVE_UP
    with transaction.atomic():
        _finish(delivery, DeliveryStatus.FAILED, outcome)
        WebhookDelivery.objects.create(
            endpoint=endpoint,
            event=delivery.event,
            payload=delivery.payload,
            attempt=delivery.attempt + 1,
            status=DeliveryStatus.PENDING,
            next_attempt_at=now + timedelta(minutes=float(waits[delivery.attempt - 1])),
            created_at=now,
        )
    return DeliveryStatus.FAILED


def _finish(
    delivery: WebhookDelivery,
    status: str,
    outcome: webhooks.Outcome | None = None,
    *,
    error: str = "",
) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=status,
        response_code=outcome.status if outcome else None,
        duration_ms=outcome.duration_ms if outcome else None,
        error=(outcome.error if outcome else error)[:500],
    )


def webhook_deliveries_due(*, now: datetime, limit: int = 200) -> dict[str, int]:
    """Attempt every delivery that is due (the schedule's sweep); an attempt whose
    worker died mid-way is recorded as failed first, so it is retried."""
    # Attempted again as the same attempt: nothing was recorded for it.
    WebhookDelivery.objects.filter(
        status=DeliveryStatus.SENDING, attempted_at__lt=now - SENDING_STALE
    ).update(status=DeliveryStatus.PENDING, error="The worker stopped during the attempt.")
    due = list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    counts: dict[str, int] = {}
    for pk in due:
        status = webhook_delivery_attempt(pk, now=now)
        counts[status] = counts.get(status, 0) + 1
    return counts
