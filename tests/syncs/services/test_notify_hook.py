"""A run's outcome hands the run to notify (emails, webhooks) once it is committed, by
task name: the engine never imports notify. Internal failures (the reaper, Ctrl-C)
notify too."""

from __future__ import annotations

import pytest

from syncs.models import RunStatus
from syncs.services import sync_run_create
from syncs.services.runs import fail_internal

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch):
    calls = []
    monkeypatch.setattr(
        "django_q.tasks.async_task", lambda func, *args, **kw: calls.append((func, args))
    )
    return calls


def test_a_finished_run_is_handed_to_notify_after_commit(
    sync, district, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = sync(district)
    assert ("notify.tasks.run_finished", (run.pk,)) in queued


def test_a_run_failed_by_the_reaper_is_handed_to_notify(
    config, queued, django_capture_on_commit_callbacks
):
    run = sync_run_create(config=config)
    with django_capture_on_commit_callbacks(execute=True):
        fail_internal(type(run).objects.filter(pk=run.pk), message="reaped")
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert queued == [("notify.tasks.run_finished", (run.pk,))]


def test_the_skipped_message_counts_records_like_the_quarantined_counts(sync, district):
    district.student("s9", "0123", dob="")  # no birth date: one student skipped
    run = sync(district)
    quarantined = sum(c.get("quarantined", 0) for c in run.counts.values())
    assert quarantined >= 1
    assert f"{quarantined} record(s) with errors were skipped." in run.message
