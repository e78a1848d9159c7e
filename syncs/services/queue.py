"""Queue runs on the worker: at most one active run per config; reap runs whose worker died.

The database is the guard, not the queue: a partial unique constraint allows one queued
or running run per config, and `sync_run_execute` claims a run with a conditional UPDATE,
so a task the broker delivers twice (or after the reaper gave up on it) does nothing.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from syncs.models import RunStatus, Stage, SyncConfig, SyncRun, Trigger
from syncs.services.outcomes import record_failed_summaries
from syncs.services.runs import fail_internal

logger = logging.getLogger(__name__)

# A run is handed to the broker right after its transaction commits; one without a task
# id this long after it was created never will be.
HANDOVER_SECONDS = 120


def sync_run_active(*, config: SyncConfig) -> SyncRun | None:
    """The config's queued or running run, if any."""
    return (
        SyncRun.objects.filter(config=config, status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
        .order_by("pk")
        .first()
    )


def sync_run_request(
    *,
    config: SyncConfig,
    trigger: str = Trigger.MANUAL,
    dry_run: bool = False,
    upload_path: str = "",
    scheduled_for: date | None = None,
    enqueue: bool = True,
) -> tuple[SyncRun, bool]:
    """Queue a run of `config` now, unless one is queued or running: then return that one.

    Returns (run, created). A scheduled run names its night (`scheduled_for`); a second
    request for the same night returns the first night's run, whatever its status.
    `enqueue=False` creates the run for the caller to execute inline (the shell).
    """
    for _attempt in range(5):
        existing = sync_run_active(config=config)
        if existing is None and scheduled_for is not None:
            existing = SyncRun.objects.filter(config=config, scheduled_for=scheduled_for).first()
        if existing is not None:
            return existing, False
        try:
            with transaction.atomic():
                run = SyncRun.objects.create(
                    config=config,
                    trigger=trigger,
                    dry_run=dry_run,
                    upload_path=upload_path,
                    scheduled_for=scheduled_for,
                )
        except IntegrityError:
            # Another request created the config's active run between the look and the
            # insert; the constraint refused this one. Look again and return theirs.
            continue
        if enqueue:
            sync_run_enqueue(run=run)
        return run, True
    raise RuntimeError(f"Could not queue a run of config {config.pk}: the active run kept changing")


def sync_run_enqueue(*, run: SyncRun) -> None:
    """Hand the run to the worker once the transaction that created it commits."""
    run_id, config_id = run.pk, run.config_id

    def send() -> None:
        from django_q.tasks import async_task

        try:
            task_id = async_task(
                "syncs.tasks.run_sync",
                run_id,
                task_name=f"sync-run-{run_id}",
                group=f"sync-config-{config_id}",
            )
        except Exception:  # noqa: BLE001 - the run must not stay queued forever
            logger.exception("Sync run %s could not be queued", run_id)
            fail_internal(
                SyncRun.objects.filter(pk=run_id, status=RunStatus.QUEUED),
                message="The sync could not be handed to the worker (the task queue "
                "refused it). Nothing was changed; try again, and tell support if it repeats.",
            )
            return
        SyncRun.objects.filter(pk=run_id).update(task_id=task_id or "")

    transaction.on_commit(send)


def sync_runs_reap(
    *,
    now: datetime | None = None,
    stale_after: float | None = None,
    queued_after: float | None = None,
) -> list[int]:
    """Fail runs whose worker stopped, so the config's next run can start.

    Failed as `internal_error`: a running run whose heartbeat is older than `stale_after`
    seconds; a queued run never handed to the broker (the process that queued it stopped
    between its commit and the hand-over); and a queued run older than `queued_after`
    seconds whose task the broker no longer holds. A queued run whose task still waits in
    the broker is left alone however long it waits: workers may be busy or down, and it
    runs when one is free. Returns the ids of the runs failed.
    """
    now = now or timezone.now()
    limits = settings.ROLLCALL
    stale_after = stale_after if stale_after is not None else limits["HEARTBEAT_STALE_SECONDS"]
    queued_after = queued_after if queued_after is not None else limits["QUEUED_STALE_SECONDS"]
    return (
        _reap_silent(now, stale_after)
        + _reap_never_handed_over(now)
        + _reap_lost_tasks(now, queued_after)
    )


def _reap_silent(now: datetime, stale_after: float) -> list[int]:
    """Running runs whose heartbeat stopped: their worker died."""
    reaped = []
    stale = SyncRun.objects.filter(
        status=RunStatus.RUNNING, heartbeat_at__lt=now - timedelta(seconds=stale_after)
    )
    for run in stale:
        # The apply transaction sets "report" as its last write: seen only if it committed.
        applied = run.stage == Stage.REPORT and not run.dry_run
        outcome = (
            "Its changes had been applied, but its report was not recorded."
            if applied
            else "Its changes were rolled back: nothing was changed."
        )
        message = (
            f"The worker running this sync stopped: no heartbeat since "
            f"{run.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC, during {run.get_stage_display().lower()}. "
            f"{outcome} The next run can start; if this repeats, check the worker's log "
            "and memory."
        )
        if _fail(run, now, "worker stopped", message, heartbeat=run.heartbeat_at.isoformat()):
            reaped.append(run.pk)
    return reaped


def _reap_never_handed_over(now: datetime) -> list[int]:
    """Queued runs the process that queued them never gave to the broker."""
    lost = SyncRun.objects.filter(
        status=RunStatus.QUEUED,
        task_id="",
        created_at__lt=now - timedelta(seconds=HANDOVER_SECONDS),
    )
    message = (
        "This sync was never handed to the worker: the process that queued it stopped "
        "before it could. Nothing was changed; queue it again."
    )
    return [run.pk for run in lost if _fail(run, now, "never queued", message)]


def _reap_lost_tasks(now: datetime, queued_after: float) -> list[int]:
    """Old queued runs whose task the broker no longer holds. One whose task still waits
    is left alone however long it waits: it runs when a worker is free."""
    reaped = []
    waiting = SyncRun.objects.filter(
        status=RunStatus.QUEUED, created_at__lt=now - timedelta(seconds=queued_after)
    ).exclude(task_id="")
    held = _tasks_in_broker() if waiting.exists() else set()
    for run in waiting:
        if held is not None and run.task_id in held:
            continue  # still waiting for a free worker, however long that takes
        if held is None:
            # A broker that cannot be asked (Redis): age alone decides.
            message = (
                f"No worker started this sync within {queued_after / 3600:g} hours of it "
                "being queued. Nothing was changed. Check that the worker (manage.py "
                "qcluster) is running; the next run can start."
            )
        else:
            message = (
                "The worker's queue no longer holds this sync's task, and no worker ran it "
                "(it was dropped after its delivery attempts). Nothing was changed; queue "
                "it again, and check the worker's log."
            )
        if _fail(run, now, "task lost", message):
            reaped.append(run.pk)
    return reaped


def _tasks_in_broker() -> set[str] | None:
    """Ids of the tasks the ORM broker still holds (None: another broker; unknown)."""
    from django_q.conf import Conf
    from django_q.models import OrmQ

    if not Conf.ORM:
        return None
    queued = OrmQ.objects.using(Conf.ORM).only("payload").iterator(chunk_size=500)
    return {str(q.task_id()) for q in queued}


def _fail(run: SyncRun, now: datetime, error: str, message: str, **details) -> bool:
    """Fail `run` if it is still in the state it was reaped for (a conditional UPDATE),
    and mark its schools failed. A run the reaper cannot write now (SQLite's writer lock
    held by a long apply) is left for the next pass."""
    try:
        with transaction.atomic():
            failed = _fail_now(run, now, error, message, **details)
            if failed:
                record_failed_summaries(run, [])
    except DatabaseError as exc:
        logger.warning("Sync run %s: not reaped this time: %s", run.pk, exc)
        return False
    if failed:
        logger.warning("Sync run %s of config %s: %s (%s)", run.pk, run.config_id, error, message)
    return failed


def _fail_now(run: SyncRun, now: datetime, error: str, message: str, **details) -> bool:
    # Conditional on the state it was reaped in: a run that beat or moved on meanwhile
    # is alive.
    seen = SyncRun.objects.filter(
        pk=run.pk, status=run.status, heartbeat_at=run.heartbeat_at, stage=run.stage
    )
    failure = {"error": error, "stage": run.stage, **details}
    return bool(fail_internal(seen, message=message, failure=failure, now=now))
