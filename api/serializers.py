"""What the API reads and writes. Output serializers render; input serializers check the
shape of a request. Neither writes anything: the views call services for that.

Secrets (SFTP password and key, API token, OAuth client secret) are write-only: no
response ever carries them, only whether each is set (`credentials`).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlencode
from zoneinfo import available_timezones

from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from notify.selectors import config_health
from notify.serializers import HealthSerializer, health_representation
from rostering.models import Organization
from syncs import access
from syncs.errors import SyncFailure
from syncs.explanations import explain_run
from syncs.models import PlannedArchive, SchoolSummary, SyncConfig, SyncRun
from syncs.selectors import ISSUE_COLUMNS

# The config's secrets: written, never read back.
SECRET_FIELDS = ("sftp_password", "sftp_private_key", "api_token", "oauth_client_secret")


def api_url(request, name: str, query: Mapping[str, str] | None = None, **kwargs: Any) -> str:
    """An absolute link to one of the API's URLs (relative without a request)."""
    path = reverse(f"api:{name}", kwargs=kwargs) + (f"?{urlencode(query)}" if query else "")
    return request.build_absolute_uri(path) if request is not None else path


def school_issue_links(request, run_id: int, sis_id: str) -> tuple[str, str]:
    """A run's issues of one school: the JSON list and the CSV file."""
    query = {"school": sis_id}
    return (
        api_url(request, "syncrun-issues", query, pk=run_id),
        api_url(request, "syncrun-issues-csv", query, pk=run_id),
    )


def _url(serializer: serializers.Serializer, name: str, **kwargs: Any) -> str:
    return api_url(serializer.context.get("request"), name, **kwargs)


class ErrorSerializer(serializers.Serializer):
    """Every error the API answers."""

    code = serializers.CharField(help_text="Stable, for programs: e.g. `not_found`.")
    message = serializers.CharField(help_text="For people.")
    details = serializers.DictField(help_text="Per error: field messages, ids, limits.")


# ---------------------------------------------------------------- organizations


class OrganizationSerializer(serializers.ModelSerializer):
    sync_tab_url = serializers.SerializerMethodField()

    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "created_at", "sync_tab_url"]

    def get_sync_tab_url(self, obj: Organization) -> str:
        return _url(self, "organization-sync-tab", pk=obj.pk)


# ---------------------------------------------------------------- runs


class ProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    percent = serializers.IntegerField(help_text="0-100, rising through the stages.")


class SyncRunSerializer(serializers.ModelSerializer):
    """A run as lists show it. Expects the queryset of `api.views.runs.run_queryset`
    (organization and approver annotated: no query per row)."""

    organization = serializers.IntegerField(source="organization_id", read_only=True)
    progress = serializers.SerializerMethodField()
    failure_reason = serializers.SerializerMethodField()
    archives_approved_by = serializers.CharField(
        source="approved_by_username", allow_null=True, read_only=True
    )
    links = serializers.SerializerMethodField()

    class Meta:
        model = SyncRun
        fields = [
            "id",
            "config",
            "organization",
            "trigger",
            "dry_run",
            "status",
            "stage",
            "progress",
            "failure_reason",
            "message",
            "created_at",
            "started_at",
            "finished_at",
            "heartbeat_at",
            "duration_seconds",
            "counts",
            "archives_approved_by",
            "archives_approved_at",
            "links",
        ]

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, obj: SyncRun) -> dict:
        return {"done": obj.progress_done, "total": obj.progress_total, "percent": obj.percent}

    @extend_schema_field({"type": "string", "nullable": True})
    def get_failure_reason(self, obj: SyncRun) -> str | None:
        return obj.failure_reason or None

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                k: {"type": "string", "format": "uri"}
                for k in (
                    "self",
                    "schools",
                    "issues",
                    "issues_csv",
                    "planned_archives",
                    "planned_archives_csv",
                    "approve_archives",
                )
            },
        }
    )
    def get_links(self, obj: SyncRun) -> dict[str, str]:
        return {
            "self": _url(self, "syncrun-detail", pk=obj.pk),
            "schools": _url(self, "syncrun-schools", pk=obj.pk),
            "issues": _url(self, "syncrun-issues", pk=obj.pk),
            "issues_csv": _url(self, "syncrun-issues-csv", pk=obj.pk),
            "planned_archives": _url(self, "syncrun-planned-archives", pk=obj.pk),
            "planned_archives_csv": _url(self, "syncrun-planned-archives-csv", pk=obj.pk),
            "approve_archives": _url(self, "syncrun-approve-archives", pk=obj.pk),
        }


class HeldKindSerializer(serializers.Serializer):
    active = serializers.IntegerField()
    planned = serializers.IntegerField()
    allowed = serializers.IntegerField()


class HeldSchoolSerializer(serializers.Serializer):
    """A school whose archives alone the run held (rule T6), and whether they were
    approved since."""

    sis_id = serializers.CharField()
    name = serializers.CharField()
    kinds = serializers.DictField(
        child=HeldKindSerializer(), help_text="Per kind over its limit: active, planned, allowed."
    )
    records = serializers.IntegerField(
        help_text="Records held, links included: `expected_count` to approve this school."
    )
    approved = serializers.BooleanField()
    approved_by = serializers.CharField(allow_null=True)
    approved_at = serializers.DateTimeField(allow_null=True)


def held_schools(run: SyncRun, schools: frozenset[str] | None = None) -> list[dict[str, Any]]:
    """The run's held schools (of `schools` only, for a school admin), with approvals."""
    diagnostics = run.diagnostics or {}
    approvals = [a for a in diagnostics.get("approvals") or () if isinstance(a, dict)]
    run_wide = next((a for a in approvals if a.get("school") is None), None)
    out = []
    for held in diagnostics.get("held") or ():
        if not isinstance(held, dict) or (
            schools is not None and held.get("sis_id") not in schools
        ):
            continue
        approval = run_wide or next(
            (a for a in approvals if a.get("school") == held.get("sis_id")), None
        )
        out.append(
            {
                "sis_id": held.get("sis_id", ""),
                "name": held.get("name", ""),
                "kinds": held.get("kinds") or {},
                "records": held.get("records", 0),
                "approved": approval is not None,
                "approved_by": approval.get("by") if approval else None,
                "approved_at": approval.get("at") if approval else None,
            }
        )
    return out


class SyncRunDetailSerializer(SyncRunSerializer):
    """A run in full: timings, diagnostics (null for a school admin: they name every
    school), how many records it planned to archive (what approving confirms), and
    what it held back: schools whose archives rule T6 held, and updates rule U held."""

    diagnostics = serializers.SerializerMethodField()
    planned_archives_count = serializers.IntegerField(read_only=True)
    held = serializers.SerializerMethodField()
    held_updates = serializers.SerializerMethodField()
    explanation = serializers.SerializerMethodField()

    class Meta(SyncRunSerializer.Meta):
        fields = [
            *SyncRunSerializer.Meta.fields,
            "explanation",
            "timings",
            "diagnostics",
            "planned_archives_count",
            "held",
            "held_updates",
        ]

    @extend_schema_field({"type": "object", "nullable": True})
    def get_diagnostics(self, obj: SyncRun) -> dict | None:
        reach = self.context["request"].reach
        return obj.diagnostics if access.sees_diagnostics(reach, obj.organization_id) else None

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "description": "The failed-run explainer (syncs.explanations), the same one "
            "the sync tab and the admin show: reason, headline, what_happened, evidence, "
            "next_steps, help_url, status_line, and per reason its facts (for threshold: "
            "kinds, by_school, likely_causes, download). Null while the run is queued or "
            "running, and for a school admin (it names every school).",
        }
    )
    def get_explanation(self, obj: SyncRun) -> dict | None:
        if not access.sees_diagnostics(self.context["request"].reach, obj.organization_id):
            return None
        return explain_run(obj)

    @extend_schema_field(HeldSchoolSerializer(many=True))
    def get_held(self, obj: SyncRun) -> list[dict[str, Any]]:
        """Schools whose archives alone were held (T6); a school admin sees only theirs."""
        schools = self.context["request"].reach.schools_in(obj.organization_id)
        return held_schools(obj, frozenset(schools) if schools is not None else None)

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "description": "Rule U: {percent, kinds: {kind: {active, changed, allowed, "
            "samples: [{source_id, school, changes: {field: [before, after]}}]}}, schools: "
            "{sis_id: n}}; null when no update was held, or for a school admin.",
        }
    )
    def get_held_updates(self, obj: SyncRun) -> dict | None:
        reach = self.context["request"].reach
        if not access.sees_diagnostics(reach, obj.organization_id):
            return None
        held = (obj.diagnostics or {}).get("held_updates")
        return held if isinstance(held, dict) else None


class SyncRunRequestedSerializer(SyncRunDetailSerializer):
    existing = serializers.BooleanField(
        read_only=True,
        help_text="True: the config already had this run queued or running (200); "
        "false: it was queued now (202).",
    )

    class Meta(SyncRunDetailSerializer.Meta):
        fields = [*SyncRunDetailSerializer.Meta.fields, "existing"]


class RunRequestSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField(
        default=False, help_text="Check and plan, store the issues and plan, apply nothing."
    )


class UploadSerializer(serializers.Serializer):
    files = serializers.ListField(
        child=serializers.FileField(allow_empty_file=False),
        allow_empty=False,
        min_length=1,
        help_text="One zip of the roster files, or the CSV files themselves (repeat the field).",
    )
    dry_run = serializers.BooleanField(default=False)


class ApproveArchivesSerializer(serializers.Serializer):
    expected_count = serializers.IntegerField(
        min_value=0,
        help_text="How many records the caller reviewed (the planned archives list); "
        "it must equal the run's held archive count (of `school`, when given).",
    )
    school = serializers.CharField(
        required=False,
        max_length=255,
        help_text="A held school's SIS ID: approve only its archives (rule T6). Without "
        "it, every archive still held is approved.",
    )


class ApprovedSerializer(serializers.Serializer):
    archived = serializers.IntegerField(help_text="Records archived now.")
    run = SyncRunDetailSerializer()


class SchoolSummarySerializer(serializers.ModelSerializer):
    issues_url = serializers.SerializerMethodField()
    issues_csv_url = serializers.SerializerMethodField()

    class Meta:
        model = SchoolSummary
        fields = [
            "sis_id",
            "name",
            "status",
            "created",
            "updated",
            "archived",
            "errors",
            "alerts",
            "issues_url",
            "issues_csv_url",
        ]

    def get_issues_url(self, obj: SchoolSummary) -> str:
        return school_issue_links(self.context.get("request"), obj.run_id, obj.sis_id)[0]

    def get_issues_csv_url(self, obj: SchoolSummary) -> str:
        return school_issue_links(self.context.get("request"), obj.run_id, obj.sis_id)[1]


ISSUE_FIELDS = {**ISSUE_COLUMNS, "new": "is_new", "first_seen_at": "first_seen_at"}


class IssueSerializer(serializers.Serializer):
    """An issue as `syncs.selectors.ISSUE_COLUMNS` names it, plus whether it is new since
    the previous applied run and when it was first seen. Reads `.values()` rows."""

    severity = serializers.CharField()
    code = serializers.CharField()
    school = serializers.CharField(source="school_sis_id")
    kind = serializers.CharField(source="record_kind")
    source_id = serializers.CharField()
    name = serializers.CharField()
    field = serializers.CharField()
    value = serializers.CharField()
    file = serializers.CharField()
    line = serializers.IntegerField(allow_null=True)
    message = serializers.CharField()
    hint = serializers.CharField()
    new = serializers.BooleanField(source="is_new")
    first_seen_at = serializers.DateTimeField(allow_null=True)


class PlannedArchiveSerializer(serializers.ModelSerializer):
    class Meta:
        model = PlannedArchive
        fields = ["kind", "source_id", "name", "school_sis_id"]


# ---------------------------------------------------------------- configs


@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]+)?)?$",
        "description": "A wall-clock time in the config's time zone, HH:MM[:SS] (no offset).",
        "example": "23:00",
    }
)
class LocalTimeField(serializers.TimeField):
    """A window bound: local time without an offset, which OpenAPI's `format: time`
    (RFC 3339, offset required) would not describe."""


@extend_schema_field(
    {
        "type": "object",
        "description": "Whether each secret is set. The secrets themselves are write-only.",
        "properties": {name: {"type": "boolean"} for name in SECRET_FIELDS},
    }
)
class CredentialFlagsField(serializers.Field):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value: SyncConfig) -> dict[str, bool]:
        # Read from annotations (the ciphertext is never loaded), else from the instance.
        return {
            name: bool(getattr(value, f"has_{name}", None) or value.__dict__.get(name))
            for name in SECRET_FIELDS
        }


class PercentField(serializers.DecimalField):
    """A percentage as a JSON number, rounded to two decimals (rather than refused for
    having more), 0-100."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            max_digits=5,
            decimal_places=2,
            min_value=Decimal("0"),
            max_value=Decimal("100"),
            coerce_to_string=False,
            rounding=ROUND_HALF_UP,
            **kwargs,
        )

    def validate_precision(self, value: Decimal) -> Decimal:
        if not -1000 < value < 1000:  # before rounding, which needs it to fit
            self.fail("max_value" if value > 0 else "min_value", max_value=100, min_value=0)
        return value


class SyncConfigSerializer(serializers.ModelSerializer):
    deletion_threshold = PercentField(read_only=True)
    school_threshold = PercentField(read_only=True, allow_null=True)
    update_threshold = PercentField(read_only=True, allow_null=True)
    drop_alert_percent = PercentField(read_only=True)
    window_start = LocalTimeField()
    window_end = LocalTimeField()
    credentials = CredentialFlagsField()
    preflight = serializers.SerializerMethodField()
    health = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    class Meta:
        model = SyncConfig
        fields = [
            "id",
            "organization",
            "name",
            "source_kind",
            "format",
            "enabled",
            "deletion_threshold",
            "school_threshold",
            "update_threshold",
            "drop_alert_percent",
            "window_start",
            "window_end",
            "time_zone",
            "school_ids",
            "sftp_host",
            "sftp_port",
            "sftp_username",
            "sftp_remote_dir",
            "sftp_host_key",
            "api_url",
            "oauth_version",
            "oauth_signature",
            "oauth_client_id",
            "oauth_token_url",
            "credentials",
            "preflight",
            "health",
            "created_at",
            "links",
        ]

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "checked_at": {"type": "string", "format": "date-time", "nullable": True},
                "ok": {"type": "boolean", "nullable": True},
                "message": {"type": "string"},
            },
        }
    )
    @extend_schema_field(HealthSerializer)
    def get_health(self, obj: SyncConfig) -> dict:
        """Stale (no success for stale_after_hours), paused, disabled or ok."""
        return health_representation(config_health(obj, timezone.now()))

    def get_preflight(self, obj: SyncConfig) -> dict:
        return {
            "checked_at": serializers.DateTimeField().to_representation(obj.preflight_checked_at)
            if obj.preflight_checked_at
            else None,
            "ok": obj.preflight_ok,
            "message": obj.preflight_message,
        }

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                k: {"type": "string", "format": "uri"} for k in ("self", "runs", "uploads")
            },
        }
    )
    def get_links(self, obj: SyncConfig) -> dict[str, str]:
        return {
            "self": _url(self, "syncconfig-detail", pk=obj.pk),
            "runs": _url(self, "syncconfig-runs", pk=obj.pk),
            "uploads": _url(self, "syncconfig-uploads", pk=obj.pk),
        }


class SchoolIdField(serializers.RegexField):
    """A school ID as the SIS writes it: text, never a number (0123 is not 123)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(r"\S", max_length=255, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError(
                'School IDs are text, exactly as the SIS writes them: "0123", not 123.'
            )
        return super().to_internal_value(data)


class SyncConfigPatchSerializer(serializers.ModelSerializer):
    """The fields a PATCH may set (which of them the caller may set is syncs.access's
    `config_fields_allowed`). A secret set to "" removes it."""

    deletion_threshold = PercentField(
        required=False,
        help_text="Most a run may archive, as a percentage of each kind's active records "
        "(10-20 during the school year, 50-60 at back-to-school).",
    )
    school_threshold = PercentField(
        required=False,
        allow_null=True,
        help_text="Most a run may archive at one school, as a percentage of each kind's "
        "active records there; null: the deletion threshold. A school over its limit has "
        "its archives held alone while the rest of the district syncs.",
    )
    update_threshold = PercentField(
        required=False,
        allow_null=True,
        help_text="Hold a kind's updates when more than this percentage of its active "
        "records would change a name, email, phone or birth date in one run (75 is "
        "Clever's figure); null: off.",
    )
    drop_alert_percent = PercentField(
        required=False,
        help_text="Alert when a school's active count of a kind falls more than this "
        "percentage below the median of its last 7 applied runs (default 20).",
    )
    window_start = LocalTimeField(required=False)
    window_end = LocalTimeField(required=False)
    time_zone = serializers.ChoiceField(
        choices=sorted(available_timezones()),
        required=False,
        help_text="An IANA time zone name, e.g. America/Los_Angeles.",
    )
    school_ids = serializers.ListField(
        child=SchoolIdField(),
        required=False,
        help_text="SIS school IDs exactly as the SIS writes them (text: 0123 is not 123); "
        "empty means every school in the files.",
    )

    class Meta:
        model = SyncConfig
        fields = [
            "name",
            "source_kind",
            "format",
            "enabled",
            "deletion_threshold",
            "school_threshold",
            "update_threshold",
            "drop_alert_percent",
            "window_start",
            "window_end",
            "time_zone",
            "school_ids",
            "sftp_host",
            "sftp_port",
            "sftp_username",
            "sftp_remote_dir",
            "sftp_host_key",
            "api_url",
            "oauth_version",
            "oauth_signature",
            "oauth_client_id",
            "oauth_token_url",
            *SECRET_FIELDS,
        ]
        extra_kwargs = {
            name: {"write_only": True, "trim_whitespace": False} for name in SECRET_FIELDS
        }
        # The model's full_clean (in the service) checks uniqueness and the rest.
        validators: list = []

    def validate_sftp_private_key(self, value: str) -> str:
        from syncs.clients.sshkeys import load_private_key

        text = value.strip()
        if text:
            try:
                load_private_key(text)
            except SyncFailure as exc:
                raise serializers.ValidationError(exc.message) from exc
        return text


# ---------------------------------------------------------------- the sync tab


class RunBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    failure_reason = serializers.CharField(allow_null=True)
    dry_run = serializers.BooleanField()
    finished_at = serializers.DateTimeField(allow_null=True)


class ActiveRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    stage = serializers.CharField()
    percent = serializers.IntegerField()


class SyncTabConfigSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    source_kind = serializers.CharField()
    enabled = serializers.BooleanField()
    last_run = RunBriefSerializer(allow_null=True)
    next_run_at = serializers.DateTimeField(allow_null=True)
    active_run = ActiveRunSerializer(allow_null=True)


class SyncTabSchoolSerializer(serializers.Serializer):
    sis_id = serializers.CharField()
    name = serializers.CharField()
    status = serializers.CharField(allow_null=True, help_text="Of the latest real run.")
    run = serializers.IntegerField(allow_null=True, help_text="That run's id.")
    last_success_at = serializers.DateTimeField(allow_null=True)
    errors = serializers.IntegerField()
    alerts = serializers.IntegerField()
    new_errors = serializers.IntegerField()
    new_alerts = serializers.IntegerField()
    errors_by_code = serializers.DictField(child=serializers.IntegerField())
    alerts_by_code = serializers.DictField(child=serializers.IntegerField())
    issues_url = serializers.URLField(allow_null=True)
    issues_csv_url = serializers.URLField(allow_null=True)


class SyncTabSerializer(serializers.Serializer):
    organization = OrganizationSerializer()
    configs = SyncTabConfigSerializer(many=True)
    schools = SyncTabSchoolSerializer(many=True)


# ---------------------------------------------------------------- tokens


class LoginSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(trim_whitespace=False, write_only=True)
    name = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    read_only = serializers.BooleanField(default=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Shown once: send it as `Authorization: Bearer …`.")
    expiry = serializers.DateTimeField()
    name = serializers.CharField()
    read_only = serializers.BooleanField()
