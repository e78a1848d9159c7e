"""Reads the pages need beyond `api.selectors.sync_tab`: connection state, runs in words,
the schools in the order a district admin fixes them, run history and the per-school
detail. Everything starts from syncs.access's scoped querysets, and the number of queries
never depends on the number of schools, runs or issues shown.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum, Window
from django.db.models.fields.json import KT
from django.db.models.functions import RowNumber

from api.selectors import ConfigRow, SchoolRow, SyncTab, sync_tab
from notify.content import SECRET_FIELDS
from notify.models import WebhookDelivery
from notify.selectors import config_health, configs_with_health_facts, webhook_endpoints
from rostering.models import Organization, School
from syncs import access
from syncs.findings import CODES, ERROR
from syncs.models import (
    FailureReason,
    PlannedArchive,
    RunStatus,
    SchoolSummary,
    SourceKind,
    SyncConfig,
    SyncRun,
)
from syncs.records import COUNT_KINDS
from syncs.rules.threshold import SCHOOL_KINDS
from web import charts, texts

HISTORY_RUNS = 30
# Failure reasons that say the source was reached (the files were read), and those that
# say it was not.
REACHED = {
    FailureReason.THRESHOLD,
    FailureReason.INVALID_FILES,
    FailureReason.SCHOOLS_NOT_FOUND,
}
NOT_REACHED = {FailureReason.CREDENTIALS, FailureReason.SOURCE_UNAVAILABLE}
# The run fields the status line reads (JSON keys by path: never the whole diagnostics).
RUN_WORDS_FIELDS = (
    "pk",
    "config_id",
    "status",
    "failure_reason",
    "dry_run",
    "counts",
    "created_at",
    "finished_at",
    "archives_approved_at",
    "archives_approved_by__username",
    "archives_approved_by__first_name",
    "archives_approved_by__last_name",
)


@dataclass
class RunWords:
    """A run as one line of words, with what the pages link and colour by."""

    id: int
    config_id: int
    status: str
    failure_reason: str
    dry_run: bool
    approved: bool
    created_at: datetime
    finished_at: datetime | None
    line: str
    counts: dict = field(default_factory=dict)

    @property
    def state(self) -> str:
        """ok, warn (skipped records, or archives approved), fail, or active."""
        if self.status in (RunStatus.QUEUED, RunStatus.RUNNING):
            return "active"
        if self.status == RunStatus.FAILED:
            return "warn" if self.approved else "fail"
        return "warn" if self.line != ("Dry run passed" if self.dry_run else "Synced") else "ok"


@dataclass
class Connection:
    state: str  # ok, fail, unknown, none (nothing to connect to: uploads)
    text: str
    checked_at: datetime | None = None


@dataclass
class ConfigView:
    row: ConfigRow
    connection: Connection
    last: RunWords | None
    time_zone: str
    # notify.selectors.config_health: ok, stale, paused or disabled (None: not read).
    health: dict[str, Any] | None = None

    @property
    def config(self) -> SyncConfig:
        return self.row.config

    @property
    def is_upload(self) -> bool:
        return self.config.source_kind == SourceKind.UPLOAD


@dataclass
class SchoolView:
    row: SchoolRow
    words: str
    state: str  # ok, warn, fail, none
    run: RunWords | None = None
    archived_by_approval: int | None = None

    @property
    def failed(self) -> bool:
        return self.state == "fail"


@dataclass
class HistoryRow:
    run: RunWords
    config_name: str
    created: int
    updated: int
    archived: int
    errors: int
    alerts: int
    students: int | None


@dataclass
class TabPage:
    tab: SyncTab
    configs: list[ConfigView]
    schools: list[SchoolView]
    history: list[HistoryRow]
    time_zone: str
    school_scope: bool  # a school admin: only their schools, no district figures

    @property
    def organization(self) -> Organization:
        return self.tab.organization

    @property
    def charts(self) -> list[charts.Series]:
        """Trend lines of the history: active students (district view), errors, alerts."""
        out = []
        if not self.school_scope:
            out.append(
                charts.series("Active students", "students", [h.students for h in self.history])
            )
        out.append(charts.series("Errors", "errors", [h.errors for h in self.history]))
        out.append(charts.series("Alerts", "alerts", [h.alerts for h in self.history]))
        return out


def tab_page(*, reach: access.Reach, organization: Organization, now: datetime) -> TabPage:
    """The sync tab: `sync_tab` plus connection, runs in words, sorted schools, history."""
    tab = sync_tab(reach=reach, organization=organization, now=now)
    time_zone = tab.configs[0].config.time_zone if tab.configs else "UTC"
    run_ids = {c.last_run.pk for c in tab.configs if c.last_run}
    run_ids |= {s.run_id for s in tab.schools if s.run_id}
    words = run_words(reach, run_ids, time_zone=time_zone)
    connections = _connections(tab.configs, words)
    health = config_healths([c.config.pk for c in tab.configs], now)
    configs = [
        ConfigView(
            row=c,
            connection=connections[c.config.pk],
            last=words.get(c.last_run.pk) if c.last_run else None,
            time_zone=c.config.time_zone,
            health=health.get(c.config.pk),
        )
        for c in tab.configs
    ]
    schools = school_views(tab.schools, words)
    school_scope = not access.sees_diagnostics(reach, organization.pk)
    history = run_history(reach, organization, time_zone=time_zone, school_scope=school_scope)
    return TabPage(tab, configs, schools, history, time_zone, school_scope)


def config_healths(config_ids: list[int], now: datetime) -> dict[int, dict[str, Any]]:
    """Each config's health (notify.selectors.config_health), in one query whatever the
    number of configs (never loading their secrets)."""
    if not config_ids:
        return {}
    configs = configs_with_health_facts(
        SyncConfig.objects.filter(pk__in=config_ids).defer(*SECRET_FIELDS)
    )
    return {config.pk: config_health(config, now) for config in configs}


def run_words(
    reach: access.Reach, run_ids: Iterable[int], *, time_zone: str = "UTC"
) -> dict[int, RunWords]:
    """Runs in reach as words, in one query (never their whole diagnostics)."""
    ids = [pk for pk in run_ids if pk]
    if not ids:
        return {}
    rows = (
        access.runs(reach)
        .filter(pk__in=ids)
        .values(*RUN_WORDS_FIELDS, skipped=_json("diagnostics", "skipped", "total"))
    )
    return {row["pk"]: _words(row, time_zone) for row in rows}


def _json(field_name: str, *keys: str) -> KT:
    """One key of a JSON field, as text (never the whole field)."""
    return KT("__".join((field_name, *keys)))


def _words(row: dict[str, Any], time_zone: str) -> RunWords:
    approver = " ".join(
        p
        for p in (row["archives_approved_by__first_name"], row["archives_approved_by__last_name"])
        if p
    ) or (row["archives_approved_by__username"] or "")
    skipped = row.get("skipped")
    line = texts.status_line(
        status=row["status"],
        failure_reason=row["failure_reason"],
        counts=row["counts"] or {},
        skipped=int(skipped) if skipped not in (None, "") else None,
        dry_run=row["dry_run"],
        approved_by=approver,
        approved_at=row["archives_approved_at"],
        time_zone=time_zone,
    )
    return RunWords(
        id=row["pk"],
        config_id=row["config_id"],
        status=row["status"],
        failure_reason=row["failure_reason"],
        dry_run=row["dry_run"],
        approved=row["archives_approved_at"] is not None,
        created_at=row["created_at"],
        finished_at=row["finished_at"],
        line=line,
        counts=row["counts"] or {},
    )


def _connections(rows: list[ConfigRow], words: dict[int, RunWords]) -> dict[int, Connection]:
    """Each config's connection: the newer of its last pre-flight check and what its last
    run found (one query for the pre-flight results; the tab never loads secrets)."""
    preflight = {
        row["pk"]: row
        for row in SyncConfig.objects.filter(pk__in=[r.config.pk for r in rows]).values(
            "pk", "preflight_checked_at", "preflight_ok", "preflight_message"
        )
    }
    out = {}
    for r in rows:
        config = r.config
        if config.source_kind == SourceKind.UPLOAD:
            out[config.pk] = Connection("none", "Files are uploaded: nothing to connect to")
            continue
        seen = []
        check = preflight.get(config.pk) or {}
        if check.get("preflight_checked_at") and check.get("preflight_ok") is not None:
            if check["preflight_ok"]:
                seen.append(Connection("ok", "Pre-flight check", check["preflight_checked_at"]))
            else:
                message = check["preflight_message"] or "The pre-flight check failed."
                seen.append(Connection("fail", message, check["preflight_checked_at"]))
        last = words.get(r.last_run.pk) if r.last_run else None
        if last is not None and last.finished_at is not None:
            if last.status == RunStatus.SUCCEEDED or last.failure_reason in REACHED:
                seen.append(Connection("ok", "The last run read the source", last.finished_at))
            elif last.failure_reason in NOT_REACHED:
                seen.append(Connection("fail", f"The last run: {last.line}", last.finished_at))
        if seen:
            out[config.pk] = max(seen, key=lambda c: c.checked_at)
        else:
            out[config.pk] = Connection("unknown", "No run or pre-flight check yet")
    return out


def school_words(row: SchoolRow, run: RunWords | None) -> tuple[str, str]:
    """A school's status in words and its state (ok, warn, fail, none)."""
    if row.status is None or run is None:
        return "Not synced yet", "none"
    if row.status == RunStatus.SUCCEEDED:
        if row.errors:
            noun = "record" if row.errors == 1 else "records"
            return f"Synced with {row.errors:,} {noun} skipped", "warn"
        return "Synced", "ok"
    if run.failure_reason == FailureReason.THRESHOLD and run.approved:
        return "Synced; held archives approved", "warn"
    return run.line, "fail"


def school_views(rows: list[SchoolRow], words: dict[int, RunWords]) -> list[SchoolView]:
    """Schools in the order to fix them: failed first, then most errors, then by name."""
    approved = [w.id for w in words.values() if w.approved]
    archived = planned_by_school(approved)
    views = []
    for row in rows:
        run = words.get(row.run_id) if row.run_id else None
        text, state = school_words(row, run)
        views.append(
            SchoolView(
                row=row,
                words=text,
                state=state,
                run=run,
                archived_by_approval=archived.get((row.run_id, row.sis_id), 0)
                if run and run.approved
                else None,
            )
        )
    return sorted(
        views, key=lambda v: (not v.failed, -v.row.errors, v.row.name.lower(), v.row.sis_id)
    )


def planned_by_school(run_ids: list[int]) -> dict[tuple[int, str], int]:
    """People and classes each run planned to archive, per (run, school): for a run the
    threshold held, what approving it archives (in full), so what it did archive once
    approved. People and classes only, as a school summary counts its archives
    (syncs.pipeline.report.archives_by_school).

    Approval (syncs.services.approvals) updates the run's counts but not its school
    summaries, so the pages add these to what the summaries say.
    """
    if not run_ids:
        return {}
    rows = (
        PlannedArchive.objects.filter(run_id__in=run_ids, kind__in=SCHOOL_KINDS)
        .values("run_id", "school_sis_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {(r["run_id"], r["school_sis_id"]): r["n"] for r in rows}


# ---------------------------------------------------------------- history


def run_history(
    reach: access.Reach,
    organization: Organization,
    *,
    time_zone: str = "UTC",
    school_scope: bool = False,
    limit: int = HISTORY_RUNS,
) -> list[HistoryRow]:
    """The organization's last `limit` applied runs (real runs that succeeded, or failed
    on the threshold and still applied creates and updates), oldest first.

    District figures come from each run's counts and issue totals; a school admin sees
    only the sums of their schools' summaries, and no student count.
    """
    runs = list(
        access.runs(reach)
        .filter(config__organization=organization, dry_run=False)
        .filter(Q(status=RunStatus.SUCCEEDED) | Q(failure_reason=FailureReason.THRESHOLD))
        .order_by("-created_at", "-pk")
        .values(
            *RUN_WORDS_FIELDS,
            "config__name",
            skipped=_json("diagnostics", "skipped", "total"),
            students_before=_json("diagnostics", "threshold", "kinds", "students", "active"),
            issue_totals=_json("diagnostics", "issues"),
        )[:limit]
    )
    runs.reverse()
    if school_scope:
        sums = _summary_sums(reach, organization, [r["pk"] for r in runs])
    out = []
    for row in runs:
        words = _words(row, time_zone)
        counts = row["counts"] or {}
        if school_scope:
            figures = sums.get(row["pk"], {})
            created, updated, archived = (figures.get(k) or 0 for k in ("c", "u", "a"))
            errors, alerts = figures.get("e") or 0, figures.get("l") or 0
            students = None
        else:
            created, updated, archived = (
                sum(counts.get(kind, {}).get(key, 0) for kind in COUNT_KINDS)
                for key in ("created", "updated", "archived")
            )
            errors, alerts = _issue_totals(row["issue_totals"])
            students = _students_after(counts, row["students_before"])
        out.append(
            HistoryRow(
                run=words,
                config_name=row["config__name"],
                created=created,
                updated=updated,
                archived=archived,
                errors=errors,
                alerts=alerts,
                students=students,
            )
        )
    return out


def _summary_sums(reach: access.Reach, organization: Organization, run_ids: list[int]) -> dict:
    limit = reach.schools_in(organization.pk)
    summaries = SchoolSummary.objects.filter(run_id__in=run_ids)
    if limit is not None:
        sis_ids = list(School.objects.filter(pk__in=limit).values_list("sis_id", flat=True))
        summaries = summaries.filter(sis_id__in=sis_ids)
    rows = (
        summaries.values("run_id")
        .annotate(
            c=Sum("created"), u=Sum("updated"), a=Sum("archived"), e=Sum("errors"), l=Sum("alerts")
        )
        .order_by()
    )
    return {r["run_id"]: r for r in rows}


def _issue_totals(issues: Any) -> tuple[int, int]:
    """Errors and alerts from a run's issue totals by code."""
    if isinstance(issues, str):  # KT reads the object as JSON text
        issues = json.loads(issues)
    if not isinstance(issues, dict):
        return 0, 0
    errors = alerts = 0
    for code, n in issues.items():
        spec = CODES.get(code)
        if not isinstance(n, int):
            continue
        if spec is not None and spec.severity == ERROR:
            errors += n
        else:
            alerts += n
    return errors, alerts


def _students_after(counts: dict, before: Any) -> int | None:
    """Active students once the run was applied: those active before it, plus the ones
    it created or brought back, minus the ones it archived."""
    students = counts.get("students") or {}
    if before in (None, ""):
        if not students:
            return None
        return sum(students.get(k, 0) for k in ("created", "updated", "unarchived", "unchanged"))
    return (
        int(before)
        + students.get("created", 0)
        + students.get("unarchived", 0)
        - students.get("archived", 0)
    )


# ---------------------------------------------------------------- one school


@dataclass
class IssueKind:
    severity: str
    code: str
    record_kind: str
    count: int
    new: int
    article: texts.Article | None

    @property
    def noun(self) -> str:
        plural = self.count != 1
        return {
            "person": "people" if plural else "person",
            "class": "classes" if plural else "class",
            "file": "files" if plural else "file",
            "school": "schools" if plural else "school",
            "enrollment": "enrollments" if plural else "enrollment",
            "guardianship": "guardian links" if plural else "guardian link",
        }.get(self.record_kind, "records" if plural else "record")


@dataclass
class SchoolDetail:
    school: SchoolView
    run: SyncRun | None
    errors: list[IssueKind]
    alerts: list[IssueKind]


def school_detail(
    *, reach: access.Reach, organization: Organization, sis_id: str, now: datetime
) -> SchoolDetail | None:
    """One school of the tab and its issue kinds (None: not a school the caller sees)."""
    page_tab = sync_tab(reach=reach, organization=organization, now=now)
    row = next((s for s in page_tab.schools if s.sis_id == sis_id), None)
    if row is None:
        return None
    time_zone = page_tab.configs[0].config.time_zone if page_tab.configs else "UTC"
    words = run_words(reach, [row.run_id] if row.run_id else [], time_zone=time_zone)
    view = school_views([row], words)[0]
    if not row.run_id:
        return SchoolDetail(view, None, [], [])
    run = access.runs(reach).select_related("config").get(pk=row.run_id)
    kinds = issue_kinds(reach, run, sis_id)
    return SchoolDetail(
        view,
        run,
        [k for k in kinds if k.severity == ERROR],
        [k for k in kinds if k.severity != ERROR],
    )


def issue_kinds(reach: access.Reach, run: SyncRun, sis_id: str) -> list[IssueKind]:
    """A school's issues in a run, grouped by code: most records first."""
    rows = (
        access.run_issues(reach, run)
        .filter(school_sis_id=sis_id)
        .values("severity", "code", "record_kind")
        .annotate(n=Count("pk"), new=Count("pk", filter=Q(is_new=True)))
        .order_by()
    )
    merged: dict[tuple[str, str], IssueKind] = {}
    for r in rows:
        key = (r["severity"], r["code"])
        if key in merged:  # one code over several record kinds: count them together
            merged[key].count += r["n"]
            merged[key].new += r["new"]
            continue
        merged[key] = IssueKind(
            r["severity"], r["code"], r["record_kind"], r["n"], r["new"], texts.article(r["code"])
        )
    return sorted(merged.values(), key=lambda k: (-k.count, k.code))


def school_issue_rows(reach: access.Reach, run: SyncRun, sis_id: str, code: str):
    """Exactly the issues of one code at one school in a run, oldest first."""
    return access.run_issues(reach, run).filter(school_sis_id=sis_id, code=code).order_by("id")


# ---------------------------------------------------------------- one run


def latest_real_run_id(config_id: int) -> int | None:
    """The config's latest finished real run: the only one whose archives can be
    approved (syncs.services.approvals)."""
    return (
        SyncRun.objects.filter(config_id=config_id, dry_run=False)
        .exclude(status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
        .order_by("-created_at", "-pk")
        .values_list("pk", flat=True)
        .first()
    )


def approvable(run: SyncRun) -> bool:
    """Rule T5: a real run blocked by the threshold, not yet approved, its config's latest."""
    return (
        not run.dry_run
        and run.failure_reason == FailureReason.THRESHOLD
        and run.archives_approved_at is None
        and latest_real_run_id(run.config_id) == run.pk
    )


@dataclass
class PlannedTotals:
    by_kind: list[tuple[str, int]]
    by_school: list[dict]  # {sis_id, name, kinds: {kind: n}, total}
    kinds: list[str]
    total: int


def planned_totals(reach: access.Reach, run: SyncRun) -> PlannedTotals:
    """A run's planned archives counted by kind and by school (two grouped queries)."""
    return totals_of(run, access.run_planned_archives(reach, run))


def totals_of(run: SyncRun, planned: QuerySet) -> PlannedTotals:
    """Some of a run's planned archives (all, or only those still held) counted by kind
    and by school."""
    grouped = planned.values("kind", "school_sis_id").annotate(n=Count("pk")).order_by()
    names = dict(
        School.objects.filter(organization_id=run.config.organization_id).values_list(
            "sis_id", "name"
        )
    )
    by_kind: dict[str, int] = {}
    schools: dict[str, dict] = {}
    for row in grouped:
        by_kind[row["kind"]] = by_kind.get(row["kind"], 0) + row["n"]
        school = schools.setdefault(
            row["school_sis_id"],
            {
                "sis_id": row["school_sis_id"],
                "name": names.get(row["school_sis_id"], ""),
                "kinds": {},
                "total": 0,
            },
        )
        school["kinds"][row["kind"]] = row["n"]
        school["total"] += row["n"]
    order = [k for k in COUNT_KINDS if k in by_kind] + sorted(set(by_kind) - set(COUNT_KINDS))
    for school in schools.values():
        school["cells"] = [school["kinds"].get(k, 0) for k in order]
    return PlannedTotals(
        by_kind=[(k, by_kind[k]) for k in order],
        by_school=sorted(schools.values(), key=lambda s: (-s["total"], s["sis_id"])),
        kinds=order,
        total=sum(by_kind.values()),
    )


# ---------------------------------------------------------------- notifications

RECENT_DELIVERIES = 5


def organization_endpoints(reach: access.Reach, organization: Organization) -> list:
    """The organization's webhook endpoints the caller may see (never the global ones),
    each with its last RECENT_DELIVERIES attempts as `recent`, newest first: two queries
    whatever the number of endpoints."""
    endpoints = list(
        webhook_endpoints(reach).filter(organization=organization).order_by("name", "pk")
    )
    recent: dict[int, list[WebhookDelivery]] = {e.pk: [] for e in endpoints}
    if endpoints:
        rows = (
            WebhookDelivery.objects.filter(endpoint_id__in=list(recent))
            .select_related("event")
            .only(
                "pk",
                "endpoint_id",
                "attempt",
                "status",
                "response_code",
                "error",
                "created_at",
                "attempted_at",
                "event__kind",
            )
            .annotate(
                nth=Window(
                    RowNumber(),
                    partition_by=[F("endpoint_id")],
                    order_by=[F("created_at").desc(), F("pk").desc()],
                )
            )
            .filter(nth__lte=RECENT_DELIVERIES)
            .order_by("endpoint_id", "nth")
        )
        for delivery in rows:
            recent[delivery.endpoint_id].append(delivery)
    for endpoint in endpoints:
        endpoint.recent = recent[endpoint.pk]
    return endpoints
