"""`sync_run_execute`: the pipeline of DESIGN §3, top to bottom, on one claimed run.

Each stage is a function in `syncs.services.stages` over plain values; this module
sequences them, marks the run's stage as it goes, and records how the run ended
(`syncs.services.outcomes`).
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from syncs import progress
from syncs.errors import SyncFailure
from syncs.fields import FieldKeyMismatch
from syncs.models import Stage, SyncRun
from syncs.pipeline.apply import apply_plan
from syncs.pipeline.holds import plan_to_apply
from syncs.services import stages
from syncs.services.outcomes import (
    record_failure,
    record_interrupted,
    record_success,
    unexpected_failure,
)
from syncs.services.runs import (
    RunLost,
    RunState,
    fail_internal,
    hold,
    still_running,
    sync_run_claim,
)

logger = logging.getLogger(__name__)


def sync_run_execute(*, run: SyncRun, now: datetime | None = None) -> SyncRun:
    """Execute a queued run to its end and record the outcome on it.

    1. claim: queued → running with a conditional UPDATE; if another worker claimed the
       run first, return it untouched.
    2. fetch the source's files, 3. parse them into canonical records,
    4. scope to the configured schools, 5. validate each record, 6. assign devices
       (rule D), 7. plan against the mirror, 8. guard (empty files, rule T with its
       per-school limits, the mass-update guard U, the sharp-drop watch),
    9. apply in one transaction (not for a dry run) what the guard did not hold,
    10. report. A SyncFailure fails the run with its reason before anything is applied
    (a threshold failure still applies creates and updates, and whatever it did not
    hold). Any other error fails it as `internal_error`; the transaction guarantees the
    mirror is untouched.
    """
    now = now or timezone.now()
    claimed = sync_run_claim(run=run, now=now)
    run.refresh_from_db()
    if not claimed:
        return run
    try:
        state = RunState(run, now)
    except FieldKeyMismatch as exc:
        _fail_unreadable_config(run, exc)
    else:
        _execute(state)
    run.refresh_from_db()
    return run


def _execute(s: RunState) -> None:
    """Run the stages and record how they ended, whatever that was."""
    run = s.run
    try:
        with _cyclic_gc_paused(), progress.tracking(run.pk, settings.ROLLCALL["HEARTBEAT_SECONDS"]):
            _run_stages(s)
    except SyncFailure as failure:
        _recorded(record_failure, s, failure)
    except RunLost:
        _lost(run)
    except (KeyboardInterrupt, SystemExit):
        record_interrupted(s)
        raise
    except Exception as exc:  # noqa: BLE001 - recorded on the run, then logged in full
        logger.exception("Sync run %s failed unexpectedly", run.pk)
        _recorded(record_failure, s, unexpected_failure(s, exc))


def _run_stages(s: RunState) -> None:
    config, run = s.config, s.run
    today = s.now.astimezone(ZoneInfo(config.time_zone)).date()
    source = stages.open_source(config, run)
    with s.stage(Stage.FETCH), source as folder:
        with s.stage(Stage.PARSE, total=stages.count_lines(folder)):
            roster, found = stages.parse_files(folder, config, run)
            s.findings += found
    with s.stage(Stage.SCOPE):
        scoped = stages.scope_roster(roster, config)
        del roster  # only the scoped records are needed from here on
        s.findings += scoped.findings
        s.diagnostics.update(scoped.diagnostics)
        s.timings.update(scoped.timings)
    roster, mirror = scoped.roster, scoped.mirror
    with s.stage(Stage.VALIDATE):
        checked = stages.validate_roster(roster, today)
        s.findings += checked.findings
    with s.stage(Stage.DEVICES):
        devices = stages.assign_roster_devices(roster, checked, mirror)
        s.findings += devices.findings
    with s.stage(Stage.PLAN):
        plan = stages.plan_roster(roster, mirror, checked, devices)
    with s.stage(Stage.GUARD):
        guard = stages.guard_plan(
            roster, plan, mirror, config, stages.school_history(run), stages.held_base(run)
        )
        s.diagnostics.update(guard.diagnostics)
        s.findings += guard.findings
    if not run.dry_run:
        with s.stage(Stage.APPLY):
            holds = guard.holds
            applying = plan_to_apply(plan, mirror, holds)
            s.timings.update(
                _apply(s, applying, roster, mirror, archive=not holds.hold_all, held=holds.archives)
            )
    with s.stage(Stage.REPORT):
        record_success(s, plan, mirror, roster, guard)
    SyncRun.objects.filter(pk=run.pk).update(timings=s.timings)


def _apply(s: RunState, plan, roster, mirror, *, archive: bool, held) -> dict[str, float]:
    run = s.run
    timings = apply_plan(
        plan=plan,
        roster=roster,
        mirror=mirror,
        config=s.config,
        run=run,
        archive=archive,
        held=held,
        now=s.now,
        **stages.previous_applied_run(run),
        # First inside the transaction: still ours? A read, so the run row is not
        # locked while apply writes (the heartbeat goes on beating).
        before_writes=lambda: still_running(run.pk),
        # Last inside it, the gate: a run reaped meanwhile rolls back. It locks the row
        # only for the commit; a fresh heartbeat makes a reaper that waited on the lock
        # find the run alive. The reaper reads "report" as "applied" only if the
        # changes committed. Apply's count goes with it: "report" with apply's records
        # done would read 99% until the report stage started, then fall back to 97%.
        after_writes=lambda: hold(
            run.pk,
            stage=Stage.REPORT,
            heartbeat_at=timezone.now(),
            progress_done=0,
            progress_total=0,
        ),
    )
    s.applied = True
    return timings


def _recorded(record, s: RunState, failure: SyncFailure) -> None:
    try:
        record(s, failure)
    except RunLost:
        _lost(s.run)


def _lost(run: SyncRun) -> None:
    logger.warning(
        "Sync run %s was failed by the reaper while this process still ran it; "
        "stopped without applying or recording anything more",
        run.pk,
    )


def _fail_unreadable_config(run: SyncRun, exc: FieldKeyMismatch) -> None:
    """The config cannot even be read (its secrets' key is gone): failed without it."""
    logger.error("Sync run %s: %s", run.pk, exc)
    runs: QuerySet[SyncRun] = SyncRun.objects.filter(pk=run.pk)
    fail_internal(
        runs,
        message="This sync's stored credentials cannot be decrypted: the server's "
        "FIELD_ENCRYPTION_KEYS do not include the key they were saved with. Nothing "
        "was changed; support must restore the key (or re-enter the credentials).",
    )


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
