"""The sync config's admin page: only its source kind's fields (syncs.sources.REGISTRY
says which), school IDs as a plain list, the pre-flight verdict, the last runs, and a
*Test connection* button."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Subquery
from django.db.models.fields.json import KT
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html

from syncs import access, explain
from syncs.access import Action
from syncs.admin_base import DASH, SECRET_FIELDS, code_spans, may, when
from syncs.admin_forms import SECRETS, SyncConfigAdminForm
from syncs.admin_upload import UploadAdminMixin
from syncs.models import RunStatus, SourceKind, SyncConfig, SyncRun
from syncs.services import sync_config_test_connection, sync_run_request
from syncs.sources import all_sources, source_for

RECENT_RUNS = 10


class RecentRunsFormSet(BaseInlineFormSet):
    """The config's last RECENT_RUNS runs, read in one query."""

    def get_queryset(self):
        if not hasattr(self, "_recent"):
            self._recent = list(super().get_queryset()[:RECENT_RUNS])
        return self._recent


class RecentRunsInline(admin.TabularInline):
    model = SyncRun
    formset = RecentRunsFormSet
    verbose_name_plural = f"Recent runs (the last {RECENT_RUNS})"
    fields = ("run_link", "created", "trigger", "dry_run", "outcome")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ("-created_at", "-pk")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("config__organization", "archives_approved_by")
            .defer("diagnostics", *(f"config__{name}" for name in SECRET_FIELDS))
            .annotate(skipped_total=KT("diagnostics__skipped__total"))
        )

    @admin.display(description="Run")
    def run_link(self, run):
        url = reverse("admin:syncs_syncrun_change", args=[run.pk])
        label = f"{'Dry run' if run.dry_run else 'Run'} #{run.pk}"
        return format_html('<a href="{}">{}</a>', url, label)

    @admin.display(description="Started")
    def created(self, run):
        return when(run.created_at, run.config.time_zone)

    @admin.display(description="Outcome")
    def outcome(self, run):
        approver = run.archives_approved_by
        skipped = run.skipped_total
        return explain.status_line(
            status=run.status,
            failure_reason=run.failure_reason,
            counts=run.counts or {},
            diagnostics={"skipped": {"total": int(skipped)}} if skipped not in (None, "") else {},
            dry_run=run.dry_run,
            approved_by=(approver.get_full_name() or approver.get_username()) if approver else "",
            approved_at=run.archives_approved_at,
            time_zone=run.config.time_zone,
        )


GENERAL = ("organization", "name", "source_kind")


def schedule_fields() -> list:
    """Every other editable field of a config, in the model's order (the window on one
    line): the thresholds, the window and its time zone, the enabled flag, and whatever
    is added to SyncConfig later."""
    sourced = {name for source in all_sources() for name in source.fields}
    fields: list = []
    for field in SyncConfig._meta.fields:
        name = field.name
        if not field.editable or name in sourced or name in (*GENERAL, "school_ids", "id"):
            continue
        if name in SECRETS or name == "window_end":
            continue
        fields.append(("window_start", "window_end") if name == "window_start" else name)
    return fields


@admin.register(SyncConfig)
class SyncConfigAdmin(UploadAdminMixin, admin.ModelAdmin):
    list_display = (
        "name",
        "organization",
        "source_kind",
        "format",
        "deletion_threshold",
        "enabled",
        "preflight",
        "last_run",
    )
    list_filter = ("source_kind", "enabled")
    search_fields = ("name", "organization__name", "organization__slug")
    list_select_related = ("organization",)
    autocomplete_fields = ("organization",)
    form = SyncConfigAdminForm
    readonly_fields = ("preflight_result",)
    actions = ["run_now", "dry_run_now", "test_connection"]

    # Who may do what (syncs.access). Staff who may change a config but not manage its
    # credentials change only access.STAFF_CONFIG_FIELDS; the source, its credentials and
    # the school IDs are read-only for them, and the secrets are never on the page at all
    # (not even read-only): "Credentials" says which are set.

    def has_add_permission(self, request):
        # A config is its source: adding one is managing credentials.
        return super().has_add_permission(request) and may(request, Action.MANAGE_CREDENTIALS)

    def has_change_permission(self, request, obj=None):
        return may(request, Action.CHANGE_CONFIG)

    def has_run_sync_permission(self, request, obj=None):
        return may(request, Action.RUN)

    def has_test_connection_permission(self, request, obj=None):
        return may(request, Action.TEST_CONNECTION)

    def _manages_credentials(self, request, obj=None) -> bool:
        return self.has_change_permission(request, obj) and may(request, Action.MANAGE_CREDENTIALS)

    # ---------------------------------------------------------------- the form

    def get_fieldsets(self, request, obj=None):
        manages = self._manages_credentials(request, obj)
        sources = [source_for(obj.source_kind)] if obj else all_sources()
        fieldsets = [(None, {"fields": GENERAL})]
        placed: set[str] = set()
        for source in sources:
            fields: list = []
            for name in source.fields:
                if name in placed or (name in SECRETS and not manages):
                    continue
                placed.add(name)
                fields.append(name)
                if name in SECRETS:
                    fields.append(f"clear_{name}")
            if source.secrets and not manages and obj is not None:
                fields.append("credentials")
            label = SourceKind(source.kind).label
            options = {"fields": fields}
            if obj is None:
                options["description"] = f"Only for a {label} source."
                options["classes"] = ("collapse",)
            if fields:
                fieldsets.append((f"Source: {label}", options))
        if obj is not None and manages:
            fieldsets += self._other_secrets(obj, set(sources[0].fields))
        schools = "school_ids" if manages else "school_ids_list"
        fieldsets += [
            ("Schools", {"fields": (schools,)}),
            ("Schedule and thresholds", {"fields": schedule_fields()}),
        ]
        if obj is not None:
            fieldsets.append(("Pre-flight", {"fields": ("preflight_result",)}))
        return fieldsets

    @staticmethod
    def _other_secrets(obj, own: set[str]) -> list:
        """Secrets of other source kinds, when the config still stores any (its source
        kind changed): shown so they can be replaced or removed, never left unseen."""
        others = [name for name in SECRETS if name not in own]
        if not any(getattr(obj, name, "") for name in others):
            return []
        fields = [field for name in others for field in (name, f"clear_{name}")]
        description = (
            "This config still stores secrets that its source kind does not use. Remove "
            "them unless the source kind is going back."
        )
        return [("Stored for other source kinds", {"fields": fields, "description": description})]

    def get_form(self, request, obj=None, **kwargs):
        if not self._manages_credentials(request, obj):
            kwargs["form"] = forms.ModelForm  # no secret fields, no "remove" boxes
        return super().get_form(request, obj, **kwargs)

    def get_exclude(self, request, obj=None):
        excluded = list(super().get_exclude(request, obj) or ())
        if not self._manages_credentials(request, obj):
            excluded += SECRETS
        return excluded

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not self._manages_credentials(request, obj):
            locked = [
                f.name
                for f in SyncConfig._meta.fields
                if f.editable and f.name not in access.STAFF_CONFIG_FIELDS and f.name not in SECRETS
            ]
            fields = [*locked, "credentials", "school_ids_list", *fields]
        return fields

    def get_inlines(self, request, obj):
        # Recent runs are read, never saved: not part of what the page posts.
        return [RecentRunsInline] if obj is not None and request.method == "GET" else []

    @admin.display(description="Credentials")
    def credentials(self, obj):
        """Which of its source's secrets are stored, never what they are."""
        names = source_for(obj.source_kind).secrets
        shown = [
            f"{SECRETS[name]}: {'set' if getattr(obj, name, '') else 'not set'}" for name in names
        ]
        shown += [
            f"{label} (another source kind's): set"
            for name, label in SECRETS.items()
            if name not in names and getattr(obj, name, "")
        ]
        return "; ".join(shown) or "None needed"

    @admin.display(description="School IDs")
    def school_ids_list(self, obj):
        ids = obj.school_ids if isinstance(obj.school_ids, list) else []
        return ", ".join(str(i) for i in ids) or "Every school in the files"

    @admin.display(description="Last pre-flight")
    def preflight_result(self, obj):
        if obj.preflight_ok is None:
            return "Not checked yet (it runs a few hours before the nightly window)."
        checked = when(obj.preflight_checked_at, obj.time_zone)
        if obj.preflight_ok:
            return f"OK, checked {checked}."
        return format_html(
            '<strong style="color:#ba2121">Failed</strong>, checked {}: {}',
            checked,
            code_spans(obj.preflight_message),
        )

    # ---------------------------------------------------------------- the pages

    def get_urls(self):
        view = self.admin_site.admin_view(self.test_connection_view)
        return [
            path("<int:pk>/test-connection/", view, name="syncs_syncconfig_test_connection"),
            *super().get_urls(),
        ]

    def test_connection_view(self, request, pk: int):
        """The page's *Test connection* button: POST (with its CSRF token) only, and only
        for staff who may test connections; 403 before the config is looked up."""
        if not self.has_test_connection_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        config = get_object_or_404(SyncConfig, pk=pk)
        self._test(request, config)
        return redirect(reverse("admin:syncs_syncconfig_change", args=[config.pk]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_upload": self.has_run_sync_permission(request),
            "can_test_connection": self.has_test_connection_permission(request),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    # ---------------------------------------------------------------- the list

    @admin.display(description="Pre-flight")
    def preflight(self, obj):
        if obj.preflight_ok is None:
            return DASH
        if obj.preflight_ok:
            return "OK"
        return format_html(
            '<strong style="color:#ba2121">{}</strong>', code_spans(obj.preflight_message)
        )

    def get_queryset(self, request):
        # The latest run's id and status, for "Last run", in the list's own query. The
        # id breaks ties on created_at so both subqueries pick the same run.
        latest = SyncRun.objects.filter(config=OuterRef("pk")).order_by("-created_at", "-pk")
        return (
            super()
            .get_queryset(request)
            .annotate(
                latest_run_pk=Subquery(latest.values("pk")[:1]),
                latest_run_status=Subquery(latest.values("status")[:1]),
            )
        )

    @admin.display(description="Last run")
    def last_run(self, obj):
        if obj.latest_run_pk is None:
            return DASH
        url = reverse("admin:syncs_syncrun_change", args=[obj.latest_run_pk])
        status = obj.latest_run_status
        label = RunStatus(status).label if status in RunStatus.values else status
        return format_html('<a href="{}">{}</a>', url, label)

    # ---------------------------------------------------------------- actions

    def _run(self, request, queryset, *, dry_run: bool):
        for config in queryset:
            run, created = sync_run_request(config=config, dry_run=dry_run)
            run.refresh_from_db()  # handed over already: the hand-over may have failed
            url = reverse("admin:syncs_syncrun_change", args=[run.pk])
            link = format_html('<a href="{}">run #{}</a>', url, run.pk)
            if created and run.status == "failed":
                text = format_html("{}: {} could not be queued. {}", config, link, run.message)
                self.message_user(request, text, messages.ERROR)
                continue
            if created:
                text = format_html("{}: {} queued on the worker.", config, link)
            else:
                status = run.get_status_display().lower()
                text = format_html("{}: {} is already {}; not queued again.", config, link, status)
            self.message_user(request, text, messages.SUCCESS if created else messages.WARNING)

    def _test(self, request, config) -> None:
        report = sync_config_test_connection(config=config)
        level = messages.SUCCESS if report.ok else messages.ERROR
        self.message_user(request, f"{config}: {report.message}", level)

    @admin.action(description="Check for new data (queue a sync now)", permissions=["run_sync"])
    def run_now(self, request, queryset):
        self._run(request, queryset, dry_run=False)

    @admin.action(description="Dry run (queue; apply nothing)", permissions=["run_sync"])
    def dry_run_now(self, request, queryset):
        self._run(request, queryset, dry_run=True)

    @admin.action(
        description="Test connection (SFTP, Clever, OneRoster)", permissions=["test_connection"]
    )
    def test_connection(self, request, queryset):
        for config in queryset:
            self._test(request, config)
