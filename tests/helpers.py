"""What many test files share: the fixed clock, paths, and the database read back as
plain data. Fixtures live in the conftest.py files; District builders in tests/builders.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from accounts.models import ContactDevice, NormalizedDevice, User
from rostering.models import Class, Enrollment, Guardianship, Organization, Person, School
from syncs.models import Issue, PlannedArchive, SchoolSummary, SourceKind, SyncConfig, SyncRun
from syncs.selectors import run_issue_queryset

# The instant the `sync` fixture runs at.
NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
# The project (manage.py lives here) and the public sample files beside it.
ROOT = Path(__file__).resolve().parents[1]
ROSTER_SAMPLES = ROOT.parent / "shared" / "roster-samples"


# ---------------------------------------------------------------- the mirror as plain data


def snapshot():
    """Everything a sync may write, as comparable plain data."""
    return {
        "people": sorted(
            Person.objects.values_list(
                "source_id",
                "role",
                "given_name",
                "family_name",
                "email",
                "phone",
                "dob",
                "archived_at",
                "account_id",
            )
        ),
        "classes": sorted(
            Class.objects.values_list("source_id", "name", "school__sis_id", "archived_at")
        ),
        "enrollments": sorted(
            Enrollment.objects.values_list("source_id", "role", "primary", "archived_at")
        ),
        "guardianships": sorted(Guardianship.objects.values_list("source_id", "archived_at")),
        "devices": sorted(ContactDevice.objects.values_list("account_id", "kind", "value")),
        "users": sorted(User.objects.values_list("pk", "first_name", "last_name", "is_active")),
        "schools": sorted(School.objects.values_list("sis_id", "name")),
    }


def devices_of(source_id):
    person = Person.objects.get(source_id=source_id)
    return sorted(
        ContactDevice.objects.filter(account=person.account_id).values_list("kind", "value")
    )


def issue_codes(run):
    return sorted(run_issue_queryset(run).values_list("code", "source_id"))


def wipe() -> None:
    """An empty database for the next district: every synced row, config and run."""
    for model in (
        Issue,
        PlannedArchive,
        SchoolSummary,
        Enrollment,
        Guardianship,
        Class,
        Person,
        ContactDevice,
        School,
        SyncRun,
        SyncConfig,
        Organization,
        NormalizedDevice,
    ):
        model.objects.all().delete()
    User.objects.filter(is_staff=False).delete()


# ---------------------------------------------------------------- the nightly clock


LA = ZoneInfo("America/Los_Angeles")
MINUTE = timedelta(minutes=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(*args: int) -> datetime:
    """A Los Angeles wall time (the first one, when the clock shows it twice) in UTC."""
    return datetime(*args, tzinfo=LA).astimezone(UTC)


def make_config(org, name: str, **fields) -> SyncConfig:
    fields.setdefault("source_kind", SourceKind.LOCAL_FILES)
    return SyncConfig.objects.create(organization=org, name=name, **fields)
