"""python manage.py sync_status RUN_ID [--json] [--wait]: where a run is, or how it ended."""

from __future__ import annotations

import json
from time import monotonic, sleep

from django.core.management.base import BaseCommand, CommandError

from syncs import terminal
from syncs.models import RunStatus, SyncRun
from syncs.selectors import run_report

DEFAULT_INTERVAL = 0.5
INTERRUPTED = 130  # what a shell reports for a command stopped by Ctrl-C (128 + SIGINT)


def _bad(message: str) -> CommandError:
    return CommandError(message, returncode=2)


class Command(BaseCommand):
    help = (
        "Show a sync run's status, stage and progress, or, once it finished, its outcome. "
        "--wait follows it until it finishes. Exit status: 0 when the run succeeded (or, "
        "without --wait, is still queued or running), 1 when it failed, 2 on bad arguments, "
        "130 when Ctrl-C stopped the waiting (the run itself continues on the worker)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "run_id", metavar="RUN_ID", help="The run's number (as --queue printed)."
        )
        parser.add_argument(
            "--json",
            action="store_true",
            help="Print the run as one JSON object (with --wait, only once it finished).",
        )
        parser.add_argument(
            "--wait",
            action="store_true",
            help="Follow the run until it finishes: a progress bar on a terminal, a line "
            "per stage otherwise.",
        )
        parser.add_argument(
            "--interval",
            type=float,
            help=f"Seconds between looks at the run while waiting (default {DEFAULT_INTERVAL}).",
        )
        parser.add_argument(
            "--timeout",
            type=float,
            help="Stop waiting after this many seconds (exit status 1); the run continues.",
        )

    def handle(self, *args, **opts):
        try:
            run_id = int(opts["run_id"])
        except ValueError:
            raise _bad(f"RUN_ID must be a run's number, not {opts['run_id']!r}.") from None
        for option in ("interval", "timeout"):
            value = opts[option]
            if value is None:
                continue
            if not opts["wait"]:
                raise _bad(f"--{option} is for --wait.")
            if not value > 0:
                raise _bad(f"--{option} must be more than 0 seconds.")
        run = SyncRun.objects.filter(pk=run_id).first()
        if run is None:
            raise _bad(f"There is no sync run #{run_id}.")

        if opts["wait"]:
            line = None if opts["json"] else terminal.ProgressLine(self.stdout)
            run = self._wait(
                run,
                line=line,
                interval=opts["interval"] or DEFAULT_INTERVAL,
                timeout=opts["timeout"],
                as_json=opts["json"],
            )
        if opts["json"]:
            self.stdout.write(json.dumps(run_report(run), default=str))
        elif run.is_active:
            self._print_active(run)
        else:
            terminal.write_report(self.stdout, self.style, run_report(run))
        if run.status == RunStatus.FAILED:
            raise CommandError(run.message or "The sync failed.", returncode=1)

    def _wait(
        self,
        run: SyncRun,
        *,
        line: terminal.ProgressLine | None,
        interval: float,
        timeout: float | None,
        as_json: bool,
    ) -> SyncRun:
        """Look at the run every `interval` seconds until it finishes; return it finished."""
        deadline = None if timeout is None else monotonic() + timeout
        try:
            while True:
                if line is not None:
                    self._show(line, run)
                if not run.is_active:
                    break
                left = None if deadline is None else deadline - monotonic()
                if left is not None and left <= 0:
                    self._timed_out(run, line, timeout, as_json)
                sleep(interval if left is None else min(interval, left))
                try:
                    run.refresh_from_db()
                except SyncRun.DoesNotExist:
                    if line is not None:
                        line.finish()
                    raise CommandError(
                        f"Run #{run.pk} was deleted while waiting for it.", returncode=1
                    ) from None
        except KeyboardInterrupt:
            if line is not None:
                line.finish()
            raise CommandError(
                f"Stopped waiting; run #{run.pk} continues on the worker "
                f"(python manage.py sync_status {run.pk} shows where it is).",
                returncode=INTERRUPTED,
            ) from None
        if line is not None:
            line.finish()
        return run

    def _show(self, line: terminal.ProgressLine, run: SyncRun) -> None:
        if run.is_active:
            line.update(run.percent, run.get_stage_display(), run.progress_done, run.progress_total)
        else:
            # A finished run's stage is "done" whether it succeeded or failed (say which),
            # and its counts are those of whichever stage it was last in (leave them out).
            line.update(run.percent, run.get_status_display())

    def _timed_out(
        self,
        run: SyncRun,
        line: terminal.ProgressLine | None,
        timeout: float | None,
        as_json: bool,
    ) -> None:
        if line is not None:
            line.finish()
        if as_json:
            self.stdout.write(json.dumps(run_report(run), default=str))
        where = "queued" if run.status == RunStatus.QUEUED else f"running ({run.stage})"
        raise CommandError(
            f"Stopped waiting after {timeout:g} s: run #{run.pk} is still {where} "
            "and continues on the worker.",
            returncode=1,
        )

    def _print_active(self, run: SyncRun) -> None:
        kind = "Dry run" if run.dry_run else "Run"
        if run.status == RunStatus.QUEUED:
            self.stdout.write(
                f"{kind} #{run.pk} queued at {run.created_at:%Y-%m-%d %H:%M:%S} UTC, "
                "waiting for a worker."
            )
            return
        stage = run.get_stage_display()
        if run.progress_total:
            stage += f" {run.progress_done:,}/{run.progress_total:,}"
        elif run.progress_done:
            stage += f" {run.progress_done:,}"
        self.stdout.write(f"{kind} #{run.pk} {run.status}: {stage} ({run.percent}% overall)")
        if run.started_at:
            beat = f", last heartbeat {run.heartbeat_at:%H:%M:%S} UTC" if run.heartbeat_at else ""
            self.stdout.write(
                f"Started {run.started_at:%Y-%m-%d %H:%M:%S} UTC on {run.worker or '?'}{beat}."
            )
