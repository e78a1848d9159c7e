"""Sync services (writes): run a sync, queue one, and keep the nightly schedule.

- execute: create a run and execute it through the pipeline; approve blocked archives.
- queue: request a run (at most one active per config), enqueue it, reap dead runs.
- nightly: the dispatcher that queues each config inside its window, and the pre-flight.
"""

from syncs.services.execute import (
    SOURCE_FORMATS,
    SOURCES,
    sync_config_test_connection,
    sync_run_approve_archives,
    sync_run_create,
    sync_run_execute,
)
from syncs.services.queue import (
    sync_run_active,
    sync_run_enqueue,
    sync_run_request,
    sync_runs_reap,
)

__all__ = [
    "SOURCES",
    "SOURCE_FORMATS",
    "sync_config_test_connection",
    "sync_run_active",
    "sync_run_approve_archives",
    "sync_run_create",
    "sync_run_enqueue",
    "sync_run_execute",
    "sync_run_request",
    "sync_runs_reap",
]
