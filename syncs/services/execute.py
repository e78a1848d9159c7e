"""Sync services: create a run, execute it, approve its blocked archives.

`sync_run_execute` is the pipeline of DESIGN §3, top to bottom. Each stage is a plain
function in syncs/{sources,formats,rules,pipeline}; this module only sequences them and
records what happened on the SyncRun.
"""

from __future__ import annotations

import gc
import logging
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from importlib import import_module
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.devices import normalize_many
from accounts.models import ContactDevice, User
from rostering.models import Class, Enrollment, Guardianship, Person, School
from syncs import formats, progress
from syncs.errors import SyncFailure
from syncs.fields import FieldKeyMismatch
from syncs.findings import Finding
from syncs.models import (
    FailureReason,
    Issue,
    PlannedArchive,
    RosterFormat,
    RunStatus,
    SchoolSummary,
    SourceKind,
    Stage,
    SyncConfig,
    SyncRun,
    Trigger,
)
from syncs.pipeline import report
from syncs.pipeline.apply import apply_plan
from syncs.pipeline.delta import merge_delta, roster_from_mirror
from syncs.pipeline.mirror import Mirror, load_held_outside, load_mirror
from syncs.pipeline.plan import Plan, make_plan, unreadable_records
from syncs.pipeline.sqlsets import filter_in
from syncs.pipeline.unsent import fill_unsent
from syncs.records import (
    COUNT_KINDS,
    PERSON_KIND_BY_ROLE,
    THRESHOLD_KINDS,
    PersonRecord,
    Roster,
)
from syncs.rules.devices import assign_devices
from syncs.rules.scope import near_matches, scope
from syncs.rules.threshold import check_threshold, likely_causes
from syncs.rules.validate import Normalized, validate
from syncs.sources import local, sftp
from syncs.storable import storable_json, storable_text

logger = logging.getLogger(__name__)

Parser = Callable[[Path], tuple[Roster, list[Finding]]]


def _api_source(module: str) -> Callable[[SyncConfig], AbstractContextManager[Path]]:
    """An API source: `module.fetch(config)` saves the pages it reads into a folder."""
    return lambda config: import_module(module).fetch(config)


# An API source always yields its own format; files are detected (or set on the config).
SOURCE_FORMATS = {
    SourceKind.CLEVER_API: RosterFormat.CLEVER_API_JSON,
    SourceKind.ONEROSTER_API: RosterFormat.ONEROSTER_JSON,
}
SOURCES: dict[str, Callable[[SyncConfig], AbstractContextManager[Path]]] = {
    SourceKind.CLEVER_API: _api_source("syncs.sources.clever_api"),
    SourceKind.ONEROSTER_API: _api_source("syncs.sources.oneroster_api"),
    SourceKind.LOCAL_FILES: lambda config: local.fetch(config.path),
    SourceKind.UPLOAD: lambda config: local.fetch(config.path),
    SourceKind.SFTP: lambda config: sftp.fetch(config),
}


CONNECTION_TESTS = {
    SourceKind.SFTP: "syncs.sources.sftp",
    SourceKind.CLEVER_API: "syncs.sources.clever_api",
    SourceKind.ONEROSTER_API: "syncs.sources.oneroster_api",
}


def sync_config_test_connection(*, config: SyncConfig):
    """Connect to the config's source and say what a sync would find (a ConnectionReport)."""
    from syncs.sources.sftp import ConnectionReport

    module = CONNECTION_TESTS.get(config.source_kind)
    if module is None:
        return ConnectionReport(
            ok=False,
            message=f"{config.get_source_kind_display()} have no connection to test.",
        )
    return import_module(module).test_connection(config)


def sync_run_create(
    *,
    config: SyncConfig,
    trigger: str = Trigger.MANUAL,
    dry_run: bool = False,
    upload_path: str = "",
) -> SyncRun:
    """Queue a run of `config` (of uploaded files instead of its source, if given)."""
    return SyncRun.objects.create(
        config=config, trigger=trigger, dry_run=dry_run, upload_path=upload_path
    )


class RunLost(Exception):
    """The run is no longer running (the reaper failed it): stop without writing."""


def _hold(run_id: int, **fields) -> None:
    """Write to the run only while it is still running, which is this process's lease:
    a run the reaper failed must not apply, and must not overwrite its reaped outcome."""
    if not SyncRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(**fields):
        raise RunLost(run_id)


def fail_internal(
    runs,
    *,
    message: str,
    failure: dict | None = None,
    now=None,
    reason: str = FailureReason.INTERNAL_ERROR,
) -> int:
    """Fail, as `internal_error` (or `reason`), the runs a conditional queryset still
    matches: the one way a run is failed outside its own pipeline (unreadable config,
    interrupted, never handed over, reaped, an outcome that could not be recorded).
    Returns how many were failed."""
    fields = {
        "status": RunStatus.FAILED,
        "failure_reason": reason,
        "stage": Stage.DONE,
        "finished_at": now or timezone.now(),
        "message": message,
    }
    if failure is not None:
        fields["diagnostics"] = {"failure": failure}
    return runs.update(**fields)


def _still_running(run_id: int) -> None:
    if not SyncRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).exists():
        raise RunLost(run_id)


class _Run:
    """One execution's working state: findings so far, stage timings, the stage marker."""

    def __init__(self, run: SyncRun, now: datetime) -> None:
        self.run = run
        self.config = run.config
        self.now = now
        self.findings: list[Finding] = []
        self.timings: dict[str, float] = {}
        self.diagnostics: dict = {}
        self.applied = False  # the plan is committed: a later error changes no data

    @contextmanager
    def stage(self, stage: str, total: int = 0) -> Iterator[None]:
        tracked = progress.current()
        if tracked is not None:
            tracked.start(stage, total)
        _hold(
            self.run.pk,
            stage=stage,
            heartbeat_at=timezone.now(),
            progress_done=0,
            progress_total=total,
        )
        self.run.stage = stage
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] = round(time.perf_counter() - started, 3)


def sync_run_execute(*, run: SyncRun, now: datetime | None = None) -> SyncRun:
    """Execute a queued run to its end and record the outcome on it.

    1. claim: queued → running with a conditional UPDATE; if another worker claimed the
       run first, return it untouched.
    2. fetch the source's files, 3. parse them into canonical records,
    4. scope to the configured schools, 5. validate each record, 6. assign devices
       (rule D), 7. plan against the mirror, 8. guard (empty files, rule T),
    9. apply in one transaction (not for a dry run), 10. report.
    A SyncFailure fails the run with its reason before anything is applied (a threshold
    failure still applies creates and updates). Any other error fails it as
    `internal_error`; the transaction guarantees the mirror is untouched.
    """
    now = now or timezone.now()
    claimed = SyncRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING,
        started_at=now,
        heartbeat_at=timezone.now(),
        worker=f"{socket.gethostname()}:{os.getpid()}"[:255],
    )
    run.refresh_from_db()
    if not claimed:
        return run
    try:
        state = _Run(run, now)  # loads the config, decrypting its secrets
    except FieldKeyMismatch as exc:
        # The config cannot even be read, so the run is failed without it.
        logger.error("Sync run %s: %s", run.pk, exc)
        fail_internal(
            SyncRun.objects.filter(pk=run.pk),
            message="This sync's stored credentials cannot be decrypted: the server's "
            "FIELD_ENCRYPTION_KEYS do not include the key they were saved with. Nothing "
            "was changed; support must restore the key (or re-enter the credentials).",
        )
        run.refresh_from_db()
        return run
    try:
        try:
            beat = settings.ROLLCALL["HEARTBEAT_SECONDS"]
            with _cyclic_gc_paused(), progress.tracking(run.pk, beat):
                _execute(state)
        except SyncFailure as failure:
            _record_failure(state, failure)
        except (KeyboardInterrupt, SystemExit) as stop:
            # Ctrl-C on an inline sync, or a worker shut down mid-run: the config must not
            # stay blocked by a run nobody is running. The apply transaction rolled back
            # unless it had committed.
            outcome = (
                "the changes had been applied, but the report was not recorded"
                if state.applied
                else "nothing was changed"
            )
            fail_internal(
                SyncRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING),
                message=f"The sync was stopped (Ctrl-C or a shutdown signal) while "
                f"{run.get_stage_display().lower()}; {outcome}. Run it again.",
                failure={"error": "interrupted", "stage": run.stage},
            )
            raise stop
        except RunLost:
            raise
        except Exception as exc:  # noqa: BLE001 - recorded on the run, then logged in full
            logger.exception("Sync run %s failed unexpectedly", run.pk)
            outcome = (
                "the changes were applied, but the run's report could not be recorded"
                if state.applied
                else "nothing was changed"
            )
            _record_failure(
                state,
                SyncFailure(
                    FailureReason.INTERNAL_ERROR,
                    f"The sync stopped on an unexpected error; {outcome}. "
                    "Support has the details in the server log.",
                    {"error": type(exc).__name__, "applied": state.applied},
                ),
            )
    except RunLost:
        logger.warning(
            "Sync run %s was failed by the reaper while this process still ran it; "
            "stopped without applying or recording anything more",
            run.pk,
        )
    run.refresh_from_db()
    return run


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """A run allocates millions of records that form no reference cycles; the cyclic
    collector rescanning them as they pile up cost more than half of parsing a large
    district. It is paused for the run; the run's records are freed by reference
    counting when it ends, so no full collection is forced afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _execute(s: _Run) -> None:
    config, run = s.config, s.run
    today = s.now.astimezone(ZoneInfo(config.time_zone)).date()

    source = (
        local.fetch(run.upload_path) if run.upload_path else SOURCES[config.source_kind](config)
    )
    with s.stage(Stage.FETCH), source as folder:
        with s.stage(Stage.PARSE, total=_count_lines(folder)):
            # An API config's own format does not describe uploaded files: detect those.
            fmt = config.format
            if config.source_kind in SOURCE_FORMATS:
                fmt = "auto" if run.upload_path else SOURCE_FORMATS[config.source_kind]
            roster, found = formats.parse(folder, fmt)
            s.findings += found

    with s.stage(Stage.SCOPE):
        # The mirror is read once, here: absent columns keep its values, a delta merges
        # into it, and devices and the plan compare against it.
        mirror = load_mirror(config=config)
        fill_unsent(roster, mirror)
        if roster.delta:
            roster = _merge_delta(s, roster, mirror)
        scoped, found, dropped = scope(roster, list(config.school_ids))
        del roster  # only the scoped records are needed from here on
        s.findings += found
        s.diagnostics["out_of_scope"] = dropped

    with s.stage(Stage.VALIDATE):
        people = scoped.people.values()
        normalized = Normalized(
            emails=normalize_many("email", (p.email for p in people)),
            phones=normalize_many(
                "phone", (ph for p in people for ph in (p.phone, *p.other_phones))
            ),
        )
        checked = validate(scoped, today, normalized)
        s.findings += checked.findings

    with s.stage(Stage.DEVICES):
        claimed = {d for devices in checked.claims.values() for d in devices}
        load_held_outside(mirror=mirror, claimed=claimed)
        people, claims, quarantined = _claims_with_quarantined(scoped, checked, mirror)
        devices = assign_devices(people, claims, mirror.held_outside, quarantined)
        s.findings += devices.findings

    with s.stage(Stage.PLAN):
        plan = make_plan(
            roster=scoped,
            mirror=mirror,
            person_errors=checked.person_errors | devices.person_errors,
            class_errors=checked.class_errors,
            dob=checked.dob,
            winners=devices.winners,
        )

    with s.stage(Stage.GUARD):
        _guard_empty_files(scoped, plan)
        checks = check_threshold(
            {kind: plan.active[kind] for kind in THRESHOLD_KINDS},
            {kind: plan.planned_archives[kind] for kind in THRESHOLD_KINDS},
            config.deletion_threshold,
        )
        blocked = [c for c in checks if c.exceeded]
        s.diagnostics["threshold"] = {
            "percent": str(config.deletion_threshold),
            "kinds": {c.kind: c.as_dict() for c in checks},
        }
        if blocked:
            s.diagnostics["threshold"]["archives_by_school"] = report.archives_by_school(
                plan, mirror
            )
            s.diagnostics["likely_causes"] = _likely_causes(scoped, plan, mirror)

    if not run.dry_run:
        with s.stage(Stage.APPLY):
            apply_timings = apply_plan(
                plan=plan,
                roster=scoped,
                mirror=mirror,
                config=config,
                run=run,
                archive=not blocked,
                now=s.now,
                **_previous_applied_run(run),
                # First inside the transaction: still ours? A read, so the run row is
                # not locked while apply writes (the heartbeat goes on beating).
                before_writes=lambda: _still_running(run.pk),
                # Last inside it, the gate: a run reaped meanwhile rolls back. It locks
                # the row only for the commit; a fresh heartbeat makes a reaper that
                # waited on the lock find the run alive. The reaper reads "report" as
                # "applied" only if the changes committed.
                after_writes=lambda: _hold(run.pk, stage=Stage.REPORT, heartbeat_at=timezone.now()),
            )
            s.applied = True
        s.timings.update(apply_timings)

    with s.stage(Stage.REPORT):
        _finish(s, plan, mirror, scoped, blocked)
    SyncRun.objects.filter(pk=run.pk).update(timings=s.timings)


def _merge_delta(s: _Run, roster: Roster, mirror: Mirror) -> Roster:
    merging = time.perf_counter()
    s.diagnostics["delta"] = {
        "upserted_people": len(roster.people),
        "deleted_people": len(roster.deleted_people),
        "deleted_classes": len(roster.deleted_classes),
        "deleted_enrollments": len(roster.deleted_enrollments),
    }
    merged, found = merge_delta(roster_from_mirror(mirror), roster)
    s.findings += found
    s.timings["delta_merge"] = round(time.perf_counter() - merging, 3)
    return merged


def _count_lines(folder: Path) -> int:
    """Lines in the folder's CSV files: the parse stage's progress total (0 for JSON).
    Only a guess for the progress bar: what cannot be read here (a folder or a broken
    link named like a CSV file) is left for the parser to name."""
    lines = 0
    for path in Path(folder).rglob("*.csv"):
        try:
            with path.open("rb") as f:
                while chunk := f.read(1 << 20):
                    lines += chunk.count(b"\n")
        except OSError:
            continue
    return lines


def _claims_with_quarantined(scoped: Roster, checked, mirror: Mirror):
    """Add the devices quarantined people hold now to the claims (rule Q with rule D).

    A present person with an error keeps their last good state, so they claim what their
    account holds, at their role's rank; people only in the mirror (an unreadable row)
    are described from it.
    """
    people = dict(scoped.people)
    claims = dict(checked.claims)
    quarantined = set()
    for sid in checked.person_errors | unreadable_records(scoped, mirror)[0]:
        row = mirror.people.get(sid)
        if row is None or row.archived or not row.account_id:
            continue
        held = sorted(mirror.devices.get(row.account_id, {}))
        if not held:
            continue
        people.setdefault(
            sid,
            PersonRecord(
                source_id=sid,
                role=row.role,
                given_name=row.given_name,
                family_name=row.family_name,
                school_ids=row.schools,
            ),
        )
        claims[sid] = held
        quarantined.add(sid)
    return people, claims, frozenset(quarantined)


def _previous_applied_run(run: SyncRun) -> dict:
    """The config's last run that applied a plan, and what was already missing then
    (its blocked archives), for stamping `last_seen_run` on records that go missing."""
    previous = (
        SyncRun.objects.filter(config=run.config, dry_run=False, pk__lt=run.pk)
        .filter(Q(status=RunStatus.SUCCEEDED) | Q(failure_reason=FailureReason.THRESHOLD))
        .order_by("-pk")
        .first()
    )
    still_missing: dict[str, set[int]] = {}
    if previous is not None and previous.failure_reason == FailureReason.THRESHOLD:
        for kind, record_id in PlannedArchive.objects.filter(run=previous).values_list(
            "kind", "record_id"
        ):
            key = "people" if kind in PERSON_KIND_BY_ROLE.values() else kind
            still_missing.setdefault(key, set()).add(record_id)
    return {
        "previous_run_id": previous.pk if previous else None,
        "still_missing": still_missing,
    }


def _guard_empty_files(roster: Roster, plan: Plan) -> None:
    """A required file with headers only, while the mirror has active records of its
    kind, is a broken export, not a district that emptied overnight."""
    active = plan.active
    by_kind = {
        "people": active["students"] + active["teachers"] + active["parents"],
        "classes": active["classes"],
        "enrollments": active["enrollments"],
        "schools": sum(active.values()),
    }
    for kind, name in sorted(roster.empty_files.items()):
        if by_kind.get(kind, 0):
            raise SyncFailure(
                FailureReason.INVALID_FILES,
                f"{name} has a header row but no data rows, while {by_kind[kind]} active "
                f"records depend on it. Nothing was changed; check the SIS export.",
                {"file": name, "active": by_kind[kind], "threshold": plan.planned_archives},
            )


def _likely_causes(roster: Roster, plan: Plan, mirror: Mirror) -> list[str]:
    by_school = report.archives_by_school(plan, mirror)
    active = report.active_by_school(mirror)
    gone = sorted(s for s in by_school if s and s not in roster.schools and active.get(s))
    zero_pairs = [
        (ours, theirs)
        for ours in gone
        for theirs in near_matches(ours, roster.schools)
        if theirs.lstrip("0") == ours.lstrip("0")
    ]
    return likely_causes(
        empty_files=roster.empty_files,
        missing_schools=gone,
        leading_zero_pairs=zero_pairs,
        ignored_headers=roster.ignored_headers,
        archives_by_school=by_school,
        active_by_school=active,
    )


def _finish(s: _Run, plan: Plan, mirror: Mirror, roster: Roster, blocked: list) -> None:
    run = s.run
    counts = plan.counts(mirror)
    if blocked:  # T3: nothing is archived (a dry run reports what a real run would do)
        for kind in counts:
            counts[kind]["archived"] = 0
    if blocked:
        kinds = ", ".join(
            f"{c.kind} ({c.planned} to archive, {c.allowed} allowed of {c.active})" for c in blocked
        )
        run.status, run.failure_reason = RunStatus.FAILED, FailureReason.THRESHOLD
        run.message = (
            f"The deletion threshold of {s.config.deletion_threshold}% was exceeded for {kinds}. "
            + (
                "Creates and updates were applied; nothing was archived."
                if not run.dry_run
                else "Dry run: nothing was applied."
            )
        )
    else:
        run.status = RunStatus.SUCCEEDED
        errors = sum(f.is_error for f in s.findings)
        run.message = ("Dry run: nothing was applied. " if run.dry_run else "") + (
            f"{errors} record(s) with errors were skipped." if errors else "No errors."
        )
    run.counts = counts
    with transaction.atomic():
        _store(
            s,
            plan=plan,
            mirror=mirror,
            roster=roster,
            applied_archives=not blocked and not run.dry_run,
        )


def _store(
    s: _Run,
    *,
    plan: Plan | None,
    mirror: Mirror | None,
    roster: Roster | None,
    applied_archives: bool,
) -> None:
    run = s.run
    run.stage = Stage.DONE
    run.finished_at = timezone.now()
    run.timings = s.timings
    run.message = storable_text(run.message, 10_000)
    run.diagnostics = storable_json({**s.diagnostics, "issues": _issue_totals(s.findings)})
    # Conditional, never save(): an outcome the reaper recorded is not overwritten.
    _hold(
        run.pk,
        **{
            f: getattr(run, f)
            for f in (
                "status",
                "failure_reason",
                "message",
                "counts",
                "stage",
                "finished_at",
                "timings",
                "diagnostics",
            )
        },
    )
    _forget_previous(run)
    if plan is not None:
        SchoolSummary.objects.bulk_create(
            report.school_summaries(
                run=run,
                plan=plan,
                mirror=mirror,
                roster=roster,
                findings=s.findings,
                archived=applied_archives,
            )
        )
        report.store_planned_archives(run, plan, mirror)
    else:
        record_failed_summaries(run, s.findings)
    report.store_issues(run, s.findings)


def _issue_totals(findings: list[Finding]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for f in findings:
        totals[f.code] = totals.get(f.code, 0) + 1
    return dict(sorted(totals.items()))


def _forget_previous(run: SyncRun) -> None:
    """Issues and planned archives of a run replace the previous run's; a dry run
    replaces only earlier dry runs', so the sync tab keeps the last real run."""
    earlier = SyncRun.objects.filter(config=run.config, pk__lt=run.pk)
    if run.dry_run:
        earlier = earlier.filter(dry_run=True)
    Issue.objects.filter(run__in=earlier).delete()
    PlannedArchive.objects.filter(run__in=earlier).delete()


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


def _record_failure(s: _Run, failure: SyncFailure) -> None:
    """Record a failed outcome; if even that fails (a value the database refuses), the
    run is still failed, with a plain message, rather than left running for the reaper."""
    try:
        _finish_failed(s, failure)
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


def _finish_failed(s: _Run, failure: SyncFailure) -> None:
    run = s.run
    run.status = RunStatus.FAILED
    run.failure_reason = failure.reason
    run.message = failure.message
    s.diagnostics["failure"] = failure.details
    run.counts = {}
    with transaction.atomic():
        _store(s, plan=None, mirror=None, roster=None, applied_archives=False)


# ---------------------------------------------------------------- T5: approval


def sync_run_approve_archives(*, run: SyncRun, user: User, now: datetime | None = None) -> int:
    """Archive, once, what a threshold-blocked run planned to archive (rule T5).

    Only the latest real run of its config can be approved, so the list still matches
    the mirror. Returns the number of records archived.
    """
    now = now or timezone.now()
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
    planned = PlannedArchive.objects.filter(run=run)
    by_kind: dict[str, list[int]] = {}
    for kind, record_id in planned.values_list("kind", "record_id"):
        by_kind.setdefault(kind, []).append(record_id)
    people = by_kind.get("students", []) + by_kind.get("teachers", []) + by_kind.get("parents", [])
    total = 0
    with transaction.atomic():
        claimed = SyncRun.objects.filter(pk=run.pk, archives_approved_at__isnull=True).update(
            archives_approved_at=now, archives_approved_by=user
        )
        if not claimed:
            raise SyncFailure("not_approvable", f"Run #{run.pk}'s archives were already approved.")
        for model, pks in (
            (Person, people),
            (Class, by_kind.get("classes", [])),
            (Enrollment, by_kind.get("enrollments", [])),
            (Guardianship, by_kind.get("guardianships", [])),
        ):
            if pks:
                total += filter_in(
                    model.objects.filter(sync_config=run.config, archived_at__isnull=True),
                    "id",
                    pks,
                ).update(archived_at=now)
        accounts = (
            list(
                filter_in(Person.objects.all(), "id", people)
                .exclude(account=None)
                .values_list("account_id", flat=True)
            )
            if people
            else []
        )
        if accounts:
            filter_in(User.objects.all(), "id", accounts).update(is_active=False)
            filter_in(ContactDevice.objects.all(), "account", accounts).delete()
        counts = dict(run.counts)
        for kind in COUNT_KINDS:
            if kind in counts:
                counts[kind] = {**counts[kind], "archived": len(by_kind.get(kind, []))}
        SyncRun.objects.filter(pk=run.pk).update(counts=counts)
    logger.info("Run %s: %s approved %s archives", run.pk, user, total)
    run.refresh_from_db()
    return total
