"""Rule T5: archive, once, what a threshold-blocked run planned to archive.

Support staff (and district admins of the organization) may approve instead of raising
the threshold; the approval is recorded with who and when, and only the config's latest
run can be approved, so its list still matches the mirror.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import ContactDevice, User
from rostering.models import Class, Enrollment, Guardianship, Person
from syncs.errors import SyncFailure
from syncs.models import FailureReason, PlannedArchive, RunStatus, SyncRun
from syncs.pipeline.sqlsets import filter_in
from syncs.records import COUNT_KINDS

logger = logging.getLogger(__name__)


def sync_run_approve_archives(*, run: SyncRun, user: User, now: datetime | None = None) -> int:
    """Archive, once, what a threshold-blocked run planned to archive (rule T5).

    Only the latest real run of its config can be approved, so the list still matches
    the mirror. Returns the number of records archived.
    """
    now = now or timezone.now()
    _check_approvable(run)
    by_kind: dict[str, list[int]] = {}
    for kind, record_id in PlannedArchive.objects.filter(run=run).values_list("kind", "record_id"):
        by_kind.setdefault(kind, []).append(record_id)
    with transaction.atomic():
        claimed = SyncRun.objects.filter(pk=run.pk, archives_approved_at__isnull=True).update(
            archives_approved_at=now, archives_approved_by=user
        )
        if not claimed:
            raise SyncFailure("not_approvable", f"Run #{run.pk}'s archives were already approved.")
        total = _archive(run, by_kind, now)
        counts = dict(run.counts)
        for kind in COUNT_KINDS:
            if kind in counts:
                counts[kind] = {**counts[kind], "archived": len(by_kind.get(kind, []))}
        SyncRun.objects.filter(pk=run.pk).update(counts=counts)
    logger.info("Run %s: %s approved %s archives", run.pk, user, total)
    run.refresh_from_db()
    return total


def _check_approvable(run: SyncRun) -> None:
    if run.dry_run or run.failure_reason != FailureReason.THRESHOLD:
        raise SyncFailure(
            "not_approvable", "Only a real run blocked by the deletion threshold can be approved."
        )
    if run.archives_approved_at:
        raise SyncFailure(
            "not_approvable",
            f"Run #{run.pk}'s archives were already approved by {run.archives_approved_by} "
            f"at {run.archives_approved_at:%Y-%m-%d %H:%M} UTC.",
        )
    latest = (
        SyncRun.objects.filter(config=run.config, dry_run=False)
        .exclude(status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
        .first()
    )
    if latest is None or latest.pk != run.pk:
        raise SyncFailure(
            "not_approvable",
            f"Run #{run.pk} is no longer the latest run of this sync; approve the latest one.",
        )


def _archive(run: SyncRun, by_kind: dict[str, list[int]], now: datetime) -> int:
    """Archive the planned records still active; deactivate the people's accounts and
    free their devices. Returns how many records were archived."""
    people = by_kind.get("students", []) + by_kind.get("teachers", []) + by_kind.get("parents", [])
    total = 0
    for model, pks in (
        (Person, people),
        (Class, by_kind.get("classes", [])),
        (Enrollment, by_kind.get("enrollments", [])),
        (Guardianship, by_kind.get("guardianships", [])),
    ):
        if pks:
            total += filter_in(
                model.objects.filter(sync_config=run.config, archived_at__isnull=True), "id", pks
            ).update(archived_at=now)
    if people:
        accounts = list(
            filter_in(Person.objects.all(), "id", people)
            .exclude(account=None)
            .values_list("account_id", flat=True)
        )
        if accounts:
            filter_in(User.objects.all(), "id", accounts).update(is_active=False)
            filter_in(ContactDevice.objects.all(), "account", accounts).delete()
    return total
