"""Reads the API needs beyond syncs.selectors: the sync tab in one go, and a config's
next scheduled run. Everything starts from syncs.access's scoped querysets."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet, Subquery

from rostering.models import Organization
from syncs import access, scheduling
from syncs.models import RunStatus, SchoolSummary, SyncConfig, SyncRun
from syncs.sources import source_for

ACTIVE = (RunStatus.QUEUED, RunStatus.RUNNING)
FINISHED = (RunStatus.SUCCEEDED, RunStatus.FAILED)
# What the sync tab reads of a config: never the encrypted secrets, so a config whose
# key is lost cannot break the page.
TAB_CONFIG_FIELDS = (
    "id",
    "organization_id",
    "name",
    "source_kind",
    "enabled",
    "window_start",
    "window_end",
    "time_zone",
)
# ... and of a run: not its diagnostics, counts or timings.
TAB_RUN_FIELDS = (
    "id",
    "config_id",
    "status",
    "failure_reason",
    "dry_run",
    "stage",
    "progress_done",
    "progress_total",
    "created_at",
    "finished_at",
)


def next_run_at(config: SyncConfig, *, now: datetime) -> datetime | None:
    """When the nightly schedule next starts `config` (its jittered minute inside its
    window, as syncs.services.nightly decides), or None: disabled, or a source nobody
    pulls on a schedule (uploads)."""
    if not config.enabled or not source_for(config.source_kind).scheduled:
        return None
    try:
        today = now.astimezone(ZoneInfo(config.time_zone)).date()
    except (ZoneInfoNotFoundError, ValueError):
        return None
    for offset in (-1, 0, 1, 2):
        night = today + timedelta(days=offset)
        opens, closes = scheduling.night_window(
            night, config.window_start, config.window_end, config.time_zone
        )
        if opens >= closes:
            continue  # a window the clock skips that night (DST): no run
        starts = scheduling.jittered_start(config.pk, night, opens, closes)
        if starts >= now:
            return starts
    return None


@dataclass
class SchoolRow:
    sis_id: str
    name: str
    status: str | None = None
    run_id: int | None = None
    last_success_at: datetime | None = None
    errors: int = 0
    alerts: int = 0
    errors_by_code: dict[str, int] = field(default_factory=dict)
    alerts_by_code: dict[str, int] = field(default_factory=dict)
    new_errors: int = 0
    new_alerts: int = 0


@dataclass
class ConfigRow:
    config: SyncConfig
    last_run: SyncRun | None
    active_run: SyncRun | None
    next_run_at: datetime | None


@dataclass
class SyncTab:
    organization: Organization
    configs: list[ConfigRow]
    schools: list[SchoolRow]


def sync_tab(*, reach: access.Reach, organization: Organization, now: datetime) -> SyncTab:
    """Everything the sync tab shows for one organization the caller can see.

    Per config: its last finished run, its active run and its next scheduled start. Per
    school (only the caller's schools for a school admin): the status, errors and alerts
    (by code) of the latest real run that reported on it, and its last successful sync.

    The number of queries depends on the number of configs (one or two per district),
    never on the number of schools or issues.
    """
    configs = _configs(reach, organization)
    run_ids = {c.last_run_id for c in configs} | {c.summary_run_id for c in configs}
    runs = (
        access.runs(reach)
        .filter(pk__in=[pk for pk in run_ids if pk])
        .only(*TAB_RUN_FIELDS)
        .in_bulk()
    )
    active = {
        run.config_id: run
        for run in access.runs(reach)
        .filter(config_id__in=[c.pk for c in configs], status__in=ACTIVE)
        .only(*TAB_RUN_FIELDS)
    }
    by_id = {c.pk: c for c in configs}
    for run in [*runs.values(), *active.values()]:
        run.config = by_id[run.config_id]  # loaded above: no query per run
    config_rows = [
        ConfigRow(
            config=c,
            last_run=runs.get(c.last_run_id),
            active_run=active.get(c.pk),
            next_run_at=next_run_at(c, now=now),
        )
        for c in configs
    ]
    reported = sorted(
        (runs[c.summary_run_id] for c in configs if c.summary_run_id in runs),
        key=lambda r: (r.created_at, r.pk),
    )
    return SyncTab(organization, config_rows, _schools(reach, organization, reported))


# What changes the sync tab, per config: its own fields, and its latest run's state
# (progress and heartbeat while it runs; the end, an approval).
# Not its stage and progress: those change every heartbeat, and the view overlays the
# active run's progress fresh (`active_runs`), so polling during a sync keeps hitting
# the cache instead of rebuilding 150 schools each time.
_VERSION_RUN_FIELDS = (
    "pk",
    "status",
    "finished_at",
    "archives_approved_at",
    "counts",  # approving one held school (T6) changes only its counts and summaries
)


def active_runs(*, reach: access.Reach, organization: Organization) -> dict[int, SyncRun]:
    """Each config's queued or running run, with its live stage and progress (one query)."""
    return {
        run.config_id: run
        for run in access.runs(reach)
        .filter(config__organization=organization, status__in=ACTIVE)
        .only(*TAB_RUN_FIELDS)
    }


def sync_tab_version(*, reach: access.Reach, organization: Organization, now: datetime) -> str:
    """A key that changes whenever anything the caller's sync tab shows may have: one
    query over the organization's configs and their latest runs. Answers from a cache
    keyed by it (api.views.organizations) cost that query instead of eleven, and no
    serialization. The minute is part of it, so "next run" and anything changed by hand
    (a school renamed in the admin) is at most a minute old."""
    latest = SyncRun.objects.filter(config=OuterRef("pk")).order_by("-created_at", "-pk")
    rows = (
        access.configs(reach)
        .filter(organization=organization)
        .order_by("pk")
        .annotate(**{f"run_{f}": Subquery(latest.values(f)[:1]) for f in _VERSION_RUN_FIELDS})
        .values_list(*TAB_CONFIG_FIELDS, *(f"run_{f}" for f in _VERSION_RUN_FIELDS))
    )
    schools = reach.schools_in(organization.pk)
    raw = repr(
        (
            organization.pk,
            organization.name,
            None if schools is None else sorted(schools),
            now.replace(second=0, microsecond=0).isoformat(),
            list(rows),
        )
    )
    return "sync-tab:" + hashlib.sha256(raw.encode()).hexdigest()


def _configs(reach: access.Reach, organization: Organization) -> list[SyncConfig]:
    """The organization's configs, each with its last finished run and its latest real
    run that reported on schools (a run's id, by subquery: one query for them all)."""
    runs = SyncRun.objects.filter(config=OuterRef("pk")).order_by("-created_at", "-pk")
    reported = runs.filter(dry_run=False).filter(
        Exists(SchoolSummary.objects.filter(run=OuterRef("pk")))
    )
    return list(
        access.configs(reach)
        .filter(organization=organization)
        .only(*TAB_CONFIG_FIELDS)
        .annotate(
            last_run_id=Subquery(runs.filter(status__in=FINISHED).values("pk")[:1]),
            summary_run_id=Subquery(reported.values("pk")[:1]),
        )
        .order_by("name", "pk")
    )


def _schools(
    reach: access.Reach, organization: Organization, reported: list[SyncRun]
) -> list[SchoolRow]:
    rows: dict[str, SchoolRow] = {}
    # Oldest first, so a school two configs report on shows the later run.
    for run in reported:
        summaries = access.run_summaries(reach, run).order_by().only("sis_id", "name", "status")
        for summary in summaries:
            rows[summary.sis_id] = SchoolRow(
                sis_id=summary.sis_id, name=summary.name, status=summary.status, run_id=run.pk
            )
    for run in reported:
        _count_issues(reach, run, rows)
    # Schools no run reported on yet (a school admin's, or one added by hand).
    for sis_id, name in (
        access.schools(reach)
        .filter(organization=organization, archived_at__isnull=True)
        .values_list("sis_id", "name")
    ):
        rows.setdefault(sis_id, SchoolRow(sis_id=sis_id, name=name))
    last_success = dict(
        SchoolSummary.objects.filter(
            run__config__organization=organization,
            run__dry_run=False,
            status=RunStatus.SUCCEEDED,
            sis_id__in=list(rows),
        )
        .values("sis_id")
        .annotate(at=Max("run__finished_at"))
        .values_list("sis_id", "at")
    )
    for sis_id, row in rows.items():
        row.last_success_at = last_success.get(sis_id)
    return [rows[k] for k in sorted(rows)]


def _count_issues(reach: access.Reach, run: SyncRun, rows: dict[str, SchoolRow]) -> None:
    """Errors and alerts of `run` per school and code, in one grouped query."""
    counts: QuerySet = (
        access.run_issues(reach, run)
        .order_by()
        .values("school_sis_id", "severity", "code")
        .annotate(n=Count("pk"), new=Count("pk", filter=Q(is_new=True)))
    )
    for item in counts:
        row = rows.get(item["school_sis_id"])
        if row is None or row.run_id != run.pk:
            continue
        if item["severity"] == "error":
            row.errors += item["n"]
            row.new_errors += item["new"]
            row.errors_by_code[item["code"]] = item["n"]
        else:
            row.alerts += item["n"]
            row.new_alerts += item["new"]
            row.alerts_by_code[item["code"]] = item["n"]
