"""Terminal output shared by the sync commands: a run's report, and a live progress bar.

`render_bar` is pure. `ProgressLine` writes it: redrawn in place (`\\r`) on a terminal,
or, when the output is a file or a pipe, one plain line each time the stage changes, so
logs stay readable. `drawing` redraws a bar from a background thread while the calling
thread runs a sync inline.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from django.core.management.base import OutputWrapper

from syncs import progress
from syncs.models import RunStatus, Stage

BAR_MIN = 10
BAR_MAX = 40


def render_bar(
    percent: int, stage_label: str, done: int = 0, total: int = 0, width: int = 79
) -> str:
    """One line, at most `width` characters: `[####......]  40% Parsing 1,200/3,000`.

    The count shows as done/total once the total is known, as the bare count while it is
    not (total 0), and not at all before anything is done.
    """
    percent = max(0, min(100, int(percent)))
    if total:
        counts = f" {done:,}/{total:,}"
    elif done:
        counts = f" {done:,}"
    else:
        counts = ""
    text = f" {percent:>3}% {stage_label}{counts}"
    bar = max(BAR_MIN, min(BAR_MAX, width - len(text) - 2))
    filled = bar * percent // 100
    return f"[{'#' * filled}{'.' * (bar - filled)}]{text}"[:width]


class ProgressLine:
    """Writes a run's progress to `out`: a bar on a terminal, stage lines elsewhere."""

    def __init__(self, out: TextIO | OutputWrapper, *, tty: bool | None = None) -> None:
        self.out = out
        self.tty = out.isatty() if tty is None else tty
        self.drawn = 0  # characters of the bar on screen
        self.line = ""
        self.stage_label: str | None = None

    def update(self, percent: int, stage_label: str, done: int = 0, total: int = 0) -> None:
        if not self.tty:
            if stage_label != self.stage_label:
                self._write(f"{max(0, min(100, percent)):>3}% {stage_label}\n")
        else:
            # One column short of the terminal: a full-width line wraps on some terminals,
            # and `\r` then redraws only its second half.
            width = shutil.get_terminal_size((80, 24)).columns - 1
            line = render_bar(percent, stage_label, done, total, width)
            if line == self.line:
                return
            self._write("\r" + line + " " * max(0, self.drawn - len(line)))
            self.drawn, self.line = len(line), line
        self.stage_label = stage_label

    def clear(self) -> None:
        """Erase the bar, leaving the cursor where it started (before a report)."""
        if self.drawn:
            self._write("\r" + " " * self.drawn + "\r")
            self.drawn, self.line = 0, ""

    def finish(self) -> None:
        """Keep the bar on screen and end its line."""
        if self.drawn:
            self._write("\n")
            self.drawn, self.line = 0, ""

    def _write(self, text: str) -> None:
        if isinstance(self.out, OutputWrapper):
            self.out.write(text, ending="")
        else:
            self.out.write(text)
        self.out.flush()


def stage_label(stage: str) -> str:
    try:
        return Stage(stage).label
    except ValueError:
        return stage


def show_progress(line: ProgressLine, p: progress.Progress | None) -> None:
    """Draw an in-memory Progress (None: the run has not started its first stage)."""
    p = p or progress.Progress()
    line.update(progress.percent(p.stage, p.done, p.total), stage_label(p.stage), p.done, p.total)


@contextmanager
def drawing(
    line: ProgressLine, read: Callable[[], progress.Progress | None], interval: float = 0.2
) -> Iterator[None]:
    """Redraw `read()`'s progress every `interval` seconds from a thread; erase it after.

    `read` must only look at memory: the thread opens no database connection.
    """
    stopping = threading.Event()

    def draw() -> None:
        show_progress(line, read())
        while not stopping.wait(interval):
            show_progress(line, read())

    thread = threading.Thread(target=draw, name="sync-progress-bar", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stopping.set()
        thread.join()
        line.clear()


# ---------------------------------------------------------------- reports


def write_report(out: OutputWrapper, style, report: dict) -> None:
    """A finished run's `run_report` for people: outcome, message, counts, issue totals."""
    r = report["run"]
    kind = "Dry run" if r["dry_run"] else "Run"
    seconds = f" in {r['duration_seconds']:.1f} s" if r["duration_seconds"] is not None else ""
    headline = f"{kind} #{r['id']} {r['status']}{seconds}"
    if r["failure_reason"]:
        headline += f" ({r['failure_reason']})"
    ok = style.SUCCESS if r["status"] == RunStatus.SUCCEEDED else style.ERROR
    out.write(ok(headline))
    out.write(r["message"])
    # "kept": existing records with an error, kept at their last good state (rule Q).
    out.write(f"{'':14}{'created':>9}{'updated':>9}{'archived':>9}{'unchanged':>10}{'kept':>8}")
    for record_kind, c in report["counts"].items():
        out.write(
            f"{record_kind:14}{c['created']:>9}{c['updated'] + c['unarchived']:>9}"
            f"{c['archived']:>9}{c['unchanged']:>10}{c['quarantined']:>8}"
        )
    totals = report["diagnostics"].get("issues", {})
    if totals:
        out.write("Issues: " + ", ".join(f"{code} {n}" for code, n in totals.items()))
