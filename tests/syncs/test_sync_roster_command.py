"""`manage.py sync_roster`: the JSON contract and the exit codes (issue #2), --queue and
the progress bar on a terminal."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from io import StringIO
from pathlib import Path
from unittest import mock

import pytest
from django.core.management import CommandError, call_command

from rostering.models import Organization
from syncs import formats
from syncs.models import RunStatus, SyncConfig, SyncRun

ROOT = Path(__file__).resolve().parents[2]


def run_command(*args, stdout=None):
    out = stdout if stdout is not None else StringIO()
    try:
        call_command("sync_roster", *args, stdout=out, stderr=StringIO())
        code = 0
    except CommandError as exc:
        code = exc.returncode
    return code, out.getvalue()


class FakeTerminal(StringIO):
    """Standard output as a terminal; `shown` is set once `wanted` has been written."""

    def __init__(self, wanted: str = "") -> None:
        super().__init__()
        self.wanted = wanted
        self.shown = threading.Event()

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        written = super().write(text)
        if self.wanted and self.wanted in text:
            self.shown.set()
        return written


@pytest.mark.django_db
def test_json_output_has_every_documented_key(district, tmp_path):
    folder = district.write(tmp_path / "files")
    code, out = run_command("--org", "demo", "--path", str(folder), "--json")
    assert code == 0
    report = json.loads(out)
    assert set(report) >= {"run", "counts", "schools", "issues", "diagnostics"}
    assert set(report["run"]) >= {"id", "status", "failure_reason", "dry_run"}
    assert set(report["counts"]) >= {"students", "teachers", "parents", "classes", "enrollments"}
    for counts in report["counts"].values():
        assert set(counts) >= {"created", "updated", "archived", "unchanged"}
    assert report["counts"]["students"]["created"] == 3
    assert [s["sis_id"] for s in report["schools"]] == ["0123", "0456"]
    assert set(report["schools"][0]) >= {
        "sis_id",
        "created",
        "updated",
        "archived",
        "errors",
        "alerts",
    }


@pytest.mark.django_db
def test_json_issue_fields(district, tmp_path):
    district.birth_dates["s2"] = "2014-13-01"
    folder = district.write(tmp_path / "files")
    _code, out = run_command("--org", "demo", "--path", str(folder), "--json")
    (issue,) = json.loads(out)["issues"]
    assert {k: issue[k] for k in ("severity", "code", "school", "kind", "source_id")} == {
        "severity": "error",
        "code": "student_dob",
        "school": "0123",
        "kind": "person",
        "source_id": "s2",
    }
    assert issue["message"] and issue["hint"]


@pytest.mark.django_db
def test_creates_the_organization_and_config_then_reuses_them(district, tmp_path):
    folder = district.write(tmp_path / "files")
    run_command("--org", "demo", "--path", str(folder), "--schools", "0123", "--threshold", "25")
    run_command("--org", "demo", "--path", str(folder))
    config = SyncConfig.objects.get()
    assert Organization.objects.get().slug == "demo"
    assert (config.school_ids, str(config.deletion_threshold)) == (["0123"], "25.00")
    assert config.runs.count() == 2


@pytest.mark.django_db
def test_dry_run_flag(district, tmp_path):
    folder = district.write(tmp_path / "files")
    code, out = run_command("--org", "demo", "--path", str(folder), "--json", "--dry-run")
    assert code == 0
    assert json.loads(out)["run"]["dry_run"] is True


@pytest.mark.django_db
def test_exit_code_1_when_the_run_fails_for_a_data_reason(district, tmp_path):
    folder = district.write(tmp_path / "files")
    code, out = run_command("--org", "demo", "--path", str(folder), "--schools", "999", "--json")
    assert code == 1
    assert json.loads(out)["run"]["failure_reason"] == "schools_not_found"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args",
    [
        ["--org", "Not A Slug", "--path", "."],
        ["--org", "demo", "--path", "/nonexistent/roster"],
        ["--org", "demo", "--path", ".", "--threshold", "150"],
        ["--org", "demo", "--path", ".", "--threshold", "ten"],
        ["--org", "demo", "--path", ".", "--schools", " , "],
    ],
)
def test_exit_code_2_on_bad_arguments(args):
    code, _out = run_command(*args)
    assert code == 2
    assert not Organization.objects.exists()


def test_process_exit_codes_and_no_traceback(tmp_path):
    """Run the real command in a subprocess: argparse errors exit 2, messages not tracebacks."""
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "ROLLCALL_VAR_DIR": str(tmp_path),
        "PATH": "/usr/bin:/bin",
    }
    missing = subprocess.run(
        [sys.executable, "manage.py", "sync_roster", "--org", "demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 2
    assert "--path" in missing.stderr and "Traceback" not in missing.stderr
    bad = subprocess.run(
        [sys.executable, "manage.py", "sync_roster", "--org", "demo", "--path", "/nope"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
    assert "does not exist" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--source", "clever", "--token", "t"], "--url is required"),
        (
            ["--source", "clever", "--url", "http://api.clever.example.org", "--token", "t"],
            "plain HTTP",
        ),
        (["--source", "clever", "--url", "https://api.clever.com"], "--token"),
        (
            ["--source", "oneroster", "--url", "https://or.example.org", "--client-id", "c"],
            "--client-secret",
        ),
        (
            [
                "--source",
                "oneroster",
                "--url",
                "ftp://or.example.org",
                "--client-id",
                "c",
                "--client-secret",
                "s",
            ],
            "not an http(s) URL",
        ),
        (
            [
                "--source",
                "clever",
                "--url",
                "https://api.clever.com",
                "--token",
                "t",
                "--path",
                ".",
            ],
            "--path is for --source files",
        ),
    ],
)
def test_exit_code_2_on_bad_api_source_arguments(args, says):
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("sync_roster", "--org", "demo", *args, stdout=out, stderr=err)
    assert exc.value.returncode == 2
    assert says in str(exc.value)


@pytest.mark.django_db
def test_json_run_has_its_stage_and_progress(district, tmp_path):
    folder = district.write(tmp_path / "files")
    _code, out = run_command("--org", "demo", "--path", str(folder), "--json")
    run = json.loads(out)["run"]
    assert run["stage"] == "done"
    assert run["progress"]["percent"] == 100 and set(run["progress"]) == {
        "done",
        "total",
        "percent",
    }


# ---------------------------------------------------------------- --queue


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
    assert len(callbacks) == 1  # handed to the worker on commit; inline in tests
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


# ---------------------------------------------------------------- progress bar


@pytest.mark.django_db
def test_inline_run_draws_its_live_progress_on_a_terminal_then_clears_it(district, tmp_path):
    folder = district.write(tmp_path / "files")
    terminal = FakeTerminal(wanted="Parsing")
    real_parse = formats.parse

    def parse_once_the_bar_shows_it(*args, **kwargs):
        # The bar thread reads the in-memory progress of the run this thread executes.
        assert terminal.shown.wait(timeout=10), "the bar never showed the parse stage"
        return real_parse(*args, **kwargs)

    with mock.patch.object(formats, "parse", side_effect=parse_once_the_bar_shows_it):
        code, out = run_command("--org", "demo", "--path", str(folder), stdout=terminal)
    assert code == 0
    draws = out.split("\r")
    parsing = next(d for d in draws if "Parsing" in d)
    assert parsing.startswith("[#") and "% Parsing 0/" in parsing
    assert draws[-1].startswith("Run #") and "succeeded" in draws[-1]  # bar erased first
    assert draws[-2].strip() == ""


@pytest.mark.django_db
def test_inline_run_draws_no_bar_in_json_output_even_on_a_terminal(district, tmp_path):
    folder = district.write(tmp_path / "files")
    code, out = run_command("--org", "demo", "--path", str(folder), "--json", stdout=FakeTerminal())
    assert code == 0
    assert "\r" not in out and out.startswith("{") and out.count("\n") == 1
    assert json.loads(out)["run"]["status"] == "succeeded"


@pytest.mark.django_db
def test_inline_run_draws_no_bar_off_a_terminal(district, tmp_path):
    folder = district.write(tmp_path / "files")
    code, out = run_command("--org", "demo", "--path", str(folder))
    assert code == 0
    assert "\r" not in out and "%" not in out
    assert out.startswith("Run #")


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


@pytest.mark.django_db
def test_ctrl_c_during_an_inline_sync_exits_130_with_the_runs_outcome(
    district, tmp_path, monkeypatch
):
    from syncs.services import stages as execute

    def interrupted(**kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(execute, "make_plan", interrupted)
    folder = district.write(tmp_path / "roster")
    with pytest.raises(CommandError) as stopped:
        call_command("sync_roster", "--org", "demo", "--path", str(folder), stdout=StringIO())
    assert stopped.value.returncode == 130
    assert "Stopped. Run #" in str(stopped.value) and "nothing was changed" in str(stopped.value)
    assert SyncRun.objects.get().status == "failed"


@pytest.mark.django_db
def test_ctrl_c_with_json_still_prints_the_runs_object(district, tmp_path, monkeypatch):
    from syncs.services import stages as execute

    def interrupted(**kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(execute, "make_plan", interrupted)
    folder = district.write(tmp_path / "roster")
    code, out = run_command("--org", "demo", "--path", str(folder), "--json")
    report = json.loads(out)
    assert (code, report["run"]["status"], report["run"]["failure_reason"]) == (
        130,
        "failed",
        "internal_error",
    )
