"""Status lines on the pages: a run that skipped records never reads as a plain success."""

from __future__ import annotations

from datetime import UTC, datetime

from web import texts


def test_a_run_that_skipped_records_says_so():
    assert texts.status_line(status="succeeded", skipped=3) == "Synced with 3 records skipped"
    assert texts.status_line(status="succeeded", skipped=1) == "Synced with 1 record skipped"
    assert texts.status_line(status="succeeded", skipped=0) == "Synced"
    assert (
        texts.status_line(status="succeeded", skipped=5, dry_run=True)
        == "Dry run passed with 5 records to skip"
    )
    # Without a recorded total, from the counts.
    counts = {"students": {"quarantined": 2}, "classes": {"quarantined": 1}}
    assert texts.status_line(status="succeeded", counts=counts) == "Synced with 3 records skipped"


def test_failures_and_approvals():
    assert (
        texts.status_line(status="failed", failure_reason="threshold")
        == "Failed: deletion threshold exceeded"
    )
    line = texts.status_line(
        status="failed",
        failure_reason="threshold",
        counts={"students": {"archived": 12}},
        approved_by="Ana Ruiz",
        approved_at=datetime(2026, 11, 24, 17, 12, tzinfo=UTC),
        time_zone="America/Los_Angeles",
    )
    assert line == "Approved by Ana Ruiz at 2026-11-24 09:12 PST: 12 archived"
    assert texts.status_line(status="queued") == "Queued"
