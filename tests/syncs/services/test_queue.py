"""Queued runs (issue #6, DESIGN §6): one active run per config, enqueued after commit,
reaped when their worker stops. The real worker process is in test_worker_process.py."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from rostering.models import Person
from syncs import progress
from syncs.models import SchoolSummary, SyncRun
from syncs.services import sync_run_request, sync_runs_reap
from syncs.tasks import reap_stale_runs, run_sync
from tests.helpers import snapshot


@pytest.fixture
def request_run(django_capture_on_commit_callbacks):
    """Request a run and let the (inline, in tests) worker execute what was queued."""

    def request(config, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            run, created = sync_run_request(config=config, **kwargs)
        run.refresh_from_db()
        return run, created

    return request


@pytest.mark.django_db
def test_a_run_is_handed_to_the_worker_only_when_its_transaction_commits(
    config, district, tmp_path, django_capture_on_commit_callbacks
):
    district.write(tmp_path / "roster")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run, created = sync_run_request(config=config)
    assert created and run.status == "queued" and len(callbacks) == 1
    callbacks[0]()  # the commit: the (inline) worker runs it and records its task id
    run.refresh_from_db()
    assert run.status == "succeeded" and run.task_id
    assert run.worker  # host:pid of the process that ran it


@pytest.mark.django_db
def test_a_second_request_while_one_is_queued_or_running_returns_that_run(config):
    first, created = sync_run_request(config=config)
    assert created
    again, created_again = sync_run_request(config=config, dry_run=True)
    assert (again.pk, created_again) == (first.pk, False)
    SyncRun.objects.filter(pk=first.pk).update(status="running")
    again, created_again = sync_run_request(config=config)
    assert (again.pk, created_again) == (first.pk, False)
    assert SyncRun.objects.count() == 1


@pytest.mark.django_db
def test_a_finished_run_does_not_block_the_next_request(config, district, tmp_path, request_run):
    district.write(tmp_path / "roster")
    first, _ = request_run(config)
    assert first.status == "succeeded"
    second, created = request_run(config)
    assert created and second.pk != first.pk and second.status == "succeeded"


@pytest.mark.django_db
def test_the_database_refuses_a_second_active_run_of_a_config(config):
    SyncRun.objects.create(config=config, status="running")
    with pytest.raises(IntegrityError), transaction.atomic():
        SyncRun.objects.create(config=config)
    # A finished run and another config's active run are allowed.
    SyncRun.objects.create(config=config, status="failed")
    other = config.__class__.objects.create(
        organization=config.organization, name="Other", source_kind="local_files"
    )
    SyncRun.objects.create(config=other)


@pytest.mark.django_db
def test_a_task_delivered_twice_runs_the_sync_once(config, district, tmp_path, request_run):
    district.write(tmp_path / "roster")
    run, _ = request_run(config)
    finished = run.finished_at
    assert run_sync(run.pk) == "succeeded"  # the broker re-delivers: the claim refuses it
    run.refresh_from_db()
    assert run.finished_at == finished
    assert run_sync(999_999) == "missing"


# ---------------------------------------------------------------- the reaper


@pytest.mark.django_db
def test_reaper_fails_a_running_run_whose_heartbeat_stopped(config, district, sync):
    sync(district)
    before = snapshot()
    stale = timezone.now() - timedelta(minutes=11)
    run = SyncRun.objects.create(
        config=config, status="running", stage="apply", started_at=stale, heartbeat_at=stale
    )
    assert sync_runs_reap() == [run.pk]
    run.refresh_from_db()
    assert (run.status, run.failure_reason, run.stage) == ("failed", "internal_error", "done")
    assert run.diagnostics["failure"]["error"] == "worker stopped"
    assert "worker running this sync stopped" in run.message
    assert "during applying" in run.message and "nothing was changed" in run.message
    assert set(SchoolSummary.objects.filter(run=run).values_list("status", flat=True)) == {"failed"}
    assert snapshot() == before


@pytest.mark.django_db
def test_reaper_leaves_a_run_with_a_recent_heartbeat_alone(config):
    recent = timezone.now() - timedelta(seconds=30)
    run = SyncRun.objects.create(
        config=config, status="running", started_at=recent, heartbeat_at=recent
    )
    assert reap_stale_runs() == []
    run.refresh_from_db()
    assert run.status == "running"


@pytest.mark.django_db
def test_reaper_says_when_a_stopped_run_had_already_applied_its_changes(config):
    stale = timezone.now() - timedelta(hours=1)
    run = SyncRun.objects.create(
        config=config, status="running", stage="report", heartbeat_at=stale
    )
    sync_runs_reap()
    run.refresh_from_db()
    assert "changes had been applied" in run.message


def _broker_holds(task_id: str) -> None:
    """Put a task in the ORM broker's queue, as async_task does."""
    from django_q.models import OrmQ
    from django_q.signing import SignedPackage

    OrmQ.objects.create(key="rollcall", payload=SignedPackage.dumps({"id": task_id}))


@pytest.mark.django_db
def test_reaper_fails_a_queued_run_never_handed_to_the_broker(config):
    """The process that queued it died between its commit and the hand-over."""
    run = SyncRun.objects.create(config=config)
    assert sync_runs_reap() == []  # the hand-over may still be under way
    SyncRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(minutes=3))
    assert sync_runs_reap() == [run.pk]
    run.refresh_from_db()
    assert run.failure_reason == "internal_error"
    assert "never handed to the worker" in run.message
    assert run.diagnostics["failure"]["error"] == "never queued"


@pytest.mark.django_db
def test_reaper_leaves_a_queued_run_whose_task_still_waits_for_a_worker(config):
    run = SyncRun.objects.create(config=config, task_id="waiting-task")
    _broker_holds("waiting-task")
    SyncRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(hours=9))
    assert sync_runs_reap() == []  # workers busy or down: it runs when one is free
    run.refresh_from_db()
    assert run.status == "queued"


@pytest.mark.django_db
def test_reaper_fails_a_queued_run_whose_task_the_broker_dropped(config):
    run = SyncRun.objects.create(config=config, task_id="dropped-task")
    _broker_holds("another-task")
    SyncRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(hours=1))
    assert sync_runs_reap() == []  # not old enough to be called lost
    SyncRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(hours=5))
    assert sync_runs_reap() == [run.pk]
    run.refresh_from_db()
    assert "no longer holds this sync's task" in run.message
    assert run.diagnostics["failure"]["error"] == "task lost"


@pytest.mark.django_db
def test_reaper_does_not_claim_a_stopped_dry_run_applied_anything(config):
    stale = timezone.now() - timedelta(hours=1)
    run = SyncRun.objects.create(
        config=config, status="running", stage="report", heartbeat_at=stale, dry_run=True
    )
    sync_runs_reap()
    run.refresh_from_db()
    assert "nothing was changed" in run.message


# ---------------------------------------------------------------- the run's lease


@pytest.mark.django_db
def test_a_run_reaped_before_apply_applies_nothing_and_keeps_the_reaped_outcome(
    config, district, sync, monkeypatch
):
    """A live run whose heartbeat went stale (a paused machine) and was reaped must not
    apply afterwards, nor overwrite the reaper's outcome: the config is free by then."""
    from syncs.services import stages as execute

    sync(district)
    before = snapshot()
    original = execute.previous_applied_run

    def reaped_meanwhile(run):
        stale = timezone.now() - timedelta(hours=1)
        SyncRun.objects.filter(pk=run.pk).update(heartbeat_at=stale)
        assert sync_runs_reap() == [run.pk]
        return original(run)

    monkeypatch.setattr(execute, "previous_applied_run", reaped_meanwhile)
    district.users[0]["givenName"] = "Renamed"  # a change the run would apply
    run = sync(district)
    assert (run.status, run.diagnostics["failure"]["error"]) == ("failed", "worker stopped")
    assert snapshot() == before


@pytest.mark.django_db
def test_a_run_reaped_during_report_does_not_overwrite_the_reaped_outcome(
    config, district, sync, monkeypatch
):
    from syncs.pipeline.plan import Plan

    original = Plan.counts

    def reaped_meanwhile(plan, mirror):  # just before the outcome is recorded
        SyncRun.objects.filter(status="running").update(status="failed", message="reaped")
        return original(plan, mirror)

    monkeypatch.setattr(Plan, "counts", reaped_meanwhile)
    run = sync(district)
    assert (run.status, run.message) == ("failed", "reaped")


@pytest.mark.django_db
def test_ctrl_c_during_a_sync_fails_the_run_and_frees_the_config(
    config, district, sync, monkeypatch
):
    from syncs.services import stages as execute

    def interrupted(**kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(execute, "make_plan", interrupted)
    with pytest.raises(KeyboardInterrupt):
        sync(district)
    run = SyncRun.objects.get()
    assert (run.status, run.failure_reason) == ("failed", "internal_error")
    assert "stopped (Ctrl-C or a shutdown signal) while planning" in run.message
    assert "nothing was changed" in run.message
    assert run.diagnostics["failure"] == {"error": "interrupted", "stage": "plan"}
    assert sync_run_request(config=config)[1]  # the next run can be queued


@pytest.mark.django_db
def test_after_the_reaper_the_next_run_starts_and_succeeds(config, district, tmp_path, request_run):
    district.write(tmp_path / "roster")
    stale = timezone.now() - timedelta(minutes=30)
    dead = SyncRun.objects.create(config=config, status="running", heartbeat_at=stale)
    blocked, created = request_run(config)
    assert (blocked.pk, created) == (dead.pk, False)
    sync_runs_reap()
    run, created = request_run(config)
    assert created and run.status == "succeeded"
    assert Person.objects.count() == 8


@pytest.mark.django_db
def test_reaper_does_not_fail_a_run_that_beat_after_it_looked(config, monkeypatch):
    """The reaper's UPDATE is conditional on the heartbeat it saw."""
    stale = timezone.now() - timedelta(minutes=30)
    run = SyncRun.objects.create(config=config, status="running", heartbeat_at=stale)
    from syncs.services import queue

    original = queue._fail

    def beat_first(r, *args, **kwargs):
        SyncRun.objects.filter(pk=r.pk).update(heartbeat_at=timezone.now())
        return original(r, *args, **kwargs)

    monkeypatch.setattr(queue, "_fail", beat_first)
    assert sync_runs_reap() == []
    run.refresh_from_db()
    assert run.status == "running"


# ---------------------------------------------------------------- progress


def test_overall_percent_rises_through_the_stages():
    stages = ["queued", "fetch", "parse", "scope", "validate", "devices", "plan", "guard"]
    stages += ["apply", "report"]
    seen = [progress.percent(stage, done, 10) for stage in stages for done in (0, 5, 10)]
    assert seen == sorted(seen) and seen[0] == 0 and seen[-1] < 100
    assert progress.percent("apply", 0, 0, finished=True) == 100
    assert progress.percent("parse", 50, 0) == progress.percent("parse", 0, 0)  # total unknown


@pytest.mark.django_db
def test_parsing_counts_every_row_read(district, tmp_path):
    from syncs import formats
    from syncs.services.stages import count_lines as _count_lines

    folder = district.write(tmp_path / "roster")
    with progress.tracking(run_id=0, interval=0) as tracked:
        tracked.start("parse", _count_lines(folder))
        roster, _ = formats.parse(folder, advance=progress.advance)
    rows = sum(1 for p in folder.glob("*.csv") for _ in p.open()) - len(list(folder.glob("*.csv")))
    assert tracked.done == rows and tracked.total >= rows
    progress.advance(5)  # outside a run: nothing to count, no error


@pytest.mark.django_db(transaction=True)
def test_heartbeat_thread_writes_progress_while_running_and_never_after(config):
    run = SyncRun.objects.create(config=config, status="running", stage="parse")
    with progress.tracking(run.pk, interval=0.05) as tracked:
        tracked.start("parse", 100)
        tracked.advance(40)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            run.refresh_from_db()
            if run.progress_done == 40:
                break
            time.sleep(0.02)
        assert (run.stage, run.progress_done, run.progress_total) == ("parse", 40, 100)
        assert run.heartbeat_at is not None
        SyncRun.objects.filter(pk=run.pk).update(status="succeeded", stage="done")
        tracked.start("report", 1)
        time.sleep(0.2)
    run.refresh_from_db()
    assert (run.status, run.stage) == ("succeeded", "done")  # the outcome is never overwritten


@pytest.mark.django_db(transaction=True)
def test_a_late_heartbeat_never_takes_the_run_back_to_an_earlier_stage(config):
    """A beat delayed by a lock (SQLite's writer lock during apply) arrives after the run
    moved on: it must not rewrite the stage, nor undo apply's "applied" marker."""
    run = SyncRun.objects.create(config=config, status="running", stage="report")
    with progress.tracking(run.pk, interval=0.02) as tracked:
        tracked.start("apply", 7)  # the in-memory stage lags behind the row
        tracked.advance(7)
        time.sleep(0.2)
    run.refresh_from_db()
    assert (run.stage, run.progress_done) == ("report", 0)


@pytest.mark.django_db
def test_with_a_broker_that_cannot_be_asked_a_queued_run_is_failed_by_age(config, monkeypatch):
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "ORM", None)  # e.g. Redis: no queue to look into
    run = SyncRun.objects.create(config=config, task_id="somewhere")
    SyncRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(hours=5))
    assert sync_runs_reap() == [run.pk]
    run.refresh_from_db()
    assert "No worker started this sync within 4 hours" in run.message
    assert sync_run_request(config=config)[1]  # the config is free again


@pytest.mark.django_db
def test_a_run_the_reaper_cannot_write_now_does_not_stop_it_reaping_the_others(
    config, org, monkeypatch
):
    from django.db import OperationalError

    from syncs.services import queue

    other = config.__class__.objects.create(
        organization=org, name="Other", source_kind="local_files"
    )
    stale = timezone.now() - timedelta(hours=1)
    locked = SyncRun.objects.create(config=config, status="running", heartbeat_at=stale)
    free = SyncRun.objects.create(config=other, status="running", heartbeat_at=stale)
    original = queue._fail_now

    def database_locked(run, *args, **kwargs):
        if run.pk == locked.pk:
            raise OperationalError("database is locked")
        return original(run, *args, **kwargs)

    monkeypatch.setattr(queue, "_fail_now", database_locked)
    assert sync_runs_reap() == [free.pk]
    locked.refresh_from_db()
    assert locked.status == "running"  # left for the next pass
