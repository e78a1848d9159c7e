"""Stale syncs: the schedule's check (`notify.tasks.check_stale`, every 30 minutes)
marks configs stale and notifies once per stale episode."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction

from notify.content import stale_data
from notify.models import ConfigWatch, EventKind
from notify.selectors import config_health, configs_with_health_facts, watch_of
from notify.services.events import Happening, event_publish
from syncs.models import SyncConfig, SyncRun

logger = logging.getLogger(__name__)


def configs_check_stale(*, now: datetime) -> dict[str, list[int]]:
    """Check every config's health at `now`. A config that has become stale is marked
    (`ConfigWatch.stale_since`) and a `sync.stale` event goes out, once: the episode is
    claimed with a conditional update, so checking again (or two checks at once) sends
    nothing more. A config that is no longer stale (a success, a pause, disabled) ends
    its episode. Returns the configs notified and those that recovered."""
    notified: list[int] = []
    recovered: list[int] = []
    configs = configs_with_health_facts(SyncConfig.objects.select_related("organization"))
    for config in configs.order_by("pk"):
        health = config_health(config, now)
        watch = watch_of(config)
        if health["state"] != "stale":
            if watch is not None and watch.stale_notified_at is not None:
                ConfigWatch.objects.filter(pk=watch.pk).update(
                    stale_since=None, stale_notified_at=None
                )
                recovered.append(config.pk)
            continue
        if watch is None:
            watch, _ = ConfigWatch.objects.get_or_create(config=config)
        if watch.stale_notified_at is not None and watch.stale_since == health["since"]:
            continue  # this episode was notified
        with transaction.atomic():
            claimed = ConfigWatch.objects.filter(
                pk=watch.pk, stale_notified_at=watch.stale_notified_at
            ).update(stale_since=health["since"], stale_notified_at=now)
            if not claimed:
                continue
            last_run_id = (
                SyncRun.objects.filter(config=config, dry_run=False)
                .order_by("-created_at", "-pk")
                .values_list("pk", flat=True)
                .first()
            )
            event_publish(
                Happening(
                    EventKind.SYNC_STALE,
                    f"stale:{config.pk}:{health['since'].isoformat()}",
                    f"sync.stale:{config.pk}",
                    stale_data(config, health, last_run_id),
                ),
                organization_id=config.organization_id,
                config_id=config.pk,
                run_id=None,
                at=now,
            )
        logger.info("Sync config %s is stale (%s h silent)", config.pk, health["hours_silent"])
        notified.append(config.pk)
    return {"notified": notified, "recovered": recovered}
