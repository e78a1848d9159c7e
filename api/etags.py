"""ETags for runs: cheap polling. A client that sends back a run's ETag in If-None-Match
gets 304 (no body) until something it would see changes, answered from one small query
of the fields that change while a run goes on (see `run_version`)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from django.utils.http import parse_etags

# Bump when a run's representation changes shape, so clients refetch after a release.
REPRESENTATION = "run-v1"
# Everything that changes while a run goes on and when it ends: status, stage and
# progress move, the heartbeat beats, the end writes finished_at, failure_reason (and
# counts, message, diagnostics with them), approving archives writes archives_approved_at.
VERSION_FIELDS = (
    "status",
    "stage",
    "progress_done",
    "progress_total",
    "heartbeat_at",
    "finished_at",
    "failure_reason",
    "archives_approved_at",
)


def run_etag(run_id: int, version: Iterable[object], *, diagnostics: bool) -> str:
    """A strong ETag for what one caller sees of a run: its version fields, and whether
    the caller sees diagnostics (a school admin and a district admin see different
    bodies at the same URL)."""
    raw = "|".join([REPRESENTATION, str(run_id), *map(str, version), "d" if diagnostics else "-"])
    return '"' + hashlib.sha256(raw.encode()).hexdigest()[:32] + '"'


def etag_of(run) -> tuple[object, ...]:
    return tuple(getattr(run, name) for name in VERSION_FIELDS)


def matches(if_none_match: str, etag: str) -> bool:
    """If-None-Match compares weakly (RFC 9110 §13.1.2): W/"x" matches "x"; * matches."""
    tags = parse_etags(if_none_match)
    if "*" in tags:
        return True
    bare = etag.removeprefix("W/")
    return any(tag.removeprefix("W/") == bare for tag in tags)
