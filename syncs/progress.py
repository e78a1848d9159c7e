"""How far a run has got: its stage and the records done in it, for progress bars.

The pipeline only counts in memory (`advance`, a no-op outside a run). A heartbeat thread
with its own database connection writes the count and `heartbeat_at` every few seconds,
so progress shows even while the run's apply transaction is open, and a run whose
heartbeat stops (its worker died) can be told from one that is merely slow.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.db import connection
from django.utils import timezone

# The weights and the percentage live in a pure module (the run model reads them too);
# named here as well for the callers that know them from here.
from syncs.stage_weights import STAGE_WEIGHTS, percent

__all__ = ["STAGE_WEIGHTS", "Progress", "advance", "current", "percent", "set_total", "tracking"]

logger = logging.getLogger(__name__)


@dataclass
class Progress:
    """The current run's stage and records done/total (0 total: not known yet)."""

    stage: str = "queued"
    done: int = 0
    total: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def start(self, stage: str, total: int = 0) -> None:
        with self._lock:
            self.stage, self.done, self.total = stage, 0, total

    def snapshot(self) -> tuple[str, int, int]:
        """(stage, done, total) of one stage, never a new stage with the old count."""
        with self._lock:
            return self.stage, self.done, self.total

    def advance(self, n: int = 1) -> None:
        self.done += n

    def set_total(self, total: int) -> None:
        self.total = total


# The run this thread (or task) is executing, if any.
_current: ContextVar[Progress | None] = ContextVar("sync_progress", default=None)


def advance(n: int = 1) -> None:
    """Count `n` records done in the current stage (called from the pipeline's loops)."""
    p = _current.get()
    if p is not None:
        p.done += n


def set_total(total: int) -> None:
    p = _current.get()
    if p is not None:
        p.total = total


def current() -> Progress | None:
    return _current.get()


class _Heartbeat(threading.Thread):
    def __init__(self, run_id: int, progress: Progress, interval: float) -> None:
        super().__init__(name=f"sync-run-{run_id}-heartbeat", daemon=True)
        self.run_id, self.progress, self.interval = run_id, progress, interval
        self.stopping = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopping.wait(self.interval):
                try:
                    beat(self.run_id, self.progress)
                except Exception as exc:  # noqa: BLE001 - a missed beat is retried next time
                    # On SQLite the run's own apply transaction holds the only write lock.
                    logger.debug("Sync run %s: heartbeat not written: %s", self.run_id, exc)
        finally:
            connection.close()


def beat(run_id: int, progress: Progress) -> None:
    """One heartbeat: the time, and the records done in the current stage."""
    from syncs.models import RunStatus, SyncRun

    stage, done, total = progress.snapshot()
    # Only while running (never over the recorded outcome), and only the count of the
    # stage the run row is in: the stage itself is written by the run alone, so a beat
    # delayed by a lock cannot take the row back to an earlier stage (or undo apply's
    # "applied" marker).
    SyncRun.objects.filter(pk=run_id, status=RunStatus.RUNNING, stage=stage).update(
        heartbeat_at=timezone.now(),
        progress_done=done,
        progress_total=total,
    )


@contextmanager
def tracking(run_id: int, interval: float) -> Iterator[Progress]:
    """Track the run's progress in memory; beat every `interval` seconds (0: never)."""
    progress = Progress()
    token = _current.set(progress)
    beat = _Heartbeat(run_id, progress, interval) if interval > 0 else None
    if beat is not None:
        beat.start()
    try:
        yield progress
    finally:
        _current.reset(token)
        if beat is not None:
            beat.stopping.set()
            beat.join()
