"""How long runs, and what they found, stay readable: `ROLLCALL_HISTORY_DAYS`.

A run's issues, school summaries and planned archives are kept with the run. Runs older
than the setting are deleted by a daily schedule (`syncs.tasks.prune_history`), except
each config's latest applied run (the next run compares itself with it: new issues,
records gone missing) and its latest failed run (the failure the sync tab explains),
whatever their age.

Issues of applied runs are spans over several runs (see `syncs.models.Issue`): a span is
deleted once no run it covers is left. A span that still covers a kept run stays whole;
its first runs may be gone (its `run` is then empty), which changes nothing for the runs
that remain: a run's issues are the spans covering its number, and an issue is new for a
run only if its span started there.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from itertools import islice

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.utils import timezone

from syncs.models import FailureReason, Issue, RunStatus, SyncRun
from syncs.pipeline.sqlsets import filter_in

logger = logging.getLogger(__name__)

# Runs deleted per transaction: a first prune after a long time may meet many.
BATCH = 500


def history_prune(*, now: datetime | None = None) -> dict[str, int]:
    """Delete the finished runs older than `ROLLCALL_HISTORY_DAYS`, with their issues,
    school summaries and planned archives, keeping each config's latest applied and
    latest failed run. Returns how many rows of each kind were deleted."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.ROLLCALL["HISTORY_DAYS"])
    kept = _always_kept()
    doomed = [
        (pk, config_id)
        for pk, config_id in SyncRun.objects.filter(
            created_at__lt=cutoff, status__in=[RunStatus.SUCCEEDED, RunStatus.FAILED]
        )
        .order_by("pk")
        .values_list("pk", "config_id")
        if pk not in kept
    ]
    deleted = {"runs": 0, "issues": 0, "school_summaries": 0, "planned_archives": 0}
    for batch in _batches(doomed, BATCH):
        run_ids = [pk for pk, _config in batch]
        with transaction.atomic():
            # A run's own rows (dry runs, failures before apply) go with it; spans are
            # left to the step below, since they may cover runs that stay.
            n, _ = filter_in(Issue.objects.filter(first_seq__isnull=True), "run", run_ids).delete()
            deleted["issues"] += n
            _n, per_model = filter_in(SyncRun.objects.all(), "id", run_ids).delete()
            deleted["runs"] += per_model.get(SyncRun._meta.label, 0)
            deleted["school_summaries"] += per_model.get("syncs.SchoolSummary", 0)
            deleted["planned_archives"] += per_model.get("syncs.PlannedArchive", 0)
            deleted["issues"] += _spans_prune({config for _pk, config in batch})
    if doomed:
        logger.info("History older than %s pruned: %s", cutoff.isoformat(), deleted)
    return deleted


def _always_kept() -> set[int]:
    """Each config's latest applied run (as `previous_applied_run` finds it, runs from
    before issue spans included) and its latest failed run."""
    applied = SyncRun.objects.filter(dry_run=False).filter(
        Q(status=RunStatus.SUCCEEDED) | Q(failure_reason=FailureReason.THRESHOLD)
    )
    failed = SyncRun.objects.filter(status=RunStatus.FAILED)
    kept: set[int] = set()
    for runs in (applied, failed):
        kept.update(
            runs.values("config").annotate(latest=Max("pk")).values_list("latest", flat=True)
        )
    return kept


def _spans_prune(config_ids: set[int]) -> int:
    """Delete the spans of these configs that cover no remaining run, and rows whose
    run is gone without them (a run deleted by other means). An open span covers the
    latest applied run, which stays: only closed spans can go."""
    covered = SyncRun.objects.filter(
        config_id=OuterRef("config_id"),
        issue_seq__gte=OuterRef("first_seq"),
        issue_seq__lte=OuterRef("last_seq"),
    )
    spans, _ = (
        Issue.objects.filter(
            config_id__in=config_ids, first_seq__isnull=False, last_seq__isnull=False
        )
        .exclude(Exists(covered))
        .delete()
    )
    orphans, _ = Issue.objects.filter(
        config_id__in=config_ids, first_seq__isnull=True, run__isnull=True
    ).delete()
    return spans + orphans


def _batches(items: list, size: int) -> Iterable[list]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch
