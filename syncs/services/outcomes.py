"""Recording a run's outcome: counts, message, per-school summaries, issues, planned
archives and diagnostics, written in one transaction and only while the run is still
this process's (`runs.hold`). A failure to record still ends the run failed. Nothing of
an earlier run is deleted here: history is pruned by age (syncs.services.history)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from rostering.models import School
from syncs.errors import SyncFailure
from syncs.findings import Finding
from syncs.models import (
    FailureReason,
    RunStatus,
    SchoolSummary,
    Stage,
    SyncConfig,
    SyncRun,
)
from syncs.pipeline import report
from syncs.pipeline.holds import held_counts
from syncs.pipeline.mirror import Mirror
from syncs.pipeline.plan import Plan
from syncs.records import Roster
from syncs.rules.threshold import KindCheck
from syncs.services.runs import RunLost, RunState, fail_internal, hold, notify_later
from syncs.storable import storable_json, storable_text

if TYPE_CHECKING:
    from syncs.services.stages import Guard

logger = logging.getLogger(__name__)

OUTCOME_FIELDS = (
    "status",
    "failure_reason",
    "message",
    "counts",
    "stage",
    "finished_at",
    "timings",
    "diagnostics",
    "issue_seq",
)


def record_success(s: RunState, plan: Plan, mirror: Mirror, roster: Roster, guard: Guard) -> None:
    """A run that got through the guard: succeeded, or failed `threshold` when it held
    anything back (every archive, T3; some schools' archives, T6; some kinds' updates,
    U), with the counts of what it did, its per-school summaries, issues and the
    archives it holds for approval (or, when it held none, every archive it planned)."""
    run = s.run
    holds = guard.holds
    counts = plan.counts(mirror)
    for kind, held in held_counts(plan, mirror, holds).items():
        if kind in counts:
            counts[kind]["archived"] -= held["archived"]
            # A held update left the record as it was: unchanged, as the mirror says.
            counts[kind]["updated"] -= held["updated"]
            counts[kind]["unchanged"] += held["updated"]
    if guard.failed:
        run.status, run.failure_reason = RunStatus.FAILED, FailureReason.THRESHOLD
        run.message = held_message(s.config, guard, dry_run=run.dry_run)
        s.diagnostics["archives_held"] = (
            "all" if holds.hold_all else "schools" if holds.schools else "none"
        )
    else:
        run.status = RunStatus.SUCCEEDED
        # Records skipped (rule Q), as the Quarantined counts say: not findings, which
        # may be several per record or none for a record held with its school.
        errors = plan.skipped(mirror)["total"]
        run.message = ("Dry run: nothing was applied. " if run.dry_run else "") + (
            f"{errors} record(s) with errors were skipped." if errors else "No errors."
        )
    run.counts = counts
    with transaction.atomic():
        # A run that applied its plan (not a dry run) goes on the config's issue track.
        _store_outcome(s, applied=not run.dry_run)
        SchoolSummary.objects.bulk_create(
            report.school_summaries(
                run=run,
                plan=plan,
                mirror=mirror,
                roster=roster,
                findings=s.findings,
                archived=not holds.hold_all and not run.dry_run,
                held_schools=holds.schools,
                held_updates=holds.updates,
                active=guard.active_after,
            )
        )
        # The list approval reads (T5): what is held, once anything is.
        if holds.hold_all or not guard.failed:
            report.store_planned_archives(run, plan, mirror)
        elif holds.schools:
            report.store_planned_archives(run, plan, mirror, schools=holds.schools)


def held_message(config: SyncConfig, guard: Guard, *, dry_run: bool) -> str:
    """What a run that held something back says: which limit, which schools and kinds,
    what was held and what was applied."""
    holds = guard.holds
    parts = []
    district = [c for c in guard.kinds if c.exceeded]
    if district:
        parts.append(
            f"The deletion threshold of {config.deletion_threshold}% was exceeded for "
            f"{_kinds_over(district)}."
        )
    held = guard.diagnostics.get("held") or []
    if held:
        own = (
            config.deletion_threshold
            if config.school_threshold is None
            else (config.school_threshold)
        )
        schools = "; ".join(
            f"{_school(h)}: "
            + ", ".join(
                f"{kind} ({k['planned']} to archive, {k['allowed']} allowed of {k['active']})"
                for kind, k in h["kinds"].items()
                if k["planned"] > k["allowed"]
            )
            for h in held
        )
        one = len(held) == 1
        parts.append(
            f"{'This school' if one else 'These schools'} exceeded "
            f"{'its' if one else 'their'} own limit of {own}%, so "
            f"{'its' if one else 'their'} archives are held for approval: {schools}."
        )
    updates = (guard.diagnostics.get("held_updates") or {}).get("kinds") or {}
    if updates:
        said = ", ".join(
            f"{k['changed']} of {k['active']} {kind} (at most {k['allowed']} allowed)"
            for kind, k in updates.items()
        )
        parts.append(
            f"Updates held: {said} would change a name, email, phone or date of birth, "
            f"over the update threshold of {config.update_threshold}%; "
            f"{'these updates would not be' if dry_run else 'these updates were not'} "
            "applied."
        )
    if dry_run:
        parts.append("Dry run: nothing was applied.")
    elif holds.hold_all:
        parts.append(
            ("Creates and the other updates" if updates else "Creates and updates")
            + " were applied; nothing was archived."
        )
    else:
        parts.append(
            "Everything else was applied"
            + (", the other schools' archives included." if held else ".")
        )
    return " ".join(parts)


def _kinds_over(checks: list[KindCheck]) -> str:
    return ", ".join(
        f"{c.kind} ({c.planned} to archive, {c.allowed} allowed of {c.active})" for c in checks
    )


def _school(held: dict) -> str:
    name = held.get("name") or ""
    sis_id = held["sis_id"]
    return f"School {sis_id} ({name})" if name and name != sis_id else f"School {sis_id}"


def record_failure(s: RunState, failure: SyncFailure) -> None:
    """Record a failed outcome; if even that fails (a value the database refuses), the
    run is still failed, with its reason and a plain message, rather than left running
    for the reaper. A run the reaper failed meanwhile keeps the reaper's outcome."""
    try:
        _record_failed(s, failure)
    except RunLost:
        raise
    except Exception as exc:  # noqa: BLE001 - the run must end failed, whatever broke
        logger.exception("Sync run %s: its outcome could not be recorded", s.run.pk)
        outcome = (
            "the changes were applied, but the run's report could not be recorded"
            if s.applied
            else "nothing was changed"
        )
        # The known reason stands (a district can act on it); only its details are lost.
        fail_internal(
            SyncRun.objects.filter(pk=s.run.pk, status=RunStatus.RUNNING),
            message=storable_text(
                f"{failure.message} (The run's report could not be recorded; {outcome}. "
                "Support has the details in the server log.)",
                10_000,
            ),
            failure={"error": type(exc).__name__, "applied": s.applied},
            reason=failure.reason,
        )


def unexpected_failure(s: RunState, exc: BaseException) -> SyncFailure:
    """An error no stage expected, as the failure a support engineer reads."""
    outcome = (
        "the changes were applied, but the run's report could not be recorded"
        if s.applied
        else "nothing was changed"
    )
    return SyncFailure(
        FailureReason.INTERNAL_ERROR,
        f"The sync stopped on an unexpected error; {outcome}. "
        "Support has the details in the server log.",
        {"error": type(exc).__name__, "applied": s.applied},
    )


def record_interrupted(s: RunState) -> None:
    """Ctrl-C on an inline sync, or a worker shut down mid-run: the config must not stay
    blocked by a run nobody is running. Its apply transaction rolled back unless it had
    committed."""
    run = s.run
    outcome = (
        "the changes had been applied, but the report was not recorded"
        if s.applied
        else "nothing was changed"
    )
    fail_internal(
        SyncRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING),
        message=f"The sync was stopped (Ctrl-C or a shutdown signal) while "
        f"{run.get_stage_display().lower()}; {outcome}. Run it again.",
        failure={"error": "interrupted", "stage": run.stage},
    )


def _record_failed(s: RunState, failure: SyncFailure) -> None:
    run = s.run
    run.status = RunStatus.FAILED
    run.failure_reason = failure.reason
    run.message = failure.message
    s.diagnostics["failure"] = failure.details
    run.counts = {}
    with transaction.atomic():
        _store_outcome(s, applied=False)
        record_failed_summaries(run, s.findings)


def _store_outcome(s: RunState, *, applied: bool) -> None:
    """The run's outcome and its issues. An `applied` run takes the next number on its
    config's issue track (`SyncRun.issue_seq`); earlier runs' issues stay (they are
    pruned by age, syncs.services.history)."""
    run = s.run
    run.stage = Stage.DONE
    run.finished_at = timezone.now()
    run.timings = s.timings
    run.message = storable_text(run.message, 10_000)
    run.diagnostics = storable_json({**s.diagnostics, "issues": _issue_totals(s.findings)})
    run.issue_seq = report.next_issue_seq(run.config_id) if applied else None
    # Conditional, never save(): an outcome the reaper recorded is not overwritten.
    hold(run.pk, **{f: getattr(run, f) for f in OUTCOME_FIELDS})
    report.store_issues(run, s.findings, seen_at=s.now)
    notify_later(run.pk)


def _issue_totals(findings: list[Finding]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for f in findings:
        totals[f.code] = totals.get(f.code, 0) + 1
    return dict(sorted(totals.items()))


def record_failed_summaries(run: SyncRun, findings: list[Finding]) -> None:
    """Mark every school in the config's scope failed on the sync tab."""
    schools = School.objects.filter(organization_id=run.config.organization_id)
    wanted = list(run.config.school_ids)
    schools = (
        schools.filter(sis_id__in=wanted) if wanted else schools.filter(sync_config=run.config)
    )
    errors: dict[str, list[int]] = {}
    for f in findings:
        errors.setdefault(f.school_id, [0, 0])[0 if f.is_error else 1] += 1
    SchoolSummary.objects.bulk_create(
        SchoolSummary(
            run=run,
            school=school,
            sis_id=school.sis_id,
            name=school.name,
            status=RunStatus.FAILED,
            errors=errors.get(school.sis_id, [0, 0])[0],
            alerts=errors.get(school.sis_id, [0, 0])[1],
        )
        for school in schools
    )
