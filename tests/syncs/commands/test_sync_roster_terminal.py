"""`manage.py sync_roster` on a terminal: the live progress bar, and Ctrl-C."""

from __future__ import annotations

import json
import threading
from io import StringIO
from unittest import mock

import pytest
from django.core.management import CommandError, call_command

from syncs import formats
from syncs.models import SyncRun
from tests.syncs.commands.cli import run_command


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
