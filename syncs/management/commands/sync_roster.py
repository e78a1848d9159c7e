"""python manage.py sync_roster --org SLUG (--path DIR_OR_ZIP | --source sftp ...): one sync,
inline (with a progress bar on a terminal), or queued on the worker with --queue."""

from __future__ import annotations

import contextvars
import json
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.text import slugify

from syncs import progress, terminal
from syncs.models import RosterFormat, RunStatus, SyncConfig, SyncRun, Trigger
from syncs.selectors import run_report
from syncs.services import sync_run_execute, sync_run_request
from syncs.services.configs import sync_config_current, sync_config_upsert
from syncs.sources import OptionError, all_sources, source_for_command

FORMATS = {
    "auto": RosterFormat.AUTO,
    "oneroster11": RosterFormat.ONEROSTER_1_1_CSV,
    "oneroster12": RosterFormat.ONEROSTER_1_2_CSV,
    "clever": RosterFormat.CLEVER_CSV,
}


def _bad(message: str) -> CommandError:
    return CommandError(message, returncode=2)


class Command(BaseCommand):
    help = (
        "Sync an organization now, from roster files in a folder or zip (--path) or on an "
        "SFTP server (--source sftp). Creates the organization and its sync config when "
        "missing. With --queue, hand the run to the worker and print its id instead (follow "
        "it with sync_status). Exit status: 0 when the run succeeded (or was queued), 1 when "
        "it failed, 2 on bad arguments."
    )

    def add_arguments(self, parser):
        sources = [s for s in all_sources() if s.command]
        parser.add_argument("--org", required=True, help="Organization slug (created if new).")
        parser.add_argument(
            "--source",
            choices=[s.command for s in sources],
            default="files",
            help="files: --path (default); sftp: the --host/--user/... options; clever and "
            "oneroster: --url with a token or OAuth client.",
        )
        groups: dict[str, object] = {}
        added: set[str] = set()
        for source in sources:  # each source's options, once each (--url is shared)
            where = parser
            if source.option_group:
                where = groups.setdefault(
                    source.option_group, parser.add_argument_group(source.option_group)
                )
            for option in source.options:
                if option.flags[0] in added:
                    continue
                added.add(option.flags[0])
                extra = {"choices": list(option.choices)} if option.choices else {}
                where.add_argument(*option.flags, help=option.help, type=option.type, **extra)
            if source.command == "files":
                parser.add_argument(
                    "--format",
                    choices=list(FORMATS),
                    help="Roster format; detected from the files when left out.",
                )
        parser.add_argument(
            "--schools", help="Comma-separated SIS school IDs to sync (exact, leading zeros kept)."
        )
        parser.add_argument("--threshold", help="Deletion threshold in percent (0-100).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Plan and report; change nothing."
        )
        parser.add_argument(
            "--queue",
            action="store_true",
            help="Queue the run on the worker and print its id, instead of running it here. "
            "When the config already has a queued or running run, print that one's id.",
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args, **opts):
        config = self._configure(opts)
        if opts["queue"]:
            self._queue(config, dry_run=opts["dry_run"], as_json=opts["json"])
            return
        run, created = sync_run_request(config=config, dry_run=opts["dry_run"], enqueue=False)
        if not created:
            # One run at a time per config: this one is queued or running elsewhere.
            status = run.get_status_display().lower()
            message = (
                f"Run #{run.pk} of this sync is already {status}; not started again. "
                f"Follow it with: python manage.py sync_status {run.pk} --wait"
            )
            if opts["json"]:
                self.stdout.write(json.dumps({**run_report(run), "existing": True}, default=str))
            raise CommandError(message, returncode=1)
        try:
            if not opts["json"] and self.stdout.isatty():
                run = self._execute_with_bar(run)
            else:
                run = sync_run_execute(run=run)
        except KeyboardInterrupt:
            # The service has failed the run already, saying what was changed.
            run.refresh_from_db()
            if opts["json"]:
                self.stdout.write(json.dumps(run_report(run), default=str))
            raise CommandError(f"Stopped. Run #{run.pk}: {run.message}", returncode=130) from None
        report = run_report(run)
        if opts["json"]:
            self.stdout.write(json.dumps(report, default=str))
        else:
            terminal.write_report(self.stdout, self.style, report)
        if run.status != RunStatus.SUCCEEDED:
            raise CommandError(run.message or "The sync failed.", returncode=1)

    def _configure(self, opts: dict) -> SyncConfig:
        """Check the options, then create or update the organization's config (the
        service validates and saves it). Bad options exit 2 and change nothing."""
        slug = opts["org"].strip()
        if not slug or slugify(slug) != slug:
            raise _bad(f"--org {slug!r} is not a valid slug (lower-case letters, digits, hyphens).")
        source = source_for_command(opts["source"])
        if opts["path"] and source.command != "files":
            raise _bad(f"--path is for --source files, not --source {opts['source']}.")
        try:
            # The config as it stands is read only by sources whose left-out options
            # keep its values: a bad --path exits before the database is touched.
            values = source.option_values(
                opts,
                lambda: sync_config_current(
                    organization_slug=slug, name=source.config_name, source_kind=source.kind
                ),
            )
        except OptionError as exc:
            raise _bad(str(exc)) from None
        if opts["threshold"] is not None:
            try:
                threshold = Decimal(opts["threshold"])
            except InvalidOperation:
                raise _bad(f"--threshold {opts['threshold']!r} is not a number.") from None
            if not Decimal(0) <= threshold <= Decimal(100):
                raise _bad("--threshold must be between 0 and 100.")
            values["deletion_threshold"] = threshold
        if opts["schools"] is not None:
            schools = [s.strip() for s in opts["schools"].split(",") if s.strip()]
            if not schools:
                raise _bad("--schools is empty.")
            values["school_ids"] = schools
        if opts.get("format"):
            values["format"] = FORMATS[opts["format"]]
        try:
            config = sync_config_upsert(
                organization_slug=slug,
                name=source.config_name,
                source_kind=source.kind,
                values=values,
            )
        except ValidationError as exc:
            raise _bad("; ".join(exc.messages)) from None
        source.after_save(config, self.stderr.write)
        return config

    def _queue(self, config: SyncConfig, *, dry_run: bool, as_json: bool) -> None:
        run, created = sync_run_request(config=config, trigger=Trigger.MANUAL, dry_run=dry_run)
        status = run.status
        if created:
            # Outside a transaction the run was handed to the queue already; if the queue
            # refused it, the run was failed at once and saying "queued" would be wrong.
            failed = SyncRun.objects.filter(pk=run.pk, status=RunStatus.FAILED).first()
            if failed is not None:
                if as_json:
                    self.stdout.write(json.dumps(run_report(failed), default=str))
                raise CommandError(failed.message, returncode=1)
        if as_json:
            out: dict = {"run": {"id": run.pk, "status": status}}
            if not created:
                out["existing"] = True
            self.stdout.write(json.dumps(out))
            return
        if created:
            self.stdout.write(f"Run #{run.pk} queued")
        else:
            self.stdout.write(f"Run #{run.pk} is already {status}; not queued again")
        self.stdout.write(f"Follow it with: python manage.py sync_status {run.pk} --wait")

    def _execute_with_bar(self, run: SyncRun) -> SyncRun:
        """Run the sync here while a thread draws its in-memory progress on the terminal.

        The run's Progress lives in a context variable of the context executing it; the
        sync runs in a context of its own, so the drawing thread can read the variable
        from a snapshot of that context (`Context.copy()` is cheap and never enters it).
        """
        context = contextvars.copy_context()
        line = terminal.ProgressLine(self.stdout, tty=True)
        with terminal.drawing(line, lambda: context.copy().run(progress.current)):
            return context.run(sync_run_execute, run=run)
