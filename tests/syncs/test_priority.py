"""Syncs yield the CPU to people (syncs.priority): the worker runs them niced, so the web
answers first on a machine that runs both. Each check runs in a child process: a
process can never take back the priority it gave up, and the test runner must keep its."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _child(code: str, **env: str | None) -> str:
    setup = "import django, os; django.setup(); "
    environ = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env}
    result = subprocess.run(
        [sys.executable, "-c", setup + code],
        cwd=ROOT,
        env={k: v for k, v in environ.items() if v is not None},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def _ours() -> int:
    """The test runner's own nice value, which a child starts with."""
    return os.getpriority(os.PRIO_PROCESS, 0)


def _nice() -> str:
    return "print(os.getpriority(os.PRIO_PROCESS, 0))"


# The child's database may not exist (a fresh clone): run_sync has lowered its priority
# before it looks for the run, and that is all these checks need of it.
RUN_SYNC = "from syncs.tasks import run_sync\ntry: run_sync(2**40)\nexcept Exception: pass\n"


def test_the_worker_runs_a_sync_niced_by_default():
    assert _child(RUN_SYNC + _nice(), ROLLCALL_WORKER_NICE=None) == str(max(10, _ours()))


def test_worker_nice_is_a_setting_and_zero_keeps_the_priority_it_was_started_with():
    assert _child(RUN_SYNC + _nice(), ROLLCALL_WORKER_NICE="15") == str(max(15, _ours()))
    assert _child(RUN_SYNC + _nice(), ROLLCALL_WORKER_NICE="0") == str(_ours())


def test_a_worker_started_nicer_than_the_setting_stays_as_nice():
    code = (
        "os.setpriority(os.PRIO_PROCESS, 0, 17); "
        "from syncs.priority import lower_cpu_priority; lower_cpu_priority(10); " + _nice()
    )
    assert _child(code) == "17"


@pytest.mark.parametrize("value", ["-5", "20"])
def test_a_nice_value_outside_0_to_19_is_refused_at_start(value):
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**os.environ, "ROLLCALL_WORKER_NICE": value},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "ROLLCALL_WORKER_NICE must be a nice value from 0 to 19" in result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="only root may start a process below nice 0")
def test_zero_leaves_a_worker_started_at_a_negative_nice_value_as_it_is():
    code = "os.setpriority(os.PRIO_PROCESS, 0, -5)\n" + RUN_SYNC + _nice()
    assert _child(code, ROLLCALL_WORKER_NICE="0") == "-5"
