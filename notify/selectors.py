"""Reads: a config's health (ok, stale, paused, disabled), who hears about an
organization, and the webhook endpoints a caller may see."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import OuterRef, Q, QuerySet, Subquery

from accounts.models import Membership, MembershipRole, User
from notify.models import (
    ConfigWatch,
    Mode,
    NotificationPreference,
    Watch,
    WebhookDelivery,
    WebhookEndpoint,
    default_stale_after_hours,
)
from syncs import access
from syncs.models import RunStatus, SyncConfig, SyncRun

# ---------------------------------------------------------------- health


class Health(dict):
    """{"state": "ok"|"stale"|"paused"|"disabled", "since", "hours_silent",
    "last_success_at", "stale_after_hours", "paused_from", "paused_until"}"""


def last_success_subquery() -> Subquery:
    return Subquery(
        SyncRun.objects.filter(config=OuterRef("pk"), status=RunStatus.SUCCEEDED, dry_run=False)
        .order_by("-finished_at")
        .values("finished_at")[:1]
    )


def configs_with_health_facts(qs: QuerySet[SyncConfig]) -> QuerySet[SyncConfig]:
    """Configs with what `config_health` reads, in one query (no query per config)."""
    return qs.select_related("watch_settings").annotate(last_success_at=last_success_subquery())


def config_health(config: SyncConfig, now: datetime) -> Health:
    """Whether the config is syncing: `stale` after `stale_after_hours` without a
    successful run (counted from the later of its last success, the end of its last
    pause, and its creation); `paused` inside a pause; `disabled` when disabled. A
    paused or disabled config is never stale.

    Reads `last_success_at` and `watch_settings` from `configs_with_health_facts` when
    the config came from there; else one or two queries.
    """
    watch = watch_of(config)
    after = watch.stale_after_hours if watch else default_stale_after_hours()
    paused_from = watch.paused_from if watch else None
    paused_until = watch.paused_until if watch else None
    if "last_success_at" in config.__dict__:
        last_success = config.last_success_at  # type: ignore[attr-defined]
    else:
        last_success = (
            SyncRun.objects.filter(config=config, status=RunStatus.SUCCEEDED, dry_run=False)
            .order_by("-finished_at")
            .values_list("finished_at", flat=True)
            .first()
        )
    zone = _zone(config.time_zone)
    today = now.astimezone(zone).date()
    reference = max(d for d in (last_success, config.created_at) if d is not None)
    if paused_until is not None and paused_until < today:
        # The clock restarts when a pause ends: a district back from summer is not
        # stale on its first morning.
        reference = max(reference, _start_of(paused_until + timedelta(days=1), zone))
    silent = max(0.0, (now - reference).total_seconds() / 3600)
    health = Health(
        hours_silent=round(silent, 1),
        last_success_at=last_success,
        stale_after_hours=after,
        paused_from=paused_from,
        paused_until=paused_until,
    )
    if not config.enabled:
        health.update(state="disabled", since=None)
    elif _paused(today, paused_from, paused_until):
        health.update(state="paused", since=paused_from)
    elif silent >= after:
        health.update(state="stale", since=reference + timedelta(hours=after))
    else:
        health.update(state="ok", since=last_success)
    return health


def watch_of(config: SyncConfig) -> ConfigWatch | None:
    try:
        return config.watch_settings
    except ConfigWatch.DoesNotExist:
        return None


def _paused(today: date, start: date | None, end: date | None) -> bool:
    if start is None and end is None:
        return False
    return (start is None or start <= today) and (end is None or today <= end)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _start_of(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


# ---------------------------------------------------------------- recipients


@dataclass(frozen=True)
class Recipient:
    user: User
    mode: str
    why: str  # "district_admin" or "watcher"


def recipients(organization_id: int) -> list[Recipient]:
    """Who hears about the organization, each with their mode: its district admins and
    the staff who watch it, active and with an email address. Mode `off` included (the
    caller skips them); no stored preference means immediately."""
    admins = set(
        Membership.objects.filter(
            organization_id=organization_id,
            role=MembershipRole.DISTRICT_ADMIN,
            school__isnull=True,
        ).values_list("user_id", flat=True)
    )
    watchers = set(
        Watch.objects.filter(organization_id=organization_id, user__is_staff=True).values_list(
            "user_id", flat=True
        )
    )
    users = User.objects.filter(pk__in=admins | watchers, is_active=True).exclude(email="")
    modes = dict(
        NotificationPreference.objects.filter(
            organization_id=organization_id, user_id__in=admins | watchers
        ).values_list("user_id", "mode")
    )
    return [
        Recipient(
            user=user,
            mode=modes.get(user.pk, Mode.IMMEDIATE),
            why="district_admin" if user.pk in admins else "watcher",
        )
        for user in users.order_by("pk")
    ]


def preference_of(user: User, organization_id: int) -> dict[str, Any]:
    """The caller's mode for the organization, and whether and why they receive it."""
    stored = (
        NotificationPreference.objects.filter(user=user, organization_id=organization_id)
        .values_list("mode", flat=True)
        .first()
    )
    why = []
    if Membership.objects.filter(
        user=user,
        organization_id=organization_id,
        role=MembershipRole.DISTRICT_ADMIN,
        school__isnull=True,
    ).exists():
        why.append("district_admin")
    if user.is_staff and Watch.objects.filter(user=user, organization_id=organization_id).exists():
        why.append("watcher")
    return {
        "organization": organization_id,
        "mode": stored or Mode.IMMEDIATE,
        "default": stored is None,
        "receives": bool(why) and (stored or Mode.IMMEDIATE) != Mode.OFF and bool(user.email),
        "because": why,
    }


# ---------------------------------------------------------------- webhook endpoints


def staff_may(r: access.Reach, codename: str) -> bool:
    """Support staff's Django permission in the notify app (a superuser holds all)."""
    return not r.read_only and r.user_id is not None and f"notify.{codename}" in r.staff_perms


def webhook_endpoints(r: access.Reach) -> QuerySet[WebhookEndpoint]:
    """The endpoints the caller may see: staff with view_webhookendpoint every one (the
    global ones included); a district admin their organizations'; nobody else any."""
    qs = WebhookEndpoint.objects.select_related("organization", "created_by")
    if r.user_id is not None and "notify.view_webhookendpoint" in r.staff_perms:
        return qs
    return qs.filter(organization_id__in=r.district_orgs)


def may_manage_endpoint(r: access.Reach, organization_id: int | None, action: str) -> bool:
    """May the caller add, change, delete or test ("add", "change", "delete", "test") an
    endpoint of this organization (None: a global endpoint)? District admins may in their
    own organization; staff by permission (send_test_event for "test")."""
    if r.read_only or r.anonymous:
        return False
    codename = "send_test_event" if action == "test" else f"{action}_webhookendpoint"
    if staff_may(r, codename):
        return True
    return organization_id is not None and organization_id in r.district_orgs


def deliveries_of(endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(endpoint=endpoint).select_related("event")


def endpoints_for(kind: str, organization_id: int | None) -> Iterable[WebhookEndpoint]:
    """Enabled endpoints that hear `kind` events of the organization: its own and the
    global ones."""
    where = Q(organization__isnull=True)
    if organization_id is not None:
        where |= Q(organization_id=organization_id)
    return [
        e
        for e in WebhookEndpoint.objects.filter(where, enabled=True).order_by("pk")
        if kind in (e.events or [])
    ]
