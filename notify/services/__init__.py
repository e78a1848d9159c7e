"""Writes: events from finished runs and stale configs, emails, webhooks, watches.

`run_finished(run_id)` is the sync engine's one entry point (queued by the engine when a
run's outcome is recorded, as the task `notify.tasks.run_finished`).
"""

from notify.services.events import event_publish, run_finished

__all__ = ["event_publish", "run_finished"]
