"""The issue list of the support console: each issue with its hint, run and school, the
filters in force said in words, and "Download these as CSV" for exactly what the list
shows (a link, never an action)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest
from django.urls import path, reverse
from django.utils.html import format_html

from rostering.models import Organization
from syncs.admin_base import (
    DASH,
    SECRET_FIELDS,
    ReadOnlyAdmin,
    code_spans,
    csv_response,
    filename_part,
    when,
)
from syncs.models import Issue, SyncRun
from syncs.selectors import ISSUE_COLUMNS, issue_rows, run_issue_filter


class RunFilter(admin.SimpleListFilter):
    """?run=<id>: that run's issues, including those it shares with earlier runs
    (one row stands for an issue found night after night; see Issue)."""

    title = "run"
    parameter_name = "run"

    def _run(self) -> SyncRun | None:
        value = self.value()
        if not value or not value.isdigit():
            return None
        if not hasattr(self, "_found"):
            self._found = (
                SyncRun.objects.select_related("config__organization")
                .defer(*(f"config__{name}" for name in SECRET_FIELDS))
                .filter(pk=value)
                .first()
            )
        return self._found

    def lookups(self, request, model_admin):
        run = self._run()
        if run is None:
            return [(self.value(), f"Run #{self.value()}")] if self.value() else []
        label = f"Run #{run.pk} · {run.config} · {when(run.created_at, run.config.time_zone)}"
        return [(str(run.pk), label)]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        run = self._run()
        return queryset.filter(run_issue_filter(run)) if run else queryset.none()


@admin.register(Issue)
class IssueAdmin(ReadOnlyAdmin):
    list_display = (
        "code",
        "severity",
        "school_label",
        "record_kind",
        "source_id",
        "name",
        "message_html",
        "hint_html",
        "run_link",
        "first_seen",
    )
    list_filter = (
        "severity",
        "code",
        "record_kind",
        ("config__organization", admin.RelatedOnlyFieldListFilter),
        RunFilter,
    )
    search_fields = ("source_id", "name", "value", "message", "school_sis_id")
    list_select_related = ("config", "school")
    # Downloads are a link for the list as filtered, so view-only staff run no action.
    actions = None

    def get_queryset(self, request):
        return super().get_queryset(request).defer(*(f"config__{n}" for n in SECRET_FIELDS))

    def get_urls(self):
        view = self.admin_site.admin_view(self.csv_view)
        return [path("csv/", view, name="syncs_issue_csv"), *super().get_urls()]

    # ---------------------------------------------------------------- columns

    @admin.display(description="School", ordering="school_sis_id")
    def school_label(self, obj):
        if not obj.school_sis_id:
            return DASH
        name = obj.school.name if obj.school else ""
        return f"{obj.school_sis_id} · {name}" if name else obj.school_sis_id

    @admin.display(description="Message")
    def message_html(self, obj):
        return code_spans(obj.message)

    @admin.display(description="Hint")
    def hint_html(self, obj):
        return code_spans(obj.hint) if obj.hint else DASH

    @admin.display(description="Run", ordering="run")
    def run_link(self, obj):
        if obj.run_id is None:
            return DASH  # its first run was pruned; the issue still stands for later ones
        url = reverse("admin:syncs_syncrun_change", args=[obj.run_id])
        return format_html('<a href="{}">#{}</a>', url, obj.run_id)

    @admin.display(description="First seen", ordering="first_seen_at")
    def first_seen(self, obj):
        return when(obj.first_seen_at, obj.config.time_zone)

    # ---------------------------------------------------------------- the list

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None)
        if context and "cl" in context:
            cl = context["cl"]
            context["active_filters"] = active_filters(cl)
            query = request.GET.urlencode()
            context["csv_url"] = reverse("admin:syncs_issue_csv") + (f"?{query}" if query else "")
        return response

    def csv_view(self, request):
        """The issues the list shows with the same filters and search, every page of
        them, as a formula-safe CSV named after the organization, run and filters."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            cl = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseBadRequest("Those filters are not ones this list has.")
        rows = issue_rows(cl.queryset)
        return csv_response(list(ISSUE_COLUMNS), rows.iterator(), csv_filename(cl))


def active_filters(cl) -> list[tuple[str, str]]:
    """(title, value) for each filter and the search in force, as the list's sidebar
    names them."""
    chosen = []
    for spec in cl.filter_specs:
        if not set(spec.expected_parameters()) & set(cl.get_filters_params()):
            continue
        shown = [c["display"] for c in spec.choices(cl) if c.get("selected")]
        chosen.append((str(spec.title).capitalize(), ", ".join(str(s) for s in shown)))
    if cl.query:
        chosen.append(("Search", cl.query))
    return chosen


def csv_filename(cl) -> str:
    """`issues-<organization>-run-<id>-<filters>.csv`: what the file holds, by name."""
    params = {key: values[-1] for key, values in cl.get_filters_params().items() if values}
    parts = ["issues"]
    org = None
    run_id = params.get("run")
    if run_id and str(run_id).isdigit():
        run = SyncRun.objects.select_related("config__organization").only(
            "pk", "config__organization__slug"
        )
        found = run.filter(pk=run_id).first()
        org = found.config.organization.slug if found else None
    org_id = params.get("config__organization__id__exact")
    if org is None and org_id and str(org_id).isdigit():
        org = Organization.objects.filter(pk=org_id).values_list("slug", flat=True).first()
    parts.append(org or "all-organizations")
    if run_id:
        parts.append(f"run-{run_id}")
    for key in sorted(params):
        if key in ("run", "config__organization__id__exact"):
            continue
        parts.append(str(params[key]))
    if cl.query:
        parts.append(f"search-{cl.query}")
    return "-".join(filename_part(p) for p in parts)[:150] + ".csv"
