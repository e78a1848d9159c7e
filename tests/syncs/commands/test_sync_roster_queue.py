"""`manage.py sync_roster --queue`: the run is handed to the worker, once, and an inline
sync never starts beside a queued one."""

from __future__ import annotations

import json
from io import StringIO
from unittest import mock

import pytest
from django.core.management import CommandError, call_command

from syncs.models import RunStatus, SyncRun
from tests.syncs.commands.cli import run_command


@pytest.mark.django_db
def test_queue_json_prints_only_the_run_id_and_queued_then_the_worker_runs_it(
    district, tmp_path, django_capture_on_commit_callbacks
):
    folder = district.write(tmp_path / "files")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        code, out = run_command("--org", "demo", "--path", str(folder), "--queue", "--json")
        run = SyncRun.objects.get()
        assert run.status == RunStatus.QUEUED  # nothing ran inline
    assert code == 0
    assert json.loads(out) == {"run": {"id": run.pk, "status": "queued"}}
    assert out.count("\n") == 1
    # Handed to the worker once, on commit (inline in tests); the run it executed then
    # hands its outcome to notify, on commit too.
    handed = [c.__qualname__ for c in callbacks]
    assert handed.count("sync_run_enqueue.<locals>.send") == 1, handed
    run.refresh_from_db()
    assert (run.status, run.trigger, run.dry_run) == (RunStatus.SUCCEEDED, "manual", False)
    assert run.counts["students"]["created"] == 3


@pytest.mark.django_db
def test_queue_twice_returns_the_same_run_marked_existing(
    district, tmp_path, django_capture_on_commit_callbacks
):
    folder = district.write(tmp_path / "files")
    args = ["--org", "demo", "--path", str(folder), "--queue", "--json"]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = json.loads(run_command(*args)[1])
        code, out = run_command(*args)
        SyncRun.objects.filter(pk=first["run"]["id"]).update(status=RunStatus.RUNNING)
        code_running, out_running = run_command(*args)
    assert (code, code_running) == (0, 0)
    assert json.loads(out) == {
        "run": {"id": first["run"]["id"], "status": "queued"},
        "existing": True,
    }
    assert json.loads(out_running) == {
        "run": {"id": first["run"]["id"], "status": "running"},
        "existing": True,
    }
    assert SyncRun.objects.count() == 1 and len(callbacks) == 1


@pytest.mark.django_db
def test_queue_without_json_says_queued_then_already_queued(
    district, tmp_path, django_capture_on_commit_callbacks
):
    folder = district.write(tmp_path / "files")
    with django_capture_on_commit_callbacks(execute=False):
        code, out = run_command("--org", "demo", "--path", str(folder), "--queue")
        again_code, again = run_command("--org", "demo", "--path", str(folder), "--queue")
    run = SyncRun.objects.get()
    assert (code, again_code) == (0, 0)
    assert out.splitlines() == [
        f"Run #{run.pk} queued",
        f"Follow it with: python manage.py sync_status {run.pk} --wait",
    ]
    assert again.splitlines()[0] == f"Run #{run.pk} is already queued; not queued again"


@pytest.mark.django_db
def test_queue_dry_run_queues_a_dry_run_and_keeps_the_config_options(
    district, tmp_path, django_capture_on_commit_callbacks
):
    folder = district.write(tmp_path / "files")
    with django_capture_on_commit_callbacks(execute=False):
        code, _out = run_command(
            "--org", "demo", "--path", str(folder), "--queue", "--dry-run", "--schools", "0123"
        )
    assert code == 0
    run = SyncRun.objects.get()
    assert (run.status, run.dry_run) == (RunStatus.QUEUED, True)
    assert run.config.school_ids == ["0123"]


@pytest.mark.django_db
def test_queue_validates_arguments_first_and_queues_nothing_on_bad_ones():
    code, out = run_command("--org", "demo", "--path", ".", "--threshold", "150", "--queue")
    assert (code, out) == (2, "")
    assert not SyncRun.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_queue_exits_1_when_the_task_queue_refuses_the_run(district, tmp_path):
    """Outside a transaction the run is handed over at once; a refusal fails it there."""
    folder = district.write(tmp_path / "files")
    with mock.patch("django_q.tasks.async_task", side_effect=OSError("broker down")):
        code, out = run_command("--org", "demo", "--path", str(folder), "--queue", "--json")
    assert code == 1
    report = json.loads(out)
    assert (report["run"]["status"], report["run"]["failure_reason"]) == (
        "failed",
        "internal_error",
    )


@pytest.mark.django_db
def test_inline_sync_while_a_run_is_queued_names_that_run_instead_of_starting_another(
    district, tmp_path
):
    folder = district.write(tmp_path / "roster")
    code, out = run_command("--org", "demo", "--path", str(folder), "--queue", "--json")
    queued = json.loads(out)["run"]["id"]
    try:
        call_command("sync_roster", "--org", "demo", "--path", str(folder), stdout=StringIO())
    except CommandError as exc:
        assert exc.returncode == 1
        assert f"Run #{queued} of this sync is already queued; not started again" in str(exc)
        assert f"sync_status {queued} --wait" in str(exc)
    else:
        raise AssertionError("a second run started while one was queued")
    code, out = run_command("--org", "demo", "--path", str(folder), "--json")
    report = json.loads(out)  # still one JSON object, never a traceback
    assert (code, report["run"]["id"], report["existing"]) == (1, queued, True)
    assert SyncRun.objects.count() == 1
