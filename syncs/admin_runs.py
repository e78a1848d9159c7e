"""The run page of the support console: it opens with the explainer (for a threshold
failure, where the planned archives concentrate first), then the schools, then the
issues and planned archives with what can be done about them; the figures, timings and
approval record follow. Runs are records: nothing on the page edits them."""

from __future__ import annotations

import json

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from syncs.admin_approval import (
    ApprovalAdminMixin,
    PlannedTotals,
    not_approvable,
    planned_totals,
)
from syncs.admin_base import (
    DASH,
    SECRET_FIELDS,
    ReadOnlyAdmin,
    code_spans,
    table,
    timing_rows,
    when,
)
from syncs.explanations import explain_run, run_status
from syncs.help import article
from syncs.models import SyncRun
from syncs.selectors import run_issue_queryset
from syncs.services.approvals import held_archives


def _count(n: int, kind: str) -> str:
    """`1 student`, `2 classes`, `1 guardian link`."""
    label = {"guardianships": "guardian links"}.get(kind, kind.replace("_", " "))
    if n == 1:
        label = label.removesuffix("es" if label.endswith("sses") else "s")
    return f"{n:,} {label}"


def explainer(explanation: dict | None) -> dict | None:
    """explain_run's explanation as the page shows it: messages with their `code` as
    <code>, the planned archives per school (most first) and the evidence without the
    headline repeated."""
    if not explanation:
        return None
    by_school = []
    for sis_id, school in (explanation.get("by_school") or {}).items():
        planned = school.get("planned") or {}
        by_school.append(
            {
                "sis_id": sis_id or "(no school)",
                "name": school.get("name", ""),
                "planned": ", ".join(
                    _count(n, kind) for kind, n in sorted(planned.items(), key=lambda kn: -kn[1])
                ),
                "total": sum(planned.values()),
            }
        )
    by_school.sort(key=lambda s: (-s["total"], s["sis_id"]))
    headline = explanation.get("headline") or ""
    evidence = []
    for item in explanation.get("evidence") or []:
        text = item.get("text") if isinstance(item, dict) else item
        if text and text != headline:
            link = item.get("help_url") if isinstance(item, dict) else None
            evidence.append({"text": code_spans(text), "help_url": link})
    causes = [
        code_spans(c.get("text") if isinstance(c, dict) else c)
        for c in explanation.get("likely_causes") or []
    ]
    return {
        "headline": code_spans(headline),
        "by_school": by_school,
        "what_happened": code_spans(explanation.get("what_happened") or ""),
        "evidence": evidence,
        "likely_causes": causes,
        "next_steps": [code_spans(s) for s in explanation.get("next_steps") or []],
        "help_url": explanation.get("help_url"),
    }


@admin.register(SyncRun)
class SyncRunAdmin(ApprovalAdminMixin, ReadOnlyAdmin):
    list_display = (
        "id",
        "config",
        "trigger",
        "dry_run",
        "status",
        "failure_reason",
        "progress",
        "created",
        "duration",
    )
    list_filter = ("status", "failure_reason", "dry_run", "trigger")
    search_fields = ("config__name", "config__organization__name")
    list_select_related = ("config", "config__organization")
    # Approving and downloading are links on the run page (a preview, a CSV), never
    # bulk actions on the list.
    actions = None
    fieldsets = [
        (
            "The run",
            {
                "fields": (
                    "config",
                    "trigger",
                    "dry_run",
                    "status",
                    "progress",
                    "failure_reason",
                    "message_html",
                    "issues_link",
                )
            },
        ),
        ("Figures", {"fields": ("counts_table", "threshold_table")}),
        (
            "Timing",
            {
                "fields": (
                    "created",
                    "started",
                    "finished",
                    "heartbeat",
                    "scheduled_for",
                    "worker",
                    "task_id",
                    "timings_table",
                    "diagnostics_link",
                )
            },
        ),
        ("Approval of blocked archives", {"fields": ("approved_by", "approved_at")}),
    ]
    readonly_fields = (
        "message_html",
        "issues_link",
        "progress",
        "counts_table",
        "threshold_table",
        "created",
        "started",
        "finished",
        "heartbeat",
        "timings_table",
        "diagnostics_link",
        "approved_by",
        "approved_at",
    )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("config__organization", "archives_approved_by")
            .defer(*(f"config__{name}" for name in SECRET_FIELDS))
        )

    def get_urls(self):
        view = self.admin_site.admin_view(self.diagnostics_view)
        return [
            path("<int:pk>/diagnostics.json", view, name="syncs_syncrun_diagnostics"),
            *super().get_urls(),
        ]

    # ---------------------------------------------------------------- the page

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = self.get_object(request, object_id)
        if run is not None and self.has_view_permission(request, run):
            extra_context = {**(extra_context or {}), **self._console(request, run)}
        return super().change_view(request, object_id, form_url, extra_context)

    def _console(self, request, run: SyncRun) -> dict:
        """What the run page shows above its figures."""
        zone = run.config.time_zone
        planned = planned_totals(run)
        held = planned_totals(run, held_archives(run)) if planned.total else PlannedTotals()
        summaries = list(run.school_summaries.order_by("sis_id"))
        for summary in summaries:
            summary.planned = planned.at(summary.sis_id)
            summary.held = held.at(summary.sis_id)
        summaries.sort(key=lambda s: (-s.planned, s.sis_id))
        summarized = {s.sis_id for s in summaries}
        missing = [
            {**s, "held": held.at(s["sis_id"])}
            for s in planned.by_school
            if s["sis_id"] not in summarized
        ]
        issues_url = reverse("admin:syncs_issue_changelist") + f"?run={run.pk}"
        issue_counts = [
            {
                **row,
                "title": article(row["code"]).title if article(row["code"]) else row["code"],
                "url": f"{issues_url}&code__exact={row['code']}",
            }
            for row in run_issue_queryset(run)
            .values("severity", "code")
            .annotate(n=Count("pk"))
            .order_by("severity", "-n", "code")
        ]
        why_not = not_approvable(run) if planned.total else ""
        may_approve = self.has_approve_archives_permission(request)
        return {
            "status_line": run_status(run),
            "time_zone": zone,
            "started_text": when(run.started_at or run.created_at, zone),
            "finished_text": when(run.finished_at, zone) if run.finished_at else "",
            "explainer": explainer(explain_run(run)),
            "summaries": summaries,
            "missing_schools": missing,
            "issue_counts": issue_counts,
            "issue_total": sum(row["n"] for row in issue_counts),
            "issues_url": issues_url,
            "issues_csv_url": reverse("admin:syncs_issue_csv") + f"?run={run.pk}",
            "planned": planned,
            "held": held,
            "approvable": held.total and not why_not,
            "why_not": why_not,
            "approve_url": reverse("admin:syncs_syncrun_approve", args=[run.pk])
            if may_approve and held.total and not why_not
            else "",
            "planned_csv_url": reverse("admin:syncs_syncrun_planned_archives_csv", args=[run.pk]),
        }

    def diagnostics_view(self, request, pk: int):
        """The run's diagnostics as they are stored, for support engineers."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        run = get_object_or_404(SyncRun.objects.only("pk", "diagnostics"), pk=pk)
        body = json.dumps(run.diagnostics, indent=2, sort_keys=True)
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
        response["X-Content-Type-Options"] = "nosniff"
        return response

    # ---------------------------------------------------------------- fields

    @admin.display(description="Progress")
    def progress(self, obj):
        if not obj.is_active:
            return "Done"
        done = f" ({obj.progress_done:,}/{obj.progress_total:,})" if obj.progress_total else ""
        return f"{obj.percent}% · {obj.get_stage_display()}{done}"

    @admin.display(description="Message")
    def message_html(self, obj):
        return code_spans(obj.message) if obj.message else DASH

    @admin.display(description="Counts")
    def counts_table(self, obj):
        columns = ("created", "updated", "unarchived", "archived", "unchanged", "quarantined")
        if not obj.counts:
            return DASH
        return table(
            ["kind", *columns],
            [[kind, *(f"{c.get(col, 0):,}" for col in columns)] for kind, c in obj.counts.items()],
        )

    @admin.display(description="Deletion threshold")
    def threshold_table(self, obj):
        threshold = (obj.diagnostics or {}).get("threshold", {})
        kinds = threshold.get("kinds", {})
        if not kinds:
            return DASH
        rows = [
            [kind, k["active"], k["planned"], k["allowed"], "EXCEEDED" if k["exceeded"] else "ok"]
            for kind, k in kinds.items()
        ]
        return table(
            [f"kind (at {threshold.get('percent')}%)", "active", "planned archives", "allowed", ""],
            rows,
        )

    @admin.display(description="Timings")
    def timings_table(self, obj):
        rows = timing_rows(obj.timings)
        return table(["stage", "seconds"], rows) if rows else DASH

    @admin.display(description="Diagnostics")
    def diagnostics_link(self, obj):
        url = reverse("admin:syncs_syncrun_diagnostics", args=[obj.pk])
        return format_html('<a href="{}">Open the raw diagnostics (JSON)</a>', url)

    @admin.display(description="Created", ordering="created_at")
    def created(self, obj):
        return when(obj.created_at, obj.config.time_zone)

    @admin.display(description="Started", ordering="started_at")
    def started(self, obj):
        return when(obj.started_at, obj.config.time_zone)

    @admin.display(description="Finished", ordering="finished_at")
    def finished(self, obj):
        return when(obj.finished_at, obj.config.time_zone)

    @admin.display(description="Last heartbeat")
    def heartbeat(self, obj):
        return when(obj.heartbeat_at, obj.config.time_zone)

    @admin.display(description="Approved by")
    def approved_by(self, obj):
        user = obj.archives_approved_by
        return (user.get_full_name() or user.get_username()) if user else DASH

    @admin.display(description="Approved at")
    def approved_at(self, obj):
        return when(obj.archives_approved_at, obj.config.time_zone)

    @admin.display(description="Seconds")
    def duration(self, obj):
        seconds = obj.duration_seconds
        return f"{seconds:.1f}" if seconds is not None else DASH

    @admin.display(description="Issues")
    def issues_link(self, obj):
        url = reverse("admin:syncs_issue_changelist") + f"?run={obj.pk}"
        counts = dict(
            run_issue_queryset(obj).values_list("severity").annotate(n=Count("pk")).order_by()
        )
        total = sum(counts.values())
        if not total:
            return format_html('<a href="{}">0 issue(s)</a>', url)
        by_severity = ", ".join(
            f"{n:,} {severity}{'s' if n != 1 else ''}" for severity, n in sorted(counts.items())
        )
        return format_html('<a href="{}">{} issue(s)</a>: {}', url, f"{total:,}", by_severity)
