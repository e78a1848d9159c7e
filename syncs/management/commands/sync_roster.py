"""python manage.py sync_roster --org SLUG (--path DIR_OR_ZIP | --source sftp ...): one sync,
inline (with a progress bar on a terminal), or queued on the worker with --queue."""

from __future__ import annotations

import contextvars
import json
import os
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.text import slugify

from rostering.models import Organization
from syncs import progress, terminal
from syncs.models import RosterFormat, RunStatus, SourceKind, SyncConfig, SyncRun, Trigger
from syncs.selectors import run_report
from syncs.services import sync_run_execute, sync_run_request

LOCAL_CONFIG_NAME = "Local files"
SFTP_CONFIG_NAME = "SFTP"
API_CONFIGS = {  # --source -> (config name, source kind)
    "clever": ("Clever API", SourceKind.CLEVER_API),
    "oneroster": ("OneRoster API", SourceKind.ONEROSTER_API),
}
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
        parser.add_argument("--org", required=True, help="Organization slug (created if new).")
        parser.add_argument(
            "--source",
            choices=["files", "sftp", "clever", "oneroster"],
            default="files",
            help="files: --path (default); sftp: the --host/--user/... options; clever and "
            "oneroster: --url with a token or OAuth client.",
        )
        parser.add_argument("--path", help="Folder or .zip of roster files (--source files).")
        parser.add_argument(
            "--format",
            choices=list(FORMATS),
            help="Roster format; detected from the files when left out.",
        )
        api = parser.add_argument_group("APIs (--source clever | oneroster)")
        api.add_argument("--url", help="Base URL (https; plain http only to 127.0.0.1).")
        api.add_argument("--token", help="Clever district token (or ROLLCALL_API_TOKEN).")
        api.add_argument("--client-id", help="OneRoster OAuth client ID.")
        api.add_argument(
            "--client-secret", help="OneRoster OAuth client secret (or ROLLCALL_CLIENT_SECRET)."
        )
        api.add_argument("--oauth", choices=["1", "2"], help="OAuth 1.0a (default) or 2.0.")
        api.add_argument(
            "--signature",
            choices=["HMAC-SHA256", "HMAC-SHA1"],
            help="OAuth 1.0a signature method (default HMAC-SHA256).",
        )
        api.add_argument("--token-url", help="OAuth 2 token endpoint (default {url}/token).")
        sftp = parser.add_argument_group("SFTP (--source sftp)")
        sftp.add_argument("--host")
        sftp.add_argument("--port", type=int, default=None, help="Default 22.")
        sftp.add_argument("--user")
        sftp.add_argument(
            "--password",
            help="Prefer the ROLLCALL_SFTP_PASSWORD environment variable: a command line "
            "is visible to other users and kept in shell history.",
        )
        sftp.add_argument("--key-file", help="Private key file (OpenSSH or PEM).")
        sftp.add_argument("--remote-dir", help="Folder on the server (default: the login folder).")
        sftp.add_argument(
            "--host-key",
            help="Pin the server's host key fingerprint (SHA256:...). Without it, the first "
            "connection records the key it is shown and says so.",
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
        slug = opts["org"].strip()
        if not slug or slugify(slug) != slug:
            raise _bad(f"--org {slug!r} is not a valid slug (lower-case letters, digits, hyphens).")
        path = None
        if opts["source"] == "files":
            if not opts["path"]:
                raise _bad("--path is required (or use --source sftp).")
            path = Path(opts["path"]).expanduser()
            if not path.exists():
                raise _bad(f"--path {path} does not exist.")
        elif opts["path"]:
            raise _bad(f"--path is for --source files, not --source {opts['source']}.")
        threshold = None
        if opts["threshold"] is not None:
            try:
                threshold = Decimal(opts["threshold"])
            except InvalidOperation:
                raise _bad(f"--threshold {opts['threshold']!r} is not a number.") from None
            if not Decimal(0) <= threshold <= Decimal(100):
                raise _bad("--threshold must be between 0 and 100.")
        schools = None
        if opts["schools"] is not None:
            schools = [s.strip() for s in opts["schools"].split(",") if s.strip()]
            if not schools:
                raise _bad("--schools is empty.")

        org, _ = Organization.objects.get_or_create(
            slug=slug, defaults={"name": slug.replace("-", " ").title()}
        )
        if path is not None:
            config, _ = SyncConfig.objects.get_or_create(
                organization=org,
                name=LOCAL_CONFIG_NAME,
                defaults={"source_kind": SourceKind.LOCAL_FILES},
            )
            config.path = str(path.resolve())
        elif opts["source"] == "sftp":
            config, _ = SyncConfig.objects.get_or_create(
                organization=org, name=SFTP_CONFIG_NAME, defaults={"source_kind": SourceKind.SFTP}
            )
            self._sftp_settings(config, opts)
        else:
            name, kind = API_CONFIGS[opts["source"]]
            config, _ = SyncConfig.objects.get_or_create(
                organization=org, name=name, defaults={"source_kind": kind}
            )
            self._api_settings(config, opts)
        if opts["format"]:
            config.format = FORMATS[opts["format"]]
        if schools is not None:
            config.school_ids = schools
        if threshold is not None:
            config.deletion_threshold = threshold
        config.full_clean()
        config.save()
        if config.source_kind == SourceKind.SFTP and not config.sftp_host_key:
            self._record_host_key(config)

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

    def _api_settings(self, config: SyncConfig, opts: dict) -> None:
        """Apply the API options; anything left out keeps what the config already has."""
        from syncs.clients.http import check_url
        from syncs.errors import SyncFailure

        if opts["url"]:
            try:
                config.api_url = check_url(opts["url"])
            except SyncFailure as exc:
                raise _bad(f"--url: {exc.message}") from None
        if not config.api_url:
            raise _bad("--url is required for an API source.")
        if opts["source"] == "clever":
            token = opts["token"] or os.environ.get("ROLLCALL_API_TOKEN")
            if token:
                config.api_token = token
            if not config.api_token:
                raise _bad("A Clever sync needs --token (or ROLLCALL_API_TOKEN).")
            return
        secret = opts["client_secret"] or os.environ.get("ROLLCALL_CLIENT_SECRET")
        for option, field in (
            ("client_id", "oauth_client_id"),
            ("oauth", "oauth_version"),
            ("signature", "oauth_signature"),
            ("token_url", "oauth_token_url"),
        ):
            if opts[option]:
                setattr(config, field, opts[option])
        if secret:
            config.oauth_client_secret = secret
        if not (config.oauth_client_id and config.oauth_client_secret):
            raise _bad(
                "A OneRoster sync needs --client-id and --client-secret "
                "(or ROLLCALL_CLIENT_SECRET)."
            )

    def _sftp_settings(self, config: SyncConfig, opts: dict) -> None:
        """Apply the SFTP options; anything left out keeps what the config already has."""
        password = opts["password"] or os.environ.get("ROLLCALL_SFTP_PASSWORD")
        if opts["key_file"]:
            try:
                config.sftp_private_key = Path(opts["key_file"]).expanduser().read_text()
            except (OSError, UnicodeDecodeError) as exc:
                raise _bad(f"--key-file cannot be read: {exc}.") from None
        if password:
            config.sftp_password = password
        for option, field in (
            ("host", "sftp_host"),
            ("user", "sftp_username"),
            ("remote_dir", "sftp_remote_dir"),
            ("port", "sftp_port"),
        ):
            if opts[option] is not None:
                setattr(config, field, opts[option])
        if opts["host_key"]:
            from syncs.clients.sftp import normalize_fingerprint

            pinned = normalize_fingerprint(opts["host_key"])
            if not pinned:
                raise _bad(
                    "--host-key must be a SHA256 fingerprint (SHA256:...), as ssh-keyscan "
                    "| ssh-keygen -lf - prints it."
                )
            config.sftp_host_key = pinned
        missing = [
            name
            for name, value in (("--host", config.sftp_host), ("--user", config.sftp_username))
            if not value
        ]
        if not (config.sftp_password or config.sftp_private_key):
            missing.append("--password or --key-file")
        if missing:
            raise _bad("An SFTP sync needs " + ", ".join(missing) + ".")

    def _record_host_key(self, config: SyncConfig) -> None:
        """First use: record the key the server shows, and say so (never silently)."""
        from syncs.sources.sftp import test_connection

        report = test_connection(config)
        if not report.ok:
            # The run that follows fails too (no pinned key); this says why.
            self.stderr.write(f"SFTP connection test failed: {report.message}")
        elif report.recorded:
            self.stderr.write(
                f"Recorded the SFTP server's host key {report.fingerprint} on first "
                "connection. Confirm it with the district and pass --host-key next time."
            )
