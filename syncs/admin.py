import json

from django import forms
from django.contrib import admin, messages
from django.db.models import OuterRef, Subquery
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django_q import admin as queue_admin
from django_q.models import Failure, Success

from syncs import access
from syncs.access import Action
from syncs.admin_upload import UploadAdminMixin
from syncs.clients.sshkeys import load_private_key
from syncs.errors import SyncFailure
from syncs.exports import PLANNED_ARCHIVE_HEADER, csv_lines
from syncs.models import Issue, PlannedArchive, RunStatus, SchoolSummary, SyncConfig, SyncRun
from syncs.selectors import ISSUE_COLUMNS, issue_rows, run_issue_filter, run_issue_queryset
from syncs.services import (
    sync_config_test_connection,
    sync_run_approve_archives,
    sync_run_request,
)


def _may(request, action: Action) -> bool:
    """Every admin permission beyond Django's add/change/delete/view, asked of
    syncs.access (the one permission model): the admin is staff only, so it is staff's
    rule, the same in every organization."""
    return access.staff_allowed(access.reach(request.user), action)


def _table(header, rows):
    head = format_html_join("", "<th>{}</th>", ((h,) for h in header))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),) for row in rows),
    )
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Runs and what they found are records of what happened: nobody edits them."""

    show_full_result_count = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RecentRunsInline(admin.TabularInline):
    model = SyncRun
    fields = ("created_at", "trigger", "dry_run", "status", "failure_reason", "message")
    readonly_fields = fields
    show_change_link = True
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ("-created_at",)


class SyncConfigAdminForm(forms.ModelForm):
    """Secrets (SFTP password and key, API token, OAuth client secret) are write-only: the
    page never shows them (not even as hidden values), a blank field keeps the stored
    secret, and a box removes it."""

    SECRETS = {
        "sftp_password": "SFTP password",
        "sftp_private_key": "SFTP private key",
        "api_token": "API token",
        "oauth_client_secret": "OAuth client secret",
    }

    sftp_password = forms.CharField(
        required=False, strip=False, widget=forms.PasswordInput(render_value=False)
    )
    sftp_private_key = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off"})
    )
    clear_sftp_password = forms.BooleanField(
        required=False, label="Remove the stored SFTP password"
    )
    clear_sftp_private_key = forms.BooleanField(
        required=False, label="Remove the stored SFTP private key"
    )
    api_token = forms.CharField(
        required=False, strip=True, widget=forms.PasswordInput(render_value=False)
    )
    oauth_client_secret = forms.CharField(
        required=False, strip=True, widget=forms.PasswordInput(render_value=False)
    )
    clear_api_token = forms.BooleanField(required=False, label="Remove the stored API token")
    clear_oauth_client_secret = forms.BooleanField(
        required=False, label="Remove the stored OAuth client secret"
    )

    # No Meta: SyncConfigAdmin supplies the model and its fields, so a field added to
    # SyncConfig shows up without being listed twice. Only for callers who may manage
    # credentials: everyone else gets a form without the secrets (SyncConfigAdmin).

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, label in self.SECRETS.items():
            self.initial.pop(name, None)  # never sent to the browser
            stored = bool(getattr(self.instance, name, ""))
            self.fields[name].label = label
            self.fields[name].help_text = (
                "Set. Leave blank to keep it; type a new one to replace it."
                if stored
                else "Not set."
            )

    def clean_sftp_private_key(self):
        text = self.cleaned_data["sftp_private_key"].strip()
        if text:
            try:
                load_private_key(text)
            except SyncFailure as exc:
                raise forms.ValidationError(exc.message) from exc
        return text

    def clean(self):
        cleaned = super().clean()
        for name in self.SECRETS:
            if cleaned.get(f"clear_{name}"):
                cleaned[name] = ""
            elif not cleaned.get(name):
                cleaned[name] = getattr(self.instance, name, "")  # blank keeps the stored one
        return cleaned


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
    readonly_fields = ("preflight_checked_at", "preflight_ok", "preflight_message")
    actions = ["run_now", "dry_run_now", "test_connection"]

    # Who may do what (syncs.access). Staff who may change a config but not manage its
    # credentials change only access.STAFF_CONFIG_FIELDS; the source, its credentials and
    # the school IDs are read-only for them, and the secrets are never on the page at all
    # (not even read-only): "Credentials" says which are set.

    def has_add_permission(self, request):
        # A config is its source: adding one is managing credentials.
        return super().has_add_permission(request) and _may(request, Action.MANAGE_CREDENTIALS)

    def has_change_permission(self, request, obj=None):
        return _may(request, Action.CHANGE_CONFIG)

    def has_run_sync_permission(self, request, obj=None):
        return _may(request, Action.RUN)

    def has_test_connection_permission(self, request, obj=None):
        return _may(request, Action.TEST_CONNECTION)

    def _manages_credentials(self, request, obj=None) -> bool:
        return self.has_change_permission(request, obj) and _may(request, Action.MANAGE_CREDENTIALS)

    def get_form(self, request, obj=None, **kwargs):
        if not self._manages_credentials(request, obj):
            kwargs["form"] = forms.ModelForm  # no secret fields, no "remove" boxes
        return super().get_form(request, obj, **kwargs)

    def get_exclude(self, request, obj=None):
        excluded = list(super().get_exclude(request, obj) or ())
        if not self._manages_credentials(request, obj):
            excluded += SyncConfigAdminForm.SECRETS
        return excluded

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not self._manages_credentials(request, obj):
            locked = [
                f.name
                for f in SyncConfig._meta.fields
                if f.editable
                and f.name not in access.STAFF_CONFIG_FIELDS
                and f.name not in SyncConfigAdminForm.SECRETS
            ]
            fields = [*locked, "credentials", *fields]
        return fields

    @admin.display(description="Credentials")
    def credentials(self, obj):
        """Which secrets are stored, never what they are."""
        return "; ".join(
            f"{label}: {'set' if getattr(obj, name, '') else 'not set'}"
            for name, label in SyncConfigAdminForm.SECRETS.items()
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_upload": self.has_run_sync_permission(request),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="Pre-flight")
    def preflight(self, obj):
        if obj.preflight_ok is None:
            return "—"
        if obj.preflight_ok:
            return "OK"
        return format_html('<strong style="color:#ba2121">{}</strong>', obj.preflight_message)

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
            return "—"
        url = reverse("admin:syncs_syncrun_change", args=[obj.latest_run_pk])
        status = obj.latest_run_status
        label = RunStatus(status).label if status in RunStatus.values else status
        return format_html('<a href="{}">{}</a>', url, label)

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
            report = sync_config_test_connection(config=config)
            level = messages.SUCCESS if report.ok else messages.ERROR
            self.message_user(request, f"{config}: {report.message}", level)


class SchoolSummaryInline(admin.TabularInline):
    model = SchoolSummary
    fields = ("sis_id", "name", "status", "created", "updated", "archived", "errors", "alerts")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "config",
        "trigger",
        "dry_run",
        "status",
        "failure_reason",
        "progress",
        "created_at",
        "duration",
    )
    list_filter = ("status", "failure_reason", "dry_run", "trigger")
    search_fields = ("config__name", "config__organization__name")
    list_select_related = ("config", "config__organization")
    inlines = [SchoolSummaryInline]
    actions = ["download_planned_archives", "approve_archives"]
    fieldsets = [
        (
            None,
            {
                "fields": (
                    "config",
                    "trigger",
                    "dry_run",
                    "status",
                    "progress",
                    "failure_reason",
                    "message",
                    "issues_link",
                )
            },
        ),
        ("Figures", {"fields": ("counts_table", "threshold_table", "likely_causes")}),
        (
            "Timing",
            {
                "fields": (
                    "created_at",
                    "started_at",
                    "finished_at",
                    "heartbeat_at",
                    "scheduled_for",
                    "worker",
                    "task_id",
                    "timings",
                )
            },
        ),
        (
            "Approval of blocked archives",
            {"fields": ("archives_approved_by", "archives_approved_at")},
        ),
        ("Raw diagnostics", {"classes": ("collapse",), "fields": ("diagnostics_json",)}),
    ]
    readonly_fields = (
        "issues_link",
        "progress",
        "counts_table",
        "threshold_table",
        "likely_causes",
        "diagnostics_json",
    )

    @admin.display(description="Progress")
    def progress(self, obj):
        if not obj.is_active:
            return "Done"
        done = f" ({obj.progress_done:,}/{obj.progress_total:,})" if obj.progress_total else ""
        return f"{obj.percent}% · {obj.get_stage_display()}{done}"

    @admin.display(description="Counts")
    def counts_table(self, obj):
        columns = ("created", "updated", "unarchived", "archived", "unchanged", "quarantined")
        return _table(
            ["kind", *columns],
            [[kind, *(c.get(col, 0) for col in columns)] for kind, c in obj.counts.items()],
        )

    @admin.display(description="Deletion threshold")
    def threshold_table(self, obj):
        threshold = obj.diagnostics.get("threshold", {})
        kinds = threshold.get("kinds", {})
        if not kinds:
            return "—"
        rows = [
            [kind, k["active"], k["planned"], k["allowed"], "EXCEEDED" if k["exceeded"] else "ok"]
            for kind, k in kinds.items()
        ]
        return _table(
            [f"kind (at {threshold.get('percent')}%)", "active", "planned archives", "allowed", ""],
            rows,
        )

    @admin.display(description="Likely causes")
    def likely_causes(self, obj):
        causes = obj.diagnostics.get("likely_causes") or []
        if not causes:
            return "—"
        return format_html(
            "<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((c,) for c in causes))
        )

    @admin.display(description="Diagnostics")
    def diagnostics_json(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.diagnostics, indent=2, sort_keys=True))

    @admin.display(description="Seconds")
    def duration(self, obj):
        seconds = obj.duration_seconds
        return f"{seconds:.1f}" if seconds is not None else "—"

    @admin.display(description="Issues")
    def issues_link(self, obj):
        url = reverse("admin:syncs_issue_changelist") + f"?run={obj.pk}"
        return format_html('<a href="{}">{} issue(s)</a>', url, run_issue_queryset(obj).count())

    def has_approve_archives_permission(self, request, obj=None):
        return _may(request, Action.APPROVE)

    @admin.action(description="Download the records it would archive (CSV)", permissions=["view"])
    def download_planned_archives(self, request, queryset):
        rows = PlannedArchive.objects.filter(run__in=queryset).values_list(
            "kind", "source_id", "name", "school_sis_id"
        )
        response = StreamingHttpResponse(
            csv_lines(PLANNED_ARCHIVE_HEADER, rows.iterator()), content_type="text/csv"
        )
        response["Content-Disposition"] = 'attachment; filename="planned-archives.csv"'
        return response

    @admin.action(
        description="Approve the blocked archives of this run (once)",
        permissions=["approve_archives"],
    )
    def approve_archives(self, request, queryset):
        for run in queryset:
            try:
                n = sync_run_approve_archives(run=run, user=request.user)
            except SyncFailure as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(
                    request, f"Run #{run.pk}: {n} record(s) archived.", messages.SUCCESS
                )


@admin.register(SchoolSummary)
class SchoolSummaryAdmin(ReadOnlyAdmin):
    list_display = (
        "sis_id",
        "name",
        "run",
        "status",
        "created",
        "updated",
        "archived",
        "errors",
        "alerts",
    )
    list_filter = ("status",)
    search_fields = ("sis_id", "name")
    list_select_related = ("run", "run__config", "run__config__organization")


@admin.register(Issue)
class IssueAdmin(ReadOnlyAdmin):
    class RunFilter(admin.SimpleListFilter):
        """?run=<id>: that run's issues, including those it shares with earlier runs
        (one row stands for an issue found night after night; see Issue)."""

        title = "run"
        parameter_name = "run"

        def lookups(self, request, model_admin):
            run = self.value()
            return [(run, f"Run #{run}")] if run else []

        def queryset(self, request, queryset):
            if not self.value():
                return queryset
            run = (
                SyncRun.objects.filter(pk=self.value()).first() if self.value().isdigit() else None
            )
            return queryset.filter(run_issue_filter(run)) if run else queryset.none()

    list_display = (
        "code",
        "severity",
        "school_sis_id",
        "record_kind",
        "source_id",
        "name",
        "message",
    )
    list_filter = (
        "severity",
        "code",
        "record_kind",
        ("config__organization", admin.RelatedOnlyFieldListFilter),
        RunFilter,
    )
    search_fields = ("source_id", "name", "value", "message", "school_sis_id")
    actions = ["download_csv"]

    @admin.action(description="Download selected issues (CSV)")
    def download_csv(self, request, queryset):
        rows = issue_rows(queryset)
        response = StreamingHttpResponse(
            csv_lines(list(ISSUE_COLUMNS), rows.iterator()), content_type="text/csv"
        )
        response["Content-Disposition"] = 'attachment; filename="issues.csv"'
        return response


@admin.register(PlannedArchive)
class PlannedArchiveAdmin(ReadOnlyAdmin):
    list_display = ("kind", "source_id", "name", "school_sis_id", "run")
    list_filter = ("kind",)
    search_fields = ("source_id", "name", "school_sis_id")
    # "Run" is SyncRun.__str__, which names the config and its organization.
    list_select_related = ("run", "run__config", "run__config__organization")


# django-q2's own admin offers "Resubmit selected tasks" to anyone who can see its task
# lists, and on failed tasks it deletes them too: both are changes, so here it takes the
# change permission on the task's model (superusers; support staff never hold it).
@admin.action(description="Resubmit selected tasks to queue", permissions=["change"])
def resubmit_task(modeladmin, request, queryset):
    return queue_admin.resubmit_task(modeladmin, request, queryset)


class SuccessAdmin(queue_admin.TaskAdmin):
    actions = [resubmit_task]


class FailureAdmin(queue_admin.FailAdmin):
    actions = [resubmit_task]


for _model, _model_admin in ((Success, SuccessAdmin), (Failure, FailureAdmin)):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
    admin.site.register(_model, _model_admin)
