"""django-q2 entry points. Each loads what it needs by id and calls one service; the
cluster pickles the arguments, so they are ids, never model instances."""

from __future__ import annotations

import logging

from syncs.models import SyncRun

logger = logging.getLogger(__name__)


def run_sync(run_id: int) -> str:
    """Execute a queued run. A second delivery finds it claimed and does nothing."""
    from syncs.priority import lower_cpu_priority
    from syncs.services import sync_run_execute

    lower_cpu_priority()  # the web answers first (the worker process stays niced)
    run = SyncRun.objects.select_related("config").filter(pk=run_id).first()
    if run is None:
        logger.warning("Sync run %s no longer exists; nothing to do", run_id)
        return "missing"
    return sync_run_execute(run=run).status


def dispatch_nightly_syncs() -> list[int]:
    """Queue each enabled config whose jittered start time inside its window has come."""
    from syncs.services.nightly import sync_configs_dispatch

    return sync_configs_dispatch()


def reap_stale_runs() -> list[int]:
    """Fail runs whose worker stopped, so the next run can start."""
    from syncs.services import sync_runs_reap

    return sync_runs_reap()


def preflight_checks() -> list[int]:
    """Test credentials and school IDs a few hours before each config's window."""
    from syncs.services.preflight import sync_configs_preflight

    return sync_configs_preflight()


def prune_history() -> dict[str, int]:
    """Delete runs older than ROLLCALL_HISTORY_DAYS and what they found, keeping each
    config's latest applied and latest failed run."""
    from syncs.services.history import history_prune

    return history_prune()
