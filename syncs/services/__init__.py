"""Sync services (writes), one module per responsibility:

- pipeline: `sync_run_execute`, the pipeline of DESIGN §3 on one claimed run; its
  stages (one function each) are in stages, recording how a run ended in outcomes,
  the run row as its process's lease in runs;
- approvals: rule T5, archiving a threshold-blocked run's list once;
- connections: what a config's source would find, without syncing;
- queue: request a run (at most one active per config), enqueue it, reap dead runs;
- nightly and preflight: the dispatcher that queues each config inside its window, and
  the check a few hours before it;
- configs and schedules: organizations, configs and the worker's schedules, for the
  commands and the API.
"""

from syncs.services.approvals import sync_run_approve_archives
from syncs.services.connections import sync_config_test_connection
from syncs.services.pipeline import sync_run_execute
from syncs.services.queue import (
    sync_run_active,
    sync_run_enqueue,
    sync_run_request,
    sync_runs_reap,
)
from syncs.services.runs import sync_run_create

__all__ = [
    "sync_config_test_connection",
    "sync_run_active",
    "sync_run_approve_archives",
    "sync_run_create",
    "sync_run_enqueue",
    "sync_run_execute",
    "sync_run_request",
    "sync_runs_reap",
]
