"""`manage.py sync_status`: a run's status and progress, --wait, and the progress bar."""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.core.management.base import OutputWrapper

from syncs.models import RunStatus, Stage, SyncRun
from syncs.services import sync_run_create
from syncs.tasks import run_sync
from syncs.terminal import ProgressLine, render_bar
from tests.helpers import ROOT

SLEEP = "syncs.management.commands.sync_status.sleep"


class FakeTerminal(StringIO):
    """Standard output as a terminal: isatty() is true."""

    def isatty(self) -> bool:
        return True


def status(*args, stdout=None) -> tuple[int, str, str]:
    """Run sync_status; return (exit status, stdout, CommandError message)."""
    out = stdout if stdout is not None else StringIO()
    try:
        call_command("sync_status", *map(str, args), stdout=out, stderr=StringIO())
    except CommandError as exc:
        return exc.returncode, out.getvalue(), str(exc)
    return 0, out.getvalue(), ""


def advancing(run: SyncRun, *steps: dict):
    """A sleep that moves the run's row on by one step each time the command waits."""
    remaining = list(steps)

    def sleep(seconds: float) -> None:
        assert seconds == pytest.approx(0.5)
        SyncRun.objects.filter(pk=run.pk).update(**remaining.pop(0))

    return sleep


RUNNING_PARSE = {
    "status": RunStatus.RUNNING,
    "stage": Stage.PARSE,
    "progress_done": 500,
    "progress_total": 1000,
}
RUNNING_APPLY = {
    "status": RunStatus.RUNNING,
    "stage": Stage.APPLY,
    "progress_done": 3,
    "progress_total": 7,
}
SUCCEEDED = {"status": RunStatus.SUCCEEDED, "stage": Stage.DONE, "message": "No errors."}
FAILED = {
    "status": RunStatus.FAILED,
    "stage": Stage.DONE,
    "failure_reason": "internal_error",
    "message": "The worker running this sync stopped.",
}


# ---------------------------------------------------------------- render_bar


def test_render_bar_at_0_percent_has_an_empty_bar():
    assert render_bar(0, "Queued", 0, 0, width=40) == "[" + "." * 26 + "]   0% Queued"


def test_render_bar_at_50_percent_fills_half_the_bar_and_shows_done_of_total():
    line = render_bar(50, "Parsing", 1200, 2400, width=60)
    assert line == "[" + "#" * 16 + "." * 17 + "]  50% Parsing 1,200/2,400"
    assert len(line) == 60


def test_render_bar_at_100_percent_is_full():
    line = render_bar(100, "Done", width=40)
    assert line == "[" + "#" * 28 + "] 100% Done"


def test_render_bar_with_an_unknown_total_shows_the_bare_count_or_nothing():
    assert render_bar(10, "Fetching", 250, 0, width=40).endswith("  10% Fetching 250")
    assert render_bar(10, "Fetching", 0, 0, width=40).endswith("  10% Fetching")


def test_render_bar_clamps_the_percent_and_never_exceeds_the_width():
    assert render_bar(150, "Applying", width=40) == render_bar(100, "Applying", width=40)
    assert render_bar(-5, "Applying", width=40) == render_bar(0, "Applying", width=40)
    long = render_bar(40, "Checking the deletion threshold", 123456, 999999, width=30)
    assert long == "[####......]  40% Checking the"  # the shortest bar, then cut


# ---------------------------------------------------------------- ProgressLine


def test_progress_line_on_a_terminal_redraws_in_place_and_clears():
    out = FakeTerminal()
    line = ProgressLine(OutputWrapper(out))
    line.update(10, "Parsing", 1, 10)
    line.update(10, "Parsing", 1, 10)  # unchanged: not redrawn
    line.update(40, "Validating")
    line.clear()
    draws = out.getvalue().split("\r")
    assert draws[0] == "" and "\n" not in out.getvalue()
    assert "Parsing 1/10" in draws[1] and "Validating" in draws[2]
    assert len(draws) == 5 and draws[3].strip() == "" and draws[4] == ""


def test_progress_line_off_a_terminal_prints_a_plain_line_per_stage():
    out = StringIO()
    line = ProgressLine(OutputWrapper(out))
    for percent, stage in [(10, "Parsing"), (20, "Parsing"), (35, "Validating")]:
        line.update(percent, stage, 5, 10)
    line.finish()
    assert out.getvalue() == " 10% Parsing\n 35% Validating\n"


# ---------------------------------------------------------------- sync_status


@pytest.mark.django_db
def test_sync_status_of_a_succeeded_run_exits_0_with_its_outcome_and_counts(sync, district):
    run = sync(district)
    code, out, _ = status(run.pk)
    assert code == 0
    assert out.startswith(f"Run #{run.pk} succeeded in ")
    assert "No errors." in out and "students              3" in out


@pytest.mark.django_db
def test_sync_status_of_a_failed_run_exits_1_with_its_message(sync, district):
    run = sync(district, schools=["999"])
    code, out, message = status(run.pk)
    assert code == 1
    assert f"Run #{run.pk} failed" in out and "(schools_not_found)" in out
    assert message == run.message and run.message in out


@pytest.mark.django_db
def test_sync_status_of_a_running_run_exits_0_with_stage_and_progress(config):
    run = sync_run_create(config=config)
    SyncRun.objects.filter(pk=run.pk).update(**RUNNING_PARSE)
    code, out, _ = status(run.pk)
    assert code == 0
    assert out.startswith(f"Run #{run.pk} running: Parsing 500/1,000 (")
    assert "% overall)" in out


@pytest.mark.django_db
def test_sync_status_of_a_queued_run_exits_0_and_says_it_waits_for_a_worker(config):
    run = sync_run_create(config=config, dry_run=True)
    code, out, _ = status(run.pk)
    assert code == 0
    assert out.startswith(f"Dry run #{run.pk} queued at ") and "waiting for a worker" in out


@pytest.mark.django_db
def test_sync_status_json_is_the_run_report_with_stage_and_progress(config):
    run = sync_run_create(config=config)
    SyncRun.objects.filter(pk=run.pk).update(**RUNNING_PARSE)
    code, out, _ = status(run.pk, "--json")
    assert code == 0
    report = json.loads(out)
    assert set(report) >= {"run", "counts", "schools", "issues", "diagnostics"}
    assert report["run"]["id"] == run.pk and report["run"]["status"] == "running"
    assert report["run"]["stage"] == "parse"
    assert report["run"]["progress"] == {"done": 500, "total": 1000, "percent": 22}


@pytest.mark.django_db
def test_sync_status_json_of_a_failed_run_exits_1(sync, district):
    run = sync(district, schools=["999"])
    code, out, _ = status(run.pk, "--json")
    assert code == 1
    assert json.loads(out)["run"]["progress"]["percent"] == 100


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("run_id", "says"),
    [
        ("987654", "There is no sync run #987654."),
        ("99999999999999999999", "There is no sync run #99999999999999999999."),  # > bigint
        ("abc", "RUN_ID must be a run's number"),
    ],
)
def test_sync_status_of_an_unknown_or_malformed_id_exits_2_with_a_message(run_id, says):
    code, out, message = status(run_id)
    assert (code, out) == (2, "")
    assert says in message


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args",
    [
        ["--timeout", "5"],
        ["--interval", "1"],
        ["--wait", "--interval", "0"],
        ["--wait", "--timeout", "-1"],
    ],
)
def test_sync_status_rejects_wait_options_without_wait_or_out_of_range(config, args):
    run = sync_run_create(config=config)
    code, _out, _message = status(run.pk, *args)
    assert code == 2


def test_sync_status_process_exit_2_and_no_traceback_for_a_malformed_id(tmp_path):
    """The real command in a subprocess: a message on stderr, never a traceback."""
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "ROLLCALL_VAR_DIR": str(tmp_path),
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "sync_status", "twelve"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "RUN_ID must be a run's number" in done.stderr and "Traceback" not in done.stderr


# ---------------------------------------------------------------- --wait


@pytest.mark.django_db
def test_sync_status_wait_on_a_finished_run_returns_at_once(sync, district):
    run = sync(district)
    with mock.patch(SLEEP, side_effect=AssertionError("waited")):
        code, out, _ = status(run.pk, "--wait")
    assert code == 0
    assert out.startswith("100% Succeeded\n" + f"Run #{run.pk} succeeded")


@pytest.mark.django_db
def test_sync_status_wait_follows_the_run_and_prints_a_line_per_stage_off_a_terminal(config):
    run = sync_run_create(config=config)
    sleep = advancing(run, RUNNING_PARSE, RUNNING_PARSE, RUNNING_APPLY, SUCCEEDED)
    with mock.patch(SLEEP, side_effect=sleep) as slept:
        code, out, _ = status(run.pk, "--wait")
    assert code == 0 and slept.call_count == 4
    assert "\r" not in out
    lines = out.splitlines()
    assert lines[:4] == ["  0% Queued", " 22% Parsing", " 79% Applying", "100% Succeeded"]
    assert lines[4] == f"Run #{run.pk} succeeded"


@pytest.mark.django_db
def test_sync_status_wait_exits_1_when_the_run_fails_while_waiting(config):
    run = sync_run_create(config=config)
    with mock.patch(SLEEP, side_effect=advancing(run, RUNNING_APPLY, FAILED)):
        code, out, message = status(run.pk, "--wait")
    assert code == 1
    assert "100% Failed\n" in out and f"Run #{run.pk} failed (internal_error)" in out
    assert message == "The worker running this sync stopped."


@pytest.mark.django_db
def test_sync_status_wait_follows_a_queued_run_the_worker_executes(config, district, tmp_path):
    """The worker (here: its task, called from the poll) runs the sync for real."""
    district.write(tmp_path / "roster")
    run = sync_run_create(config=config)
    with mock.patch(SLEEP, side_effect=lambda seconds: run_sync(run.pk)):
        code, out, _ = status(run.pk, "--wait", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["run"]["status"] == "succeeded" and report["run"]["stage"] == "done"
    assert report["counts"]["students"]["created"] == 3


@pytest.mark.django_db
def test_sync_status_wait_draws_a_bar_in_place_on_a_terminal(config):
    run = sync_run_create(config=config)
    with mock.patch(SLEEP, side_effect=advancing(run, RUNNING_PARSE, RUNNING_APPLY, SUCCEEDED)):
        code, out, _ = status(run.pk, "--wait", stdout=FakeTerminal())
    assert code == 0
    bar, report = out.split("\n", 1)
    draws = bar.split("\r")[1:]
    assert [d.split("%")[0][-3:] for d in draws] == ["  0", " 22", " 79", "100"]
    assert "Parsing 500/1,000" in draws[1] and "Applying 3/7" in draws[2]
    assert draws[3].startswith("[" + "#" * 10) and draws[3].rstrip().endswith("100% Succeeded")
    assert report.startswith(f"Run #{run.pk} succeeded")


@pytest.mark.django_db
def test_sync_status_wait_json_prints_only_the_final_object_even_on_a_terminal(config):
    run = sync_run_create(config=config)
    with mock.patch(SLEEP, side_effect=advancing(run, RUNNING_PARSE, SUCCEEDED)):
        code, out, _ = status(run.pk, "--wait", "--json", stdout=FakeTerminal())
    assert code == 0
    assert "\r" not in out and out.count("\n") == 1
    assert json.loads(out)["run"]["status"] == "succeeded"


@pytest.mark.django_db
def test_sync_status_wait_polls_at_the_interval_given(config):
    run = sync_run_create(config=config)
    with mock.patch(SLEEP) as slept:
        slept.side_effect = lambda s: SyncRun.objects.filter(pk=run.pk).update(**SUCCEEDED)
        code, _out, _ = status(run.pk, "--wait", "--interval", "2")
    assert code == 0
    slept.assert_called_once_with(2.0)


@pytest.mark.django_db
def test_sync_status_wait_timeout_exits_1_and_says_the_run_continues(config):
    run = sync_run_create(config=config)
    clock = [100.0]
    with (
        mock.patch("syncs.management.commands.sync_status.monotonic", lambda: clock[0]),
        mock.patch(SLEEP, side_effect=lambda s: clock.__setitem__(0, clock[0] + s)) as slept,
    ):
        code, out, message = status(run.pk, "--wait", "--timeout", "1.2")
    assert code == 1
    assert [c.args[0] for c in slept.call_args_list] == [0.5, 0.5, pytest.approx(0.2)]
    assert message == (
        f"Stopped waiting after 1.2 s: run #{run.pk} is still queued and continues on the worker."
    )
    assert out == "  0% Queued\n"
    assert SyncRun.objects.get(pk=run.pk).status == RunStatus.QUEUED


@pytest.mark.django_db
def test_sync_status_wait_timeout_with_json_prints_the_run_as_it_is(config):
    run = sync_run_create(config=config)
    clock = [0.0]
    with (
        mock.patch("syncs.management.commands.sync_status.monotonic", lambda: clock[0]),
        mock.patch(SLEEP, side_effect=lambda s: clock.__setitem__(0, clock[0] + s)),
    ):
        code, out, _ = status(run.pk, "--wait", "--timeout", "1", "--json")
    assert code == 1
    assert json.loads(out)["run"]["status"] == "queued"


@pytest.mark.django_db
@pytest.mark.parametrize("stdout", [StringIO, FakeTerminal])
def test_sync_status_ctrl_c_stops_waiting_with_130_and_the_run_continues(config, stdout):
    run = sync_run_create(config=config)
    out = stdout()
    with mock.patch(SLEEP, side_effect=KeyboardInterrupt):
        code, text, message = status(run.pk, "--wait", stdout=out)
    assert code == 130
    assert message.startswith(f"Stopped waiting; run #{run.pk} continues on the worker")
    assert text.endswith("\n")  # the bar (or stage line) is ended, not left dangling
    assert SyncRun.objects.get(pk=run.pk).status == RunStatus.QUEUED


@pytest.mark.django_db
def test_sync_status_wait_exits_1_when_the_run_is_deleted_while_waiting(config):
    run = sync_run_create(config=config)
    with mock.patch(SLEEP, side_effect=lambda s: SyncRun.objects.filter(pk=run.pk).delete()):
        code, _out, message = status(run.pk, "--wait")
    assert code == 1
    assert message == f"Run #{run.pk} was deleted while waiting for it."
