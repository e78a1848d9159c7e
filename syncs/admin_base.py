"""What the support console's admin modules share: the permission question, read-only
admins, times with their time zone, messages with their `code` shown as code, small
tables and CSV downloads.

HTML is built with format_html only: every value from a run, a file or a person is
escaped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib import admin
from django.http import StreamingHttpResponse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from syncs import access
from syncs.access import Action
from syncs.exports import csv_lines
from syncs.stage_weights import STAGE_WEIGHTS

DASH = "—"
# A config's secrets: never loaded where a page only needs the config's name or zone.
SECRET_FIELDS = ("sftp_password", "sftp_private_key", "api_token", "oauth_client_secret")


def may(request, action: Action) -> bool:
    """Every admin permission beyond Django's add/change/delete/view, asked of
    syncs.access (the one permission model): the admin is staff only, so it is staff's
    rule, the same in every organization."""
    return access.staff_allowed(access.reach(request.user), action)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Runs and what they found are records of what happened: nobody edits them."""

    show_full_result_count = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def when(value: datetime | None, zone: str = "UTC") -> str:
    """`2026-11-23 19:00 PST`: to the minute, in the district's time zone, which it
    names (support reads times from several districts side by side)."""
    if value is None:
        return DASH
    try:
        tz = ZoneInfo(zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


_CODE = re.compile(r"`([^`\n]+)`")


def code_spans(text: object) -> SafeString:
    """A message as HTML: its `quoted` parts (headers, file names, IDs) as <code>,
    everything escaped. A lone backtick stays as it is."""
    text = "" if text is None else str(text)
    parts, last = [], 0
    for match in _CODE.finditer(text):
        parts.append(format_html("{}<code>{}</code>", text[last : match.start()], match[1]))
        last = match.end()
    parts.append(format_html("{}", text[last:]))
    return mark_safe("".join(parts))  # every part went through format_html


def table(header: Iterable[object], rows: Iterable[Iterable[object]], *, caption: str = ""):
    """A small HTML table; cells are escaped unless they are already safe HTML."""
    head = format_html_join("", '<th scope="col">{}</th>', ((h,) for h in header))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),) for row in rows),
    )
    cap = format_html("<caption>{}</caption>", caption) if caption else ""
    return format_html(
        "<table>{}<thead><tr>{}</tr></thead><tbody>{}</tbody></table>", cap, head, body
    )


def timing_rows(timings: dict | None) -> list[tuple[str, str]]:
    """(stage, seconds) in the order a run goes through its stages, a stage's parts
    ("apply.people") right under it, anything unknown last."""
    timings = timings if isinstance(timings, dict) else {}
    order = list(STAGE_WEIGHTS)

    def key(name: str):
        stage, _, part = name.partition(".")
        known = order.index(stage) if stage in order else len(order)
        return (known, stage, part != "", name)

    rows = []
    for name in sorted(timings, key=key):
        value = timings[name]
        stage, _, part = name.partition(".")
        label = f"{stage} › {part}" if part else stage
        seconds = f"{value:,.3f}" if isinstance(value, int | float) else str(value)
        rows.append((label, seconds))
    return rows


def filename_part(value: object) -> str:
    """A value as it may appear in a download's file name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(value)).strip("._-")[:40] or "_"


def csv_response(header: list[str], rows: Iterable[Iterable[object]], filename: str):
    """A formula-safe CSV (syncs.exports), streamed row by row as an attachment."""
    response = StreamingHttpResponse(
        csv_lines(header, rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
