"""A run's row is its process's lease: claimed with a conditional UPDATE, written only
while it is still `running`, and failed from outside its pipeline in one way."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from syncs import progress
from syncs.models import FailureReason, RunStatus, Stage, SyncConfig, SyncRun, Trigger


class RunLost(Exception):
    """The run is no longer running (the reaper failed it): stop without writing."""


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


def sync_run_claim(*, run: SyncRun, now: datetime) -> bool:
    """queued → running, if no other worker claimed the run first."""
    return bool(
        SyncRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
            status=RunStatus.RUNNING,
            started_at=now,
            heartbeat_at=timezone.now(),
            worker=f"{socket.gethostname()}:{os.getpid()}"[:255],
        )
    )


def hold(run_id: int, **fields) -> None:
    """Write to the run only while it is still running, which is this process's lease:
    a run the reaper failed must not apply, and must not overwrite its reaped outcome."""
    if not SyncRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(**fields):
        raise RunLost(run_id)


def still_running(run_id: int) -> None:
    """The lease, checked with a read (no lock): raises RunLost once it is gone."""
    if not SyncRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).exists():
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
    failing = list(runs.values_list("pk", flat=True))
    done = runs.update(**fields)
    for run_id in failing:
        notify_later(run_id)  # notify checks the run really ended failed
    return done


def notify_later(run_id: int) -> None:
    """Hand a finished run to notifications (emails, webhooks) once its outcome is
    committed. By task name: the engine never imports notify. `robust`: a queue that
    refuses the task cannot undo a run already recorded."""
    from django_q.tasks import async_task

    transaction.on_commit(
        lambda: async_task(
            "notify.tasks.run_finished",
            run_id,
            task_name=f"notify-run-{run_id}",
            group="notify",
        ),
        robust=True,
    )


class RunState:
    """One execution's working state: findings so far, stage timings, diagnostics, and
    whether its plan has been committed (after which an error changes no data)."""

    def __init__(self, run: SyncRun, now: datetime) -> None:
        self.run = run
        self.config = run.config  # loading it decrypts its secrets (FieldKeyMismatch)
        self.now = now
        self.findings: list = []
        self.timings: dict[str, float] = {}
        self.diagnostics: dict = {}
        self.applied = False

    @contextmanager
    def stage(self, stage: str, total: int = 0) -> Iterator[None]:
        """Mark the run as in `stage` (conditionally: the lease) and time it."""
        tracked = progress.current()
        if tracked is not None:
            tracked.start(stage, total)
        hold(
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
