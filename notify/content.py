"""What an event says: its data (shared by emails and webhook bodies) and its emails.

Every text taken from a run (its message, the explanation's headline and next steps) is
masked first: the config's secrets, and anything shaped like a credential, never reach
an email, a webhook body or the notification log.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings

from notify.models import Event, EventKind, Notification
from syncs.fields import FieldKeyMismatch
from syncs.models import FailureReason, SyncConfig, SyncRun

logger = logging.getLogger(__name__)

SECRET_FIELDS = ("sftp_password", "sftp_private_key", "api_token", "oauth_client_secret")
MASK = "••••"

# The next step per failure reason, when the explainer has none.
NEXT_STEPS = {
    FailureReason.THRESHOLD: "Review the records it would archive; approve them once if the "
    "drop is real, or fix the export if a school or file is missing.",
    FailureReason.CREDENTIALS: "Check the token, client ID and secret, or the SFTP login, "
    "with the district, and have support enter them again.",
    FailureReason.SCHOOLS_NOT_FOUND: "Check the school IDs in the sync config against the "
    "files, leading zeros included.",
    FailureReason.INVALID_FILES: "Export the files again as UTF-8 CSV with every required "
    "file and header, and send the complete set.",
    FailureReason.SOURCE_UNAVAILABLE: "Check that the source server is up and reachable; "
    "the next run retries by itself.",
    FailureReason.INTERNAL_ERROR: "Run the sync again; if it fails the same way, contact support.",
}


def base_url() -> str:
    return str(getattr(settings, "ROLLCALL_BASE_URL", "http://127.0.0.1:8000")).rstrip("/")


def run_url(run_id: int) -> str:
    return f"{base_url()}/runs/{run_id}/"


# ---------------------------------------------------------------- masking


def config_secrets(config: SyncConfig) -> list[str]:
    """The config's secrets as they must never be shown (and each line of a key)."""
    values: list[str] = []
    for name in SECRET_FIELDS:
        try:
            value = getattr(config, name) or ""
        except FieldKeyMismatch:
            continue  # not decryptable here, so not something this process can leak
        if value:
            values.append(value)
            values.extend(line.strip() for line in value.splitlines() if len(line.strip()) >= 16)
    return sorted({v for v in values if len(v) >= 4}, key=len, reverse=True)


def mask(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, MASK)
    text = re.sub(r"(?i)(bearer\s+)[^\s\"',;]+", rf"\1{MASK}", text)
    return re.sub(
        r"(?i)\b(token|password|passwd|secret|client_secret|access_token|api_key)=([^&\s\"']+)",
        rf"\1={MASK}",
        text,
    )


# ---------------------------------------------------------------- event data


def _stamp(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _place(config: SyncConfig) -> dict[str, Any]:
    return {
        "organization": {"id": config.organization_id, "name": config.organization.name},
        "config": {"id": config.pk, "name": config.name},
    }


def _explanation(run: SyncRun) -> dict[str, Any]:
    """The explainer's headline and next steps, when the explainer is installed."""
    try:
        from syncs.explanations import explain_run
    except ImportError:
        return {}
    try:
        return explain_run(run) or {}
    except Exception:  # noqa: BLE001 - a notification goes out even if the explainer breaks
        logger.exception("Run %s: no explanation for its notification", run.pk)
        return {}


def run_data(
    run: SyncRun, *, summary: str = "", schools: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    """A finished run as an event's data: where, what, why, the next step and a link."""
    config = run.config
    secrets = config_secrets(config)
    explanation = _explanation(run) if run.status == "failed" else {}
    reason = run.failure_reason or ""
    reason_label = FailureReason(reason).label if reason in FailureReason.values else ""
    summary = summary or explanation.get("headline") or reason_label or run.get_status_display()
    steps = [str(s) for s in explanation.get("next_steps") or []]
    if not steps and reason in NEXT_STEPS:
        steps = [NEXT_STEPS[FailureReason(reason)]]
    data: dict[str, Any] = {
        **_place(config),
        "run": {
            "id": run.pk,
            "status": run.status,
            "failure_reason": reason or None,
            "failure_label": reason_label or None,
            "trigger": run.trigger,
            "dry_run": run.dry_run,
            "started_at": _stamp(run.started_at),
            "finished_at": _stamp(run.finished_at),
            "message": mask(run.message or "", secrets),
            "url": run_url(run.pk),
        },
        "summary": mask(str(summary), secrets),
        "next_steps": [mask(s, secrets) for s in steps],
    }
    if schools is not None:
        data["schools"] = [{k: mask(v, secrets) for k, v in s.items()} for s in schools]
    return data


def stale_data(
    config: SyncConfig, health: dict[str, Any], last_run_id: int | None
) -> dict[str, Any]:
    return {
        **_place(config),
        "last_success_at": _stamp(health["last_success_at"]),
        "stale_since": _stamp(health["since"]),
        "hours_silent": health["hours_silent"],
        "stale_after_hours": health["stale_after_hours"],
        "summary": f"No successful sync for {health['hours_silent']:g} hours "
        f"(stale after {health['stale_after_hours']}).",
        "next_steps": [
            "Check that the source still delivers (files arriving, credentials valid) and "
            "that the worker is running; if the district is on a break, pause the config."
        ],
        "url": run_url(last_run_id) if last_run_id else base_url() + "/",
    }


# ---------------------------------------------------------------- emails


def _where(data: dict[str, Any]) -> str:
    return f"{data['organization']['name']} · {data['config']['name']}"


def subject_of(event: Event, *, reminder: bool = False) -> str:
    data = event.data
    if event.kind == EventKind.SYNC_STALE:
        what = f"no successful sync for {data['hours_silent']:g} hours"
    elif event.kind == EventKind.RUN_HELD:
        what = "sync held back archives or updates"
    elif event.kind == EventKind.SCHOOL_DROP:
        what = "a school's roster dropped sharply"
    else:
        what = f"sync failed ({data['run'].get('failure_label') or 'failed'})"
    prefix = "Reminder, still happening: " if reminder else ""
    return f"[Rollcall] {prefix}{_where(data)}: {what}"


def event_text(event: Event) -> str:
    """The event's part of an email: what happened, why, the next step, the link."""
    data = event.data
    run = data.get("run") or {}
    title = event.get_kind_display()
    if run.get("failure_label"):
        title = f"{title}: {run['failure_label']}"
    lines = [f"{_where(data)} — {title}", "", data.get("summary", "")]
    if run.get("message") and run["message"] != data.get("summary"):
        lines += ["", run["message"]]
    for school in data.get("schools") or []:
        lines.append(f"- {school.get('name') or school.get('sis_id')}: {school.get('message')}")
    if data.get("next_steps"):
        lines += ["", "Next steps:"] + [f"- {step}" for step in data["next_steps"]]
    link = run.get("url") or data.get("url")
    if link:
        lines += ["", f"Details: {link}"]
    return "\n".join(lines).strip() + "\n"


def footer(organization_ids: Iterable[int]) -> str:
    links = "\n".join(
        f"{base_url()}/api/v1/organizations/{org}/notification-preference/"
        for org in sorted(set(organization_ids))
    )
    return (
        "\n--\nYou get this as a district admin of the organization, or because you watch "
        "it. Choose immediately, a daily digest or off per organization:\n" + links + "\n"
    )


def immediate_email(notification: Notification) -> tuple[str, str]:
    event = notification.event
    body = event_text(event) + footer([notification.organization_id])
    return subject_of(event, reminder=notification.reminder), body


def digest_email(notifications: list[Notification]) -> tuple[str, str]:
    count = len(notifications)
    subject = f"[Rollcall] Daily digest: {count} notification{'s' if count != 1 else ''}"
    parts = []
    for n in notifications:
        head = "(reminder) " if n.reminder else ""
        parts.append(f"{head}{n.event.created_at:%Y-%m-%d %H:%M} UTC\n{event_text(n.event)}")
    body = "\n\n".join(parts) + footer(n.organization_id for n in notifications)
    return subject, body
