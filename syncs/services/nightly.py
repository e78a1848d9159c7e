"""The nightly schedule: queue each config once inside its window.

The dispatcher runs from a django-q2 schedule every minute (`manage.py setup_schedules`;
the pre-flight, every 15 minutes, is `syncs.services.preflight`). It keeps no state of its
own: it knows a night was served from the run it queued (`SyncRun.scheduled_for`), so a
tick that is late, missed or repeated does no harm. When each night opens and closes, and
the minute each config starts, are pure functions in `syncs.scheduling`.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from django.utils import timezone

from syncs import scheduling
from syncs.models import SyncConfig, SyncRun, Trigger
from syncs.services.queue import sync_run_request
from syncs.sources import all_sources

logger = logging.getLogger(__name__)

# What deciding whether a config is due needs. Loading only these leaves the encrypted
# secrets undecrypted: one config whose key is lost cannot stop the others.
SCHEDULE_FIELDS = ("id", "source_kind", "window_start", "window_end", "time_zone")


def scheduled_configs(*fields: str):
    """Enabled configs whose source is pulled on a schedule (an upload config has
    nothing to pull: its runs start when someone uploads files)."""
    return (
        SyncConfig.objects.filter(enabled=True)
        .filter(source_kind__in=[s.kind for s in all_sources() if s.scheduled])
        .only(*SCHEDULE_FIELDS, *fields)
    )


# ---------------------------------------------------------------- dispatcher


def sync_configs_dispatch(*, now: datetime | None = None) -> list[int]:
    """Queue a scheduled run of each enabled config whose jittered start minute has come
    and whose night has no scheduled run yet. Returns the ids of the runs queued.

    A config with a run already queued or running (a manual one) is not served: its
    night stays open, and a later tick queues it once that run has finished, as long as
    the window is still open. The queries are two, plus a few for each config queued (or
    found waiting), however many configs there are.
    """
    now = now or timezone.now()
    due = _due_nights(now)
    if not due:
        return []
    served = set(
        SyncRun.objects.filter(
            config_id__in=[config.pk for config, _night in due],
            scheduled_for__in={night for _config, night in due},
        ).values_list("config_id", "scheduled_for")
    )
    queued = []
    for config, night in due:
        if (config.pk, night) in served:
            continue
        run_id = _queue_night(config, night)
        if run_id is not None:
            queued.append(run_id)
    return queued


def _due_nights(now: datetime) -> list[tuple[SyncConfig, date]]:
    """Each scheduled config whose start minute has come, with the night it is due for."""
    due: list[tuple[SyncConfig, date]] = []
    for config in scheduled_configs().order_by("pk"):
        try:
            night = scheduling.due_night(
                now,
                config_id=config.pk,
                start=config.window_start,
                end=config.window_end,
                tz=config.time_zone,
            )
        except Exception as exc:  # noqa: BLE001 - a broken config must not stop the rest
            _cannot_schedule(config, now, exc)
            continue
        if night is not None:
            due.append((config, night))
    return due


def _queue_night(config: SyncConfig, night: date) -> int | None:
    """Queue the scheduled run of `config` for `night`; its id, or None when none was
    queued (another run is waiting, or queueing failed: the next tick tries again)."""
    try:
        run, created = sync_run_request(
            config=config, trigger=Trigger.SCHEDULED, scheduled_for=night
        )
    except Exception:  # noqa: BLE001 - the next tick tries again
        logger.exception(
            "Sync config %s: the run of the night of %s was not queued", config.pk, night
        )
        return None
    if created:
        logger.info(
            "Sync config %s: queued scheduled run %s for the night of %s",
            config.pk,
            run.pk,
            night,
        )
        return run.pk
    if run.scheduled_for != night:
        logger.info(
            "Sync config %s: the night of %s waits for run %s (%s, %s); the next tick tries again",
            config.pk,
            night,
            run.pk,
            run.trigger,
            run.status,
        )
    return None


def _cannot_schedule(config: SyncConfig, now: datetime, exc: Exception) -> None:
    """Say on the config (where support looks) why it is never queued; once, not per tick."""
    message = (
        f"The nightly sync cannot be scheduled: time zone {config.time_zone!r} or the "
        "window is not valid. Set a time zone such as America/Los_Angeles on the config."
    )
    changed = (
        SyncConfig.objects.filter(pk=config.pk)
        .exclude(preflight_ok=False, preflight_message=message)
        .update(preflight_ok=False, preflight_message=message, preflight_checked_at=now)
    )
    if changed:
        logger.warning("Sync config %s: %s (%s: %s)", config.pk, message, type(exc).__name__, exc)
