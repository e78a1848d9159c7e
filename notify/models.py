"""Who hears about an organization's syncs, how, and the record of what was sent.

People: district admins of an organization, and support staff who watch it (`Watch`), each
with a mode per organization (`NotificationPreference`: immediate, a daily digest, or off).
Systems: signed webhooks (`WebhookEndpoint`), each attempt logged (`WebhookDelivery`).
What happened is an `Event` (one per run and kind, or per stale episode); each email it
causes is a `Notification`, which is also the log that holds repeats back.
"""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from syncs.fields import EncryptedTextField


class Mode(models.TextChoices):
    IMMEDIATE = "immediate", "Immediately"
    DAILY = "daily", "Daily digest"
    OFF = "off", "Off"


class EventKind(models.TextChoices):
    RUN_SUCCEEDED = "run.succeeded", "Run succeeded"
    RUN_FAILED = "run.failed", "Run failed"
    RUN_HELD = "run.held", "Archives or updates held"
    SYNC_STALE = "sync.stale", "Sync stale"
    SCHOOL_DROP = "school.drop", "Sharp drop at a school"
    TEST = "test", "Test event"


# What an endpoint may subscribe to (a test event goes to the endpoint it was sent to).
SUBSCRIBABLE = [kind for kind in EventKind if kind != EventKind.TEST]
# What people are emailed about; a success is for webhooks only.
EMAILED = frozenset(
    {EventKind.RUN_FAILED, EventKind.RUN_HELD, EventKind.SYNC_STALE, EventKind.SCHOOL_DROP}
)


class Watch(models.Model):
    """A support engineer following an organization: they get its notifications."""

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="watches")
    organization = models.ForeignKey(
        "rostering.Organization", on_delete=models.CASCADE, related_name="watches"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "watches"
        ordering = ["organization", "user"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization"], name="notify_watch_unique_user_organization"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} watches {self.organization}"


class NotificationPreference(models.Model):
    """How one person hears about one organization. No row: immediately."""

    user = models.ForeignKey(
        "accounts.User", on_delete=models.CASCADE, related_name="notification_preferences"
    )
    organization = models.ForeignKey(
        "rostering.Organization", on_delete=models.CASCADE, related_name="+"
    )
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.IMMEDIATE)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["organization", "user"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization"],
                name="notify_notificationpreference_unique_user_organization",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.organization}: {self.get_mode_display()}"


def default_stale_after_hours() -> int:
    return 36


class ConfigWatch(models.Model):
    """A sync config's staleness settings and its current stale episode.

    Stale: no successful run for `stale_after_hours`. Paused (`paused_from` to
    `paused_until`, dates in the config's time zone, either end open) or disabled configs
    are never stale. No row: the defaults (36 hours, never paused).
    """

    config = models.OneToOneField(
        "syncs.SyncConfig", on_delete=models.CASCADE, related_name="watch_settings"
    )
    stale_after_hours = models.PositiveIntegerField(
        default=default_stale_after_hours,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 90)],
        help_text="Stale after this many hours without a successful run.",
    )
    paused_from = models.DateField(
        null=True,
        blank=True,
        help_text="First day of a pause (e.g. the summer), in the config's time zone.",
    )
    paused_until = models.DateField(
        null=True, blank=True, help_text="Last day of the pause (empty: until further notice)."
    )
    # The current stale episode: when it began, and when its one notification went out.
    stale_since = models.DateTimeField(null=True, blank=True, editable=False)
    stale_notified_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "stale-sync setting"

    def __str__(self) -> str:
        return f"{self.config}: stale after {self.stale_after_hours} h"

    def clean(self) -> None:
        if self.paused_from and self.paused_until and self.paused_until < self.paused_from:
            raise ValidationError({"paused_until": "The pause must end on or after it starts."})


class Event(models.Model):
    """Something people or systems hear about. `key` makes it happen once: a run's event
    is recorded once however often its hook fires, a stale episode once."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    key = models.CharField(max_length=200, unique=True)
    organization = models.ForeignKey(
        "rostering.Organization",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    config = models.ForeignKey(
        "syncs.SyncConfig", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    run = models.ForeignKey(
        "syncs.SyncRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # What emails and webhook bodies say: written once, secrets already masked.
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} · {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def public_id(self) -> str:
        return f"evt_{self.uid.hex}"


class NotificationStatus(models.TextChoices):
    PENDING = "pending", "To send now"
    DIGEST = "digest", "Waiting for the daily digest"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    HELD = "held", "Held back (a repeat within the day)"
    FAILED = "failed", "Could not be sent"


# A notification that was, or will be, delivered: what a repeat is measured against.
DELIVERED = (
    NotificationStatus.PENDING,
    NotificationStatus.DIGEST,
    NotificationStatus.SENDING,
    NotificationStatus.SENT,
)


class Notification(models.Model):
    """One email-worthy event for one person: sent now, in a digest, or held back."""

    user = models.ForeignKey(
        "accounts.User", on_delete=models.CASCADE, related_name="notifications"
    )
    event = models.ForeignKey(
        "notify.Event", on_delete=models.CASCADE, related_name="notifications"
    )
    organization = models.ForeignKey(
        "rostering.Organization", on_delete=models.CASCADE, related_name="+"
    )
    # The same failure (config and reason): repeats within a day are held back.
    dedupe_key = models.CharField(max_length=200)
    mode = models.CharField(max_length=16, choices=Mode.choices)
    status = models.CharField(max_length=16, choices=NotificationStatus.choices)
    reminder = models.BooleanField(
        default=False, help_text="A repeat of a failure already notified in this episode."
    )
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    batch = models.CharField(max_length=40, blank=True, help_text="The digest it went out in.")
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "dedupe_key", "created_at"]),
            models.Index(fields=["status", "created_at"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["user", "event"], name="notify_notification_once")
        ]

    def __str__(self) -> str:
        return f"{self.event.kind} → {self.user} ({self.status})"


def validate_events(value) -> None:
    if (
        not isinstance(value, list)
        or not value
        or any(v not in SUBSCRIBABLE for v in value)
        or len(set(value)) != len(value)
    ):
        raise ValidationError(
            "Choose one or more of: " + ", ".join(str(k) for k in SUBSCRIBABLE) + "."
        )


class WebhookEndpoint(models.Model):
    """Where an organization's events are POSTed, signed with the endpoint's secret.

    No organization: a global endpoint, which hears every organization (staff only).
    """

    organization = models.ForeignKey(
        "rostering.Organization",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="webhook_endpoints",
        help_text="Empty: every organization (support staff only).",
    )
    name = models.CharField(max_length=100, blank=True)
    url = models.URLField(
        max_length=1024,
        help_text="https:// only; the host must resolve to public addresses only.",
    )
    secret = EncryptedTextField(help_text="Signs each delivery. Write-only.")
    events = models.JSONField(default=list, validators=[validate_events])
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "webhook endpoint"
        ordering = ["organization", "name", "pk"]
        permissions = [("send_test_event", "Can send a test event to a webhook endpoint")]

    def __str__(self) -> str:
        where = self.organization or "All organizations"
        return f"{self.name or 'Webhook'} · {where}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed (retried)"
    GAVE_UP = "gave_up", "Gave up"


class WebhookDelivery(models.Model):
    """One attempt to deliver one event to one endpoint. A failed attempt is followed by
    a new row for the next attempt, until one succeeds or the last gives up."""

    endpoint = models.ForeignKey(
        "notify.WebhookEndpoint", on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey("notify.Event", on_delete=models.CASCADE, related_name="deliveries")
    # The body as sent (without the signature, which is made per attempt).
    payload = models.JSONField()
    attempt = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    attempted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["endpoint", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.event.kind} → {self.endpoint} · attempt {self.attempt} · {self.status}"
