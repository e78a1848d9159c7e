"""Reads about runs, shared by the CLI, the admin and (later) the API."""

from __future__ import annotations

from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet

from syncs.models import Issue, SyncRun
from syncs.pipeline.plan import COUNT_KEYS
from syncs.records import COUNT_KINDS

# An issue as clients and CSV downloads see it: public name -> Issue field.
ISSUE_COLUMNS = {
    "severity": "severity",
    "code": "code",
    "school": "school_sis_id",
    "kind": "record_kind",
    "source_id": "source_id",
    "name": "name",
    "field": "field",
    "value": "value",
    "file": "file",
    "line": "line",
    "message": "message",
    "hint": "hint",
}


def run_issue_filter(run: SyncRun) -> Q:
    """The Issue rows that make up `run`'s issues (see Issue): the spans covering its
    number on the config's issue track, or, off the track, the rows it stored."""
    if run.issue_seq is None:
        return Q(run=run, first_seq__isnull=True)
    # An open span (no last_seq) runs on to the config's latest applied run.
    return Q(config_id=run.config_id, first_seq__lte=run.issue_seq) & (
        Q(last_seq__gte=run.issue_seq) | Q(last_seq__isnull=True)
    )


def run_issue_queryset(run: SyncRun) -> QuerySet[Issue]:
    """The issues a run found, each annotated with `is_new` (absent from the previous
    applied run) and `first_seen_at` (a field: when the issue was first seen, without a
    break on the applied track). Every surface lists a run's issues through this."""
    issues = Issue.objects.filter(run_issue_filter(run))
    if run.issue_seq is None:
        is_new = ExpressionWrapper(Q(new_at_start=True), output_field=BooleanField())
    else:
        # A span is new only for the run that started it.
        is_new = ExpressionWrapper(
            Q(first_seq=run.issue_seq, new_at_start=True), output_field=BooleanField()
        )
    return issues.annotate(is_new=is_new)


def issue_rows(issues: QuerySet[Issue]) -> QuerySet:
    """Issue tuples in ISSUE_COLUMNS order, oldest first."""
    return issues.order_by("id").values_list(*ISSUE_COLUMNS.values())


def run_report(run: SyncRun, *, issue_limit: int | None = None) -> dict:
    """A run as one JSON-ready dict: outcome, counts, schools, issues, diagnostics.

    `run.stage` and `run.progress` are as the database last had them: the stage changes
    as it starts, the records done only on the run's heartbeat (`syncs.progress`).
    """
    counts = {
        kind: {key: run.counts.get(kind, {}).get(key, 0) for key in COUNT_KEYS}
        for kind in COUNT_KINDS
    }
    schools = [
        {
            "sis_id": s.sis_id,
            "name": s.name,
            "status": s.status,
            "created": s.created,
            "updated": s.updated,
            "archived": s.archived,
            "errors": s.errors,
            "alerts": s.alerts,
        }
        for s in run.school_summaries.order_by("sis_id")
    ]
    rows = issue_rows(run_issue_queryset(run))
    if issue_limit is not None:
        rows = rows[:issue_limit]
    issues = [dict(zip(ISSUE_COLUMNS, row, strict=True)) for row in rows]
    return {
        "run": {
            "id": run.pk,
            "config": run.config_id,
            "status": run.status,
            "stage": run.stage,
            "progress": {
                "done": run.progress_done,
                "total": run.progress_total,
                "percent": run.percent,
            },
            "failure_reason": run.failure_reason or None,
            "dry_run": run.dry_run,
            "message": run.message,
            "started_at": run.started_at.isoformat() if run.started_at else None,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "duration_seconds": run.duration_seconds,
        },
        "counts": counts,
        "schools": schools,
        "issues": issues,
        "diagnostics": run.diagnostics,
        "timings": run.timings,
    }
