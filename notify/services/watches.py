"""Watching an organization (staff) and choosing how to hear about one (anyone)."""

from __future__ import annotations

from django.utils import timezone

from accounts.models import User
from notify.models import Mode, NotificationPreference, Watch
from rostering.models import Organization


def watch_set(*, user: User, organization: Organization) -> Watch:
    watch, _ = Watch.objects.get_or_create(user=user, organization=organization)
    return watch


def watch_unset(*, user: User, organization: Organization) -> bool:
    deleted, _ = Watch.objects.filter(user=user, organization=organization).delete()
    return bool(deleted)


def preference_set(*, user: User, organization: Organization, mode: str) -> NotificationPreference:
    mode = Mode(mode)
    preference, _ = NotificationPreference.objects.update_or_create(
        user=user,
        organization=organization,
        defaults={"mode": mode, "updated_at": timezone.now()},
    )
    return preference
