"""python manage.py setup_demo: the demo district `make run` shows, idempotently.

Generates a ~2,000-student OneRoster district under var/, syncs it once, and makes sure
three logins exist, each with its password kept under var/: an `admin` superuser (the
admin site), and for the sync tab a district admin of the demo district and a school
admin of its first school.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from accounts.models import Membership, MembershipRole, User
from rostering.models import Organization, School
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
        url = opts["url"].rstrip("/")
        password = self._admin_password(var / "admin-password")
        lines = [
            "\nRollcall is ready.",
            f"  The admin site, for support staff: {url}/admin/",
            f"    user: admin  password: {password}  (kept in {var / 'admin-password'})",
            f"  The sync tab, for district and school admins: {url}/login/",
        ]
        district, path = self._login(var, "district-admin", "District")
        Membership.objects.get_or_create(
            user=district, organization=org, school=None, role=MembershipRole.DISTRICT_ADMIN
        )
        lines.append(f"    district admin of {org.name}:  user: district-admin  {path}")
        school = School.objects.filter(organization=org).order_by("sis_id").first()
        if school is not None:
            admin, path = self._login(var, "school-admin", "School")
            Membership.objects.get_or_create(
                user=admin, organization=org, school=school, role=MembershipRole.SCHOOL_ADMIN
            )
            lines.append(f"    school admin of {school.name}:  user: school-admin  {path}")
        self.stdout.write(self.style.SUCCESS("\n".join(lines) + "\n"))

    def _admin_password(self, path: Path) -> str:
        password = self._password(path)
        user, _ = User.objects.get_or_create(
            username="admin", defaults={"is_staff": True, "is_superuser": True}
        )
        if not user.check_password(password):
            user.set_password(password)
            user.is_staff = user.is_superuser = True
            user.save()
        return password

    def _login(self, var: Path, username: str, first_name: str) -> tuple[User, str]:
        """A demo admin of the sync tab (never staff), its password kept in var/; returns
        the user and "password: … (kept in …)"."""
        path = var / f"{username}-password"
        password = self._password(path)
        user, _ = User.objects.get_or_create(
            username=username, defaults={"first_name": first_name, "last_name": "Admin"}
        )
        if not user.check_password(password) or user.is_staff or not user.is_active:
            user.set_password(password)
            user.is_staff = user.is_superuser = False
            user.is_active = True
            user.save()
        return user, f"password: {password}  (kept in {path})"

    def _password(self, path: Path) -> str:
        password = path.read_text().strip() if path.exists() else secrets.token_urlsafe(12)
        path.write_text(password + "\n")
        path.chmod(0o600)
        return password
