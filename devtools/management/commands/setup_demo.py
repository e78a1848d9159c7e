"""python manage.py setup_demo: the demo district `make run` shows, idempotently.

Generates a ~2,000-student OneRoster district under var/, syncs it once, and makes sure
an `admin` superuser exists with the password kept in var/admin-password.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from accounts.models import User
from rostering.models import Organization
from syncs.models import SourceKind, SyncConfig
from syncs.services import sync_run_create, sync_run_execute

DEMO_SLUG = "demo"
DEMO_STUDENTS = 2000
DEMO_SEED = 2026


class Command(BaseCommand):
    help = "Create the demo district, run its first sync, and ensure an admin login."

    def add_arguments(self, parser):
        parser.add_argument("--students", type=int, default=DEMO_STUDENTS)
        parser.add_argument(
            "--url", default="http://127.0.0.1:8000", help="Where the site is served."
        )

    def handle(self, *args, **opts):
        var = Path(settings.VAR_DIR)
        folder = var / "demo-district"
        if not (folder / "users.csv").exists():
            call_command(
                "generate_district",
                students=opts["students"],
                seed=DEMO_SEED,
                out=str(folder),
                stdout=self.stdout,
            )
        org, _ = Organization.objects.get_or_create(
            slug=DEMO_SLUG, defaults={"name": "Demo Unified School District"}
        )
        config, _ = SyncConfig.objects.get_or_create(
            organization=org,
            name="Local files",
            defaults={"source_kind": SourceKind.LOCAL_FILES, "path": str(folder)},
        )
        if not config.runs.exists():
            run = sync_run_execute(run=sync_run_create(config=config))
            self.stdout.write(f"First sync of the demo district: {run.status}. {run.message}")
        else:
            self.stdout.write("Demo district already synced; leaving it as it is.")
        password = self._admin_password(var / "admin-password")
        self.stdout.write(
            self.style.SUCCESS(
                f"\nRollcall is ready: {opts['url'].rstrip('/')}/admin/\n"
                f"  user: admin\n  password: {password}  (kept in {var / 'admin-password'})\n"
            )
        )

    def _admin_password(self, path: Path) -> str:
        password = path.read_text().strip() if path.exists() else secrets.token_urlsafe(12)
        user, _ = User.objects.get_or_create(
            username="admin", defaults={"is_staff": True, "is_superuser": True}
        )
        if not user.check_password(password):
            user.set_password(password)
            user.is_staff = user.is_superuser = True
            user.save()
        path.write_text(password + "\n")
        path.chmod(0o600)
        return password
