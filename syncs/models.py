"""The sync engine's records: what to sync (SyncConfig), each run, and what it found."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from syncs.fields import EncryptedTextField


class SourceKind(models.TextChoices):
    LOCAL_FILES = "local_files", "Files in a local folder or zip"
    UPLOAD = "upload", "Uploaded files"
    SFTP = "sftp", "SFTP server"
    CLEVER_API = "clever_api", "Clever API v3.0"
    ONEROSTER_API = "oneroster_api", "OneRoster REST API (ClassLink and others)"


class RosterFormat(models.TextChoices):
    AUTO = "auto", "Detect from the files"
    ONEROSTER_1_1_CSV = "oneroster_1_1_csv", "OneRoster 1.1 CSV"
    ONEROSTER_1_2_CSV = "oneroster_1_2_csv", "OneRoster 1.2 CSV"
    CLEVER_CSV = "clever_csv", "Clever SFTP CSV"
    # Written by the API sources (pages saved as JSON), never detected from files.
    CLEVER_API_JSON = "clever_api_json", "Clever API v3.0 (JSON pages)"
    ONEROSTER_JSON = "oneroster_json", "OneRoster REST (JSON pages)"


def default_window_start():
    from datetime import time

    return time(23, 0)


def default_window_end():
    from datetime import time

    return time(5, 0)


def validate_school_ids(value) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValidationError(
            'Enter a list of school IDs as text, exactly as the SIS writes them: ["0123", "0456"].'
        )


class SyncConfig(models.Model):
    """Where an organization's roster comes from, which schools to keep, and when to sync."""

    organization = models.ForeignKey(
        "rostering.Organization", on_delete=models.PROTECT, related_name="sync_configs"
    )
    name = models.CharField(max_length=200)
    source_kind = models.CharField(max_length=32, choices=SourceKind.choices)
    format = models.CharField(
        max_length=32,
        choices=RosterFormat.choices,
        default=RosterFormat.AUTO,
        help_text="Leave on 'Detect' unless detection picks the wrong format.",
    )
    path = models.CharField(
        max_length=1024,
        blank=True,
        help_text="Folder or zip (local files), or where the last upload was kept.",
    )
    # SFTP pickup. The password and key are secrets: write-only in the admin, never in
    # logs, reports or JSON output.
    sftp_host = models.CharField(max_length=255, blank=True)
    sftp_port = models.PositiveIntegerField(default=22)
    sftp_username = models.CharField(max_length=255, blank=True)
    sftp_password = EncryptedTextField(blank=True)
    sftp_private_key = EncryptedTextField(blank=True, help_text="PEM/OpenSSH private key text.")
    sftp_remote_dir = models.CharField(max_length=1024, blank=True, default=".")
    # API sources (Clever, OneRoster REST). The token and client secret are secrets.
    api_url = models.CharField(
        max_length=1024,
        blank=True,
        help_text="Base URL: https://api.clever.com for Clever; the OneRoster server's "
        "base (…/ims/oneroster/v1p1 is added) for OneRoster REST.",
    )
    api_token = EncryptedTextField(blank=True, help_text="Clever district token (bearer).")
    oauth_version = models.CharField(
        max_length=4,
        blank=True,
        default="1",
        choices=[("1", "OAuth 1.0a"), ("2", "OAuth 2.0 client credentials")],
    )
    oauth_signature = models.CharField(
        max_length=16,
        blank=True,
        default="HMAC-SHA256",
        choices=[("HMAC-SHA256", "HMAC-SHA256"), ("HMAC-SHA1", "HMAC-SHA1")],
    )
    oauth_client_id = models.CharField(max_length=255, blank=True)
    oauth_client_secret = EncryptedTextField(blank=True)
    oauth_token_url = models.CharField(
        max_length=1024, blank=True, help_text="OAuth 2 token endpoint (defaults to {base}/token)."
    )
    sftp_host_key = models.CharField(
        max_length=255,
        blank=True,
        help_text="Pinned SHA256 fingerprint of the server's host key "
        "(SHA256:...). Recorded by the first successful connection test when empty.",
    )
    school_ids = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_school_ids],
        help_text="SIS school IDs to sync, exactly as the SIS writes them. "
        "Empty means every school in the files.",
    )
    deletion_threshold = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("10"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="Most a run may archive, as a percentage of each kind's active "
        "records. 10–20 during the school year, 50–60 at back-to-school.",
    )
    school_threshold = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="Most a run may archive at one school, as a percentage of each kind's "
        "active records there. Empty: the deletion threshold. A school over its limit has "
        "its archives held alone while the rest of the district syncs.",
    )
    update_threshold = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="Hold a kind's updates when more than this percentage of its active "
        "records would change a name, email, phone or birth date in one run (75 is "
        "Clever's figure). Empty: off.",
    )
    drop_alert_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("20"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="Alert when a school's active students, teachers, parents or classes "
        "fall more than this percentage below the median of its last 7 applied runs "
        "(a fall of more than 90% always alerts).",
    )
    window_start = models.TimeField(default=default_window_start)
    window_end = models.TimeField(default=default_window_end)
    time_zone = models.CharField(max_length=64, default="America/Los_Angeles")
    enabled = models.BooleanField(
        default=True, help_text="Disabled configs are never queued by the nightly schedule."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The pre-flight check a few hours before the window (syncs.services.nightly):
    # credentials and school IDs, so support can fix them before the night's run fails.
    preflight_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    preflight_ok = models.BooleanField(null=True, editable=False)
    preflight_message = models.TextField(blank=True, editable=False)

    class Meta:
        ordering = ["organization", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="syncs_syncconfig_unique_name"
            )
        ]
        # Support staff act through these (syncs.access); district admins through their
        # Membership. view_/change_syncconfig stay Django's own.
        permissions = [
            ("run_sync", "Can queue a sync or dry run, or upload files to sync"),
            ("test_connection", "Can test a sync config's connection"),
            ("manage_credentials", "Can set a sync config's source and credentials"),
        ]

    def __str__(self) -> str:
        return f"{self.organization} · {self.name}"

    def clean(self) -> None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        if self.window_start is not None and self.window_start == self.window_end:
            raise ValidationError(
                {"window_end": "The window must end at a different time than it starts."}
            )
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError(
                {
                    "time_zone": f"{self.time_zone!r} is not a time zone name such as "
                    "America/Los_Angeles or America/New_York."
                }
            ) from None


class Trigger(models.TextChoices):
    MANUAL = "manual", "Manual"
    SCHEDULED = "scheduled", "Scheduled"
    API = "api", "API"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class FailureReason(models.TextChoices):
    THRESHOLD = "threshold", "Deletion threshold exceeded"
    CREDENTIALS = "credentials", "Credentials rejected"
    SCHOOLS_NOT_FOUND = "schools_not_found", "Schools to sync not found"
    INVALID_FILES = "invalid_files", "Invalid files"
    SOURCE_UNAVAILABLE = "source_unavailable", "Source unavailable"
    INTERNAL_ERROR = "internal_error", "Internal error"


class Stage(models.TextChoices):
    QUEUED = "queued", "Queued"
    FETCH = "fetch", "Fetching"
    PARSE = "parse", "Parsing"
    SCOPE = "scope", "Scoping schools"
    VALIDATE = "validate", "Validating"
    DEVICES = "devices", "Assigning devices"
    PLAN = "plan", "Planning"
    GUARD = "guard", "Checking the deletion threshold"
    APPLY = "apply", "Applying"
    REPORT = "report", "Reporting"
    DONE = "done", "Done"


class SyncRun(models.Model):
    """One execution of a SyncConfig: the job record, its outcome and its figures."""

    config = models.ForeignKey("syncs.SyncConfig", on_delete=models.CASCADE, related_name="runs")
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.MANUAL)
    dry_run = models.BooleanField(default=False)
    upload_path = models.CharField(
        max_length=1024,
        blank=True,
        help_text="Files uploaded for this run; they replace the config's source once.",
    )
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    failure_reason = models.CharField(max_length=32, choices=FailureReason.choices, blank=True)
    message = models.TextField(blank=True, help_text="One-paragraph outcome.")
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.QUEUED)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # The night (local date the window opens) a scheduled run was queued for: a config
    # gets one scheduled run per night, however often the dispatcher looks.
    scheduled_for = models.DateField(null=True, blank=True)
    task_id = models.CharField(max_length=64, blank=True, help_text="django-q2 task id.")
    worker = models.CharField(
        max_length=255, blank=True, help_text="host:pid of the process that ran it."
    )
    timings = models.JSONField(default=dict, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    diagnostics = models.JSONField(default=dict, blank=True)
    archives_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    archives_approved_at = models.DateTimeField(null=True, blank=True)
    # The run's place on its config's applied track (1, 2, 3, ...): set when a run that
    # applied its plan (succeeded, or failed `threshold`) records its outcome; empty for
    # dry runs and other failures. Issue spans are numbered by it (see Issue).
    issue_seq = models.PositiveIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["config", "-created_at"])]
        permissions = [("approve_archives", "Can approve a run's blocked archives (rule T5)")]
        constraints = [
            models.UniqueConstraint(
                fields=["config", "issue_seq"],
                condition=models.Q(issue_seq__isnull=False),
                name="syncs_syncrun_unique_issue_seq",
            ),
            # One queued or running run per config: a second request gets this one
            # (syncs.services.queue). The database enforces it, so racing requests
            # from any number of web or worker processes cannot start two.
            models.UniqueConstraint(
                fields=["config"],
                condition=models.Q(status__in=["queued", "running"]),
                name="syncs_syncrun_one_active_per_config",
            ),
            models.UniqueConstraint(
                fields=["config", "scheduled_for"],
                condition=models.Q(scheduled_for__isnull=False),
                name="syncs_syncrun_one_scheduled_per_night",
            ),
        ]

    def __str__(self) -> str:
        kind = "dry run" if self.dry_run else "run"
        return f"{self.config} · {kind} #{self.pk} · {self.status}"

    @property
    def is_active(self) -> bool:
        return self.status in (RunStatus.QUEUED, RunStatus.RUNNING)

    @property
    def percent(self) -> int:
        """Overall progress, 0-100, rising through the stages."""
        from syncs.stage_weights import percent

        finished = self.status in (RunStatus.SUCCEEDED, RunStatus.FAILED)
        return percent(self.stage, self.progress_done, self.progress_total, finished)

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class SchoolSummary(models.Model):
    """A run's outcome for one school, as the sync tab shows it."""

    run = models.ForeignKey(
        "syncs.SyncRun", on_delete=models.CASCADE, related_name="school_summaries"
    )
    school = models.ForeignKey(
        "rostering.School",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="summaries",
        help_text="Empty for a school a dry run would create.",
    )
    sis_id = models.CharField(max_length=255)
    name = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=RunStatus.choices)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    archived = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    alerts = models.PositiveIntegerField(default=0)
    # Active people and classes per kind at the school once the run (and any approval of
    # its held archives) applied: {"students": 812, ...}. The sharp-drop watch takes the
    # median over the last applied runs. Empty for rows from before it was recorded.
    active = models.JSONField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "school summaries"
        ordering = ["run", "sis_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "sis_id"], name="syncs_schoolsummary_unique_school"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name or self.sis_id} · run #{self.run_id}"


class Severity(models.TextChoices):
    ERROR = "error", "Error"
    ALERT = "alert", "Alert"


class RecordKind(models.TextChoices):
    FILE = "file", "File"
    SCHOOL = "school", "School"
    PERSON = "person", "Person"
    CLASS = "class", "Class"
    ENROLLMENT = "enrollment", "Enrollment"
    GUARDIANSHIP = "guardianship", "Guardianship"


class Issue(models.Model):
    """Something wrong with one record (or file), and how to fix it in the SIS.

    Runs on a config's applied track (`SyncRun.issue_seq`) share rows: a row is a span,
    the track runs `first_seq`..`last_seq` that found this issue with this exact content.
    A span still found by the latest applied run is open (`last_seq` empty), so a night
    that finds what the night before found writes nothing; a span is closed by the first
    run that no longer finds it. Any other run (a dry run, a run that failed before
    applying) keeps rows of its own, with no span. Read a run's issues through
    `syncs.selectors.run_issue_queryset`, never through `run`.
    """

    config = models.ForeignKey("syncs.SyncConfig", on_delete=models.CASCADE, related_name="+")
    # The run that stored the row (a span's first run). A span outlives that run when
    # history is pruned (syncs.services.history): it still covers later runs.
    run = models.ForeignKey(
        "syncs.SyncRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    first_seq = models.PositiveIntegerField(null=True, blank=True)
    last_seq = models.PositiveIntegerField(null=True, blank=True)
    # sha1 of what the issue is (record kind, source ID, code, field) and of what it says
    # (the other columns): a run keeps the open span with its finding's digest open.
    digest = models.CharField(max_length=40, blank=True)
    # When this record first had this issue, without a break on the applied track.
    first_seen_at = models.DateTimeField()
    # The issue (its identity) was not among the previous applied run's when the row
    # was stored; for a span, "new" only for the run that started it.
    new_at_start = models.BooleanField(default=False)
    school = models.ForeignKey(
        "rostering.School",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    school_sis_id = models.CharField(max_length=255, blank=True)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    code = models.CharField(max_length=40)
    record_kind = models.CharField(max_length=16, choices=RecordKind.choices)
    source_id = models.CharField(max_length=255, blank=True)
    name = models.CharField(max_length=512, blank=True)
    field = models.CharField(max_length=64, blank=True)
    value = models.CharField(max_length=512, blank=True)
    file = models.CharField(max_length=255, blank=True)
    line = models.PositiveIntegerField(null=True, blank=True)
    message = models.TextField()
    hint = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["run", "school", "severity", "code"]),
            # A track run's issues, and the open spans the next applied run meets.
            models.Index(fields=["config", "last_seq", "first_seq"]),
        ]

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class PlannedArchive(models.Model):
    """A record a run meant to archive; kept so a blocked archive can be reviewed and
    approved once (rule T5), and so a dry run shows exactly who would leave."""

    run = models.ForeignKey(
        "syncs.SyncRun", on_delete=models.CASCADE, related_name="planned_archives"
    )
    kind = models.CharField(max_length=16)
    record_id = models.BigIntegerField()
    source_id = models.CharField(max_length=255)
    name = models.CharField(max_length=512, blank=True)
    school_sis_id = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["run", "kind", "source_id"]
        indexes = [models.Index(fields=["run", "kind"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.source_id}"
