"""Email notifications: who gets one for an event, repeats held back, sending (always
from the worker), and the daily digest.

Repeats: the same failure (the same `dedupe_key`: config and reason) is emailed at most
once a day per person (`NOTIFY_REPEAT_HOURS`, default 24): a repeat inside that is
recorded as held; the first one after it goes out as a reminder. A successful run of
the config ends the episode, so its next failure is news again.

Digest: a `daily` person's notifications wait (`digest`) until the digest hour
(`DIGEST_HOUR`, default 7, in `DIGEST_TIME_ZONE`, default America/Los_Angeles: after the
nightly window) and go out as one email with everything that came before that hour.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import Q

from notify.content import digest_email, immediate_email
from notify.models import DELIVERED, Event, Mode, Notification, NotificationStatus
from notify.selectors import recipients
from notify.services.queue import enqueue
from syncs.models import RunStatus, SyncRun

logger = logging.getLogger(__name__)


def _setting(name: str, default: object) -> Any:
    return getattr(settings, "ROLLCALL", {}).get(name, default)


def repeat_window() -> timedelta:
    return timedelta(hours=float(_setting("NOTIFY_REPEAT_HOURS", 24)))


def notifications_create(
    event: Event, *, dedupe_key: str, ends_on_success: bool = True
) -> list[Notification]:
    """One notification per person who hears about the event's organization (mode
    `off` excepted): to send now, for the digest, or held back as a repeat. Those to send
    now are queued once the transaction commits."""
    assert event.organization_id is not None
    episode_start = _last_success_before(event) if ends_on_success else None
    made = []
    for recipient in recipients(event.organization_id):
        if recipient.mode == Mode.OFF:
            continue
        earlier = Notification.objects.filter(
            user=recipient.user, dedupe_key=dedupe_key, created_at__lte=event.created_at
        )
        if episode_start is not None:
            earlier = earlier.filter(created_at__gt=episode_start)
        last_delivered = earlier.filter(status__in=DELIVERED).order_by("-created_at", "-pk").first()
        held = (
            last_delivered is not None
            and event.created_at - last_delivered.created_at < repeat_window()
        )
        if held:
            status = NotificationStatus.HELD
        elif recipient.mode == Mode.DAILY:
            status = NotificationStatus.DIGEST
        else:
            status = NotificationStatus.PENDING
        notification = Notification.objects.create(
            user=recipient.user,
            event=event,
            organization_id=event.organization_id,
            dedupe_key=dedupe_key,
            mode=recipient.mode,
            status=status,
            reminder=earlier.exists(),
            created_at=event.created_at,
        )
        made.append(notification)
        if status == NotificationStatus.PENDING:
            enqueue(
                "notify.tasks.send_notification",
                notification.pk,
                name=f"notify-email-{notification.pk}",
            )
    return made


def _last_success_before(event: Event) -> datetime | None:
    if event.config_id is None:
        return None
    return (
        SyncRun.objects.filter(
            config_id=event.config_id,
            status=RunStatus.SUCCEEDED,
            dry_run=False,
            finished_at__lt=event.created_at,
        )
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )


def _send(to: str, subject: str, body: str) -> None:
    EmailMessage(subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[to]).send()


def notification_send(notification_id: int, *, now: datetime) -> str:
    """Send one immediate notification (the worker's task). Claimed first, so a second
    delivery of the task sends nothing. Returns its status."""
    claimed = Notification.objects.filter(
        pk=notification_id, status=NotificationStatus.PENDING
    ).update(status=NotificationStatus.SENDING)
    if not claimed:
        return "skipped"
    notification = Notification.objects.select_related("event", "user").get(pk=notification_id)
    subject, body = immediate_email(notification)
    try:
        _send(notification.user.email, subject, body)
    except Exception as exc:  # noqa: BLE001 - recorded on the row; the log has the rest
        logger.warning("Notification %s could not be sent: %s", notification_id, type(exc).__name__)
        Notification.objects.filter(pk=notification_id).update(
            status=NotificationStatus.FAILED, error=_error(exc)
        )
        return NotificationStatus.FAILED
    Notification.objects.filter(pk=notification_id).update(
        status=NotificationStatus.SENT, sent_at=now
    )
    return NotificationStatus.SENT


def _error(exc: Exception) -> str:
    # SMTP replies name codes and the server's words, never our credentials; kept short.
    return f"{type(exc).__name__}: {exc}"[:500]


def notifications_send_due(*, now: datetime, older_than: timedelta = timedelta(minutes=10)) -> int:
    """Send immediate notifications whose task was lost (queued long ago, still pending)."""
    ids = list(
        Notification.objects.filter(
            status=NotificationStatus.PENDING, created_at__lt=now - older_than
        ).values_list("pk", flat=True)[:500]
    )
    return sum(notification_send(pk, now=now) == NotificationStatus.SENT for pk in ids)


def digest_cutoff(now: datetime) -> datetime:
    """The latest digest hour at or before `now`: digests hold what came before it."""
    zone = ZoneInfo(str(_setting("DIGEST_TIME_ZONE", "America/Los_Angeles")))
    local = now.astimezone(zone)
    cutoff = local.replace(hour=int(_setting("DIGEST_HOUR", 7)), minute=0, second=0, microsecond=0)
    if cutoff > local:
        cutoff -= timedelta(days=1)
    return cutoff


def digests_send(*, now: datetime) -> int:
    """Send each `daily` person one email with their notifications from before today's
    digest hour. Safe to call as often as the schedule likes: each notification is
    claimed for one digest. Returns how many digests went out."""
    cutoff = digest_cutoff(now)
    waiting = Notification.objects.filter(status=NotificationStatus.DIGEST, created_at__lt=cutoff)
    sent = 0
    for user_id in sorted(set(waiting.values_list("user_id", flat=True))):
        batch = uuid.uuid4().hex
        claimed = waiting.filter(user_id=user_id).update(
            status=NotificationStatus.SENDING, batch=batch
        )
        if not claimed:
            continue
        rows = list(
            Notification.objects.filter(batch=batch)
            .select_related("event", "user")
            .order_by("created_at", "pk")
        )
        subject, body = digest_email(rows)
        mine = Q(batch=batch, status=NotificationStatus.SENDING)
        try:
            _send(rows[0].user.email, subject, body)
        except Exception as exc:  # noqa: BLE001 - put back for the next digest run
            logger.warning("Digest for user %s could not be sent: %s", user_id, type(exc).__name__)
            Notification.objects.filter(mine).update(
                status=NotificationStatus.DIGEST, batch="", error=_error(exc)
            )
            continue
        Notification.objects.filter(mine).update(status=NotificationStatus.SENT, sent_at=now)
        sent += 1
    return sent
