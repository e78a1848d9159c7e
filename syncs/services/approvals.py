"""Rule T5: archive, once, what a threshold-blocked run held back.

Support staff (and district admins of the organization) may approve instead of raising
the threshold; the approval is recorded with who and when, and only the config's latest
run can be approved, so its list still matches the mirror. A run whose per-school limits
held some schools' archives (T6) can be approved one school at a time, or all at once.

Approving leaves every surface truthful: the run's counts say what was archived, its
message says what was approved, each school's summary counts its archives (a school
missing from the files gets one), and `diagnostics["approvals"]` lists each approval
(who, when, which school, how many). `archives_approved_by/at` record the approval that
left nothing held: the run-wide one, or the last school's.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import ContactDevice, User
from rostering.models import Class, Enrollment, Guardianship, Person, School
from syncs.errors import SyncFailure
from syncs.models import FailureReason, PlannedArchive, RunStatus, SchoolSummary, SyncRun
from syncs.pipeline.holds import SCHOOL_KINDS
from syncs.pipeline.sqlsets import filter_in
from syncs.records import COUNT_KINDS
from syncs.storable import storable_text

logger = logging.getLogger(__name__)


def held_archives(run: SyncRun, *, school: str | None = None):
    """The run's held archives not approved yet (of one school, when given)."""
    rows = PlannedArchive.objects.filter(run=run)
    if any(a.get("school") is None for a in _approvals(run)):
        return rows.none()  # approved run-wide: nothing is held any more
    approved = approved_schools(run)
    if approved:
        rows = rows.exclude(school_sis_id__in=approved)
    if school is not None:
        rows = rows.filter(school_sis_id=school)
    return rows


def approved_schools(run: SyncRun) -> list[str]:
    """The schools whose held archives were approved on their own."""
    return [str(a["school"]) for a in _approvals(run) if a.get("school") is not None]


def _approvals(run: SyncRun) -> list[dict[str, Any]]:
    found = (run.diagnostics or {}).get("approvals")
    return [a for a in found if isinstance(a, dict)] if isinstance(found, list) else []


def sync_run_approve_archives(
    *, run: SyncRun, user: User, school: str | None = None, now: datetime | None = None
) -> int:
    """Archive, once, what a threshold-blocked run held back (rule T5): every held
    archive still waiting, or only those of one `school` (its SIS ID).

    Only the latest real run of its config can be approved, so the list still matches
    the mirror. Returns the number of records archived.
    """
    now = now or timezone.now()
    _check_approvable(run)
    with transaction.atomic():
        # The run's row first: two approvals of one run take turns.
        locked = SyncRun.objects.select_for_update().get(pk=run.pk)
        if locked.archives_approved_at is not None:
            raise SyncFailure("not_approvable", f"Run #{run.pk}'s archives were already approved.")
        rows = held_archives(locked, school=school)
        by_kind: dict[str, list[int]] = {}
        by_school: dict[str, Counter[str]] = {}
        for kind, record_id, sis_id in rows.values_list("kind", "record_id", "school_sis_id"):
            by_kind.setdefault(kind, []).append(record_id)
            by_school.setdefault(sis_id, Counter())[kind] += 1
        if school is not None and not by_kind:
            raise SyncFailure("not_held", _nothing_held_at(locked, school))
        if not by_kind and not PlannedArchive.objects.filter(run=locked).exists():
            raise SyncFailure(
                "not_held", f"Run #{run.pk} held no archives, so there is nothing to approve."
            )
        total = _archive(locked, by_kind, now)
        records = sum(len(pks) for pks in by_kind.values())
        left = school is not None and held_archives(locked).exclude(school_sis_id=school).exists()
        approval = {
            "school": school,
            "by": user.get_username(),
            "by_id": user.pk,
            "at": now.isoformat(),
            "records": records,
            "archived": total,
            "kinds": {kind: len(pks) for kind, pks in sorted(by_kind.items())},
        }
        diagnostics = dict(locked.diagnostics or {})
        diagnostics["approvals"] = [*(diagnostics.get("approvals") or []), approval]
        fields: dict[str, Any] = {
            "counts": _counts(locked.counts or {}, by_kind),
            "diagnostics": diagnostics,
            "message": storable_text(
                f"{locked.message} {_approved_sentence(user, now, school, locked, records)}",
                10_000,
            ),
        }
        if not left:
            fields.update(archives_approved_at=now, archives_approved_by=user)
        SyncRun.objects.filter(pk=run.pk).update(**fields)
        locked.diagnostics = diagnostics
        _update_summaries(locked, by_school)
    logger.info(
        "Run %s: %s approved %s archives%s", run.pk, user, total, f" at {school}" if school else ""
    )
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


def _nothing_held_at(run: SyncRun, school: str) -> str:
    if school in approved_schools(run):
        return f"School {school}'s held archives in run #{run.pk} were already approved."
    return f"Run #{run.pk} holds no archives of school {school}."


def _counts(counts: dict, by_kind: dict[str, list[int]]) -> dict:
    """The run's counts with what the approval archived added to each kind."""
    out = dict(counts)
    for kind in COUNT_KINDS:
        if kind in out and by_kind.get(kind):
            out[kind] = {**out[kind], "archived": out[kind].get("archived", 0) + len(by_kind[kind])}
    return out


def _approved_sentence(
    user: User, now: datetime, school: str | None, run: SyncRun, records: int
) -> str:
    who = user.get_full_name() or user.get_username()
    where = f" for school {school}" if school is not None else ""
    if school is None and approved_schools(run):
        where = " for the remaining held schools"
    noun = "record" if records == 1 else "records"
    return (
        f"Held archives approved by {who} at {now:%Y-%m-%d %H:%M} UTC{where}: "
        f"{records:,} {noun} archived."
    )


def _update_summaries(run: SyncRun, by_school: dict[str, Counter[str]]) -> None:
    """Each school's summary counts what the approval archived there (people and
    classes, as summaries count), and its active records drop by as many; a school
    whose archives all went through, and none of whose updates are held, now reads
    succeeded. A school with held archives but no summary (a school missing from the
    files, in a run recorded before such schools got one) gets one."""
    summaries = {s.sis_id: s for s in SchoolSummary.objects.filter(run=run)}
    missing = [sis_id for sis_id in by_school if sis_id and sis_id not in summaries]
    if missing:
        schools = School.objects.filter(
            organization_id=run.config.organization_id, sis_id__in=missing
        )
        known = {s.sis_id: s for s in schools}
        SchoolSummary.objects.bulk_create(
            SchoolSummary(
                run=run,
                school=known.get(sis_id),
                sis_id=sis_id,
                name=known[sis_id].name if sis_id in known else "",
                status=RunStatus.FAILED,
            )
            for sis_id in missing
        )
        summaries = {s.sis_id: s for s in SchoolSummary.objects.filter(run=run)}
    still_held = set(held_archives(run).values_list("school_sis_id", flat=True).distinct())
    held_updates = ((run.diagnostics or {}).get("held_updates") or {}).get("schools") or {}
    changed = []
    for sis_id, summary in summaries.items():
        kinds = by_school.get(sis_id, Counter())
        summary.archived += sum(kinds[k] for k in SCHOOL_KINDS)
        if isinstance(summary.active, dict) and kinds:
            summary.active = {
                k: n - kinds[k] for k, n in summary.active.items() if n - kinds[k] > 0
            }
        if sis_id not in still_held and not held_updates.get(sis_id):
            summary.status = RunStatus.SUCCEEDED
        changed.append(summary)
    SchoolSummary.objects.bulk_update(changed, ["archived", "active", "status"])


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
