"""python manage.py sync_roster --org SLUG --path DIR_OR_ZIP [...]: one sync, inline."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.text import slugify

from rostering.models import Organization
from syncs.models import RunStatus, SourceKind, SyncConfig
from syncs.selectors import run_report
from syncs.services import sync_run_create, sync_run_execute

LOCAL_CONFIG_NAME = "Local files"


def _bad(message: str) -> CommandError:
    return CommandError(message, returncode=2)


class Command(BaseCommand):
    help = (
        "Sync an organization from OneRoster CSV files in a folder or zip, now. Creates the "
        "organization and its local-files sync config when missing. Exit status: 0 when the "
        "run succeeded, 1 when it failed, 2 on bad arguments."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="Organization slug (created if new).")
        parser.add_argument("--path", required=True, help="Folder or .zip of roster files.")
        parser.add_argument(
            "--schools", help="Comma-separated SIS school IDs to sync (exact, leading zeros kept)."
        )
        parser.add_argument("--threshold", help="Deletion threshold in percent (0-100).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Plan and report; change nothing."
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args, **opts):
        slug = opts["org"].strip()
        if not slug or slugify(slug) != slug:
            raise _bad(f"--org {slug!r} is not a valid slug (lower-case letters, digits, hyphens).")
        path = Path(opts["path"]).expanduser()
        if not path.exists():
            raise _bad(f"--path {path} does not exist.")
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
        config, _ = SyncConfig.objects.get_or_create(
            organization=org,
            name=LOCAL_CONFIG_NAME,
            defaults={"source_kind": SourceKind.LOCAL_FILES},
        )
        config.path = str(path.resolve())
        if schools is not None:
            config.school_ids = schools
        if threshold is not None:
            config.deletion_threshold = threshold
        config.full_clean()
        config.save()

        run = sync_run_execute(run=sync_run_create(config=config, dry_run=opts["dry_run"]))
        report = run_report(run)
        if opts["json"]:
            self.stdout.write(json.dumps(report, default=str))
        else:
            self._print(report)
        if run.status != RunStatus.SUCCEEDED:
            raise CommandError(run.message or "The sync failed.", returncode=1)

    def _print(self, report: dict) -> None:
        r = report["run"]
        kind = "Dry run" if r["dry_run"] else "Run"
        seconds = f" in {r['duration_seconds']:.1f} s" if r["duration_seconds"] is not None else ""
        headline = f"{kind} #{r['id']} {r['status']}{seconds}"
        if r["failure_reason"]:
            headline += f" ({r['failure_reason']})"
        style = self.style.SUCCESS if r["status"] == RunStatus.SUCCEEDED else self.style.ERROR
        self.stdout.write(style(headline))
        self.stdout.write(r["message"])
        self.stdout.write(
            f"{'':14}{'created':>9}{'updated':>9}{'archived':>9}{'unchanged':>10}{'errors':>8}"
        )
        for kind, c in report["counts"].items():
            self.stdout.write(
                f"{kind:14}{c['created']:>9}{c['updated'] + c['unarchived']:>9}"
                f"{c['archived']:>9}{c['unchanged']:>10}{c['quarantined']:>8}"
            )
        totals = report["diagnostics"].get("issues", {})
        if totals:
            self.stdout.write("Issues: " + ", ".join(f"{code} {n}" for code, n in totals.items()))
