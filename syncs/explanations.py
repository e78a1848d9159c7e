"""A run's explanation and status line from the database (the explainer itself,
`syncs.explain`, is pure).

`explain_run(run)` reads what the explainer needs in a fixed number of queries: the run's
school names, its planned archives counted per (kind, school) in one grouped query, the
previous applied run's counts and file sizes (threshold failures only), and who approved
it. The API, the pages and the admin call these two functions.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q

from syncs.clients.http import RETRIES
from syncs.explain import PreviousRun, RunFacts, explain, run_status_line
from syncs.fields import FieldKeyMismatch
from syncs.models import FailureReason, RunStatus, SourceKind, SyncConfig, SyncRun
from syncs.stage_weights import STAGE_WEIGHTS

# Sources that retry a failing request before giving up (syncs.clients.http); SFTP and
# local files leave the retrying to the next run.
HTTP_SOURCES = (SourceKind.CLEVER_API, SourceKind.ONEROSTER_API)


def explain_run(run: SyncRun) -> dict[str, Any] | None:
    """The run's explanation (`syncs.explain.explain`); None while it is queued or running."""
    if run.status in (RunStatus.QUEUED, RunStatus.RUNNING):
        return None
    return explain(run_facts(run))


def run_status(run: SyncRun) -> str:
    """The run's status line: "Synced with 62 records skipped", "Failed: …". Reads only
    the run's row, and for an approved run who approved it and the config's time zone."""
    return run_status_line(run_facts(run, details=False))


def run_facts(run: SyncRun, *, details: bool = True) -> RunFacts:
    """What `syncs.explain` reads about `run`. Without `details`, only the run's own row
    (and its approver): enough for the status line."""
    reason = run.failure_reason
    approver = run.archives_approved_by if run.archives_approved_by_id else None
    facts: dict[str, Any] = {
        "id": run.pk,
        "status": run.status,
        "failure_reason": reason,
        "message": run.message,
        "dry_run": run.dry_run,
        "stage": _stopped_at(run),
        "counts": run.counts or {},
        "diagnostics": run.diagnostics or {},
        "approved_by": (approver.get_full_name() or approver.get_username()) if approver else "",
        "approved_at": run.archives_approved_at,
    }
    if run.archives_approved_at is not None or (run.diagnostics or {}).get("approvals"):
        facts["time_zone"] = (
            SyncConfig.objects.filter(pk=run.config_id).values_list("time_zone", flat=True).first()
            or "UTC"
        )
    if not details:
        return RunFacts(**facts)
    facts["school_names"] = dict(run.school_summaries.values_list("sis_id", "name"))
    if reason == FailureReason.THRESHOLD:
        facts["planned"] = {
            (row["kind"], row["school_sis_id"]): row["n"]
            for row in run.planned_archives.values("kind", "school_sis_id")
            .annotate(n=Count("id"))
            .order_by()
        }
        facts["previous"] = _previous_applied(run)
    if reason in (FailureReason.CREDENTIALS, FailureReason.SOURCE_UNAVAILABLE):
        facts["time_zone"], facts["redact"], source_kind = _config_facts(run)
        facts["retries"] = RETRIES if source_kind in HTTP_SOURCES else 0
    return RunFacts(**facts)


def _stopped_at(run: SyncRun) -> str:
    """The last stage a run timed: where a failed run stopped ("" if it never started)."""
    stages = [stage for stage in STAGE_WEIGHTS if stage in (run.timings or {})]
    return stages[-1] if stages else ""


def _previous_applied(run: SyncRun) -> PreviousRun | None:
    """The config's last run before this one that applied a plan (as
    `syncs.services.stages.previous_applied_run` finds it)."""
    row = (
        SyncRun.objects.filter(config_id=run.config_id, dry_run=False, pk__lt=run.pk)
        .filter(Q(status=RunStatus.SUCCEEDED) | Q(failure_reason=FailureReason.THRESHOLD))
        .order_by("-pk")
        .values("pk", "counts", "diagnostics")
        .first()
    )
    if row is None:
        return None
    diagnostics = row["diagnostics"] if isinstance(row["diagnostics"], dict) else {}
    files = diagnostics.get("files")
    return PreviousRun(
        id=row["pk"],
        counts=row["counts"] or {},
        file_rows=files if isinstance(files, dict) else {},
    )


def _config_facts(run: SyncRun) -> tuple[str, tuple[str, ...], str]:
    """The config's time zone, secret values (to mask in messages) and source kind. A
    config whose secrets cannot be decrypted has nothing to mask that Rollcall can read."""
    from syncs.sources import source_for

    try:
        config = run.config
    except FieldKeyMismatch:
        return "UTC", (), ""
    fields = source_for(config.source_kind).secrets
    secrets = tuple(str(getattr(config, f) or "") for f in fields)
    return config.time_zone, tuple(s for s in secrets if s), config.source_kind
