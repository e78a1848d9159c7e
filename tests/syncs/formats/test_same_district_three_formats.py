"""One district as OneRoster 1.1, OneRoster 1.2 and Clever CSV syncs to the same result
(issue #4). Each format is synced into an empty mirror: accounts and devices are
platform-wide, so a second district holding the same people would lose every device to
the first (rule D3)."""

from __future__ import annotations

import pytest

from accounts.models import ContactDevice
from devtools.generator import generate_district
from rostering.models import Class, Enrollment, Guardianship, Organization, Person
from syncs.models import SyncConfig
from syncs.selectors import run_issue_queryset
from syncs.services import sync_run_create, sync_run_execute
from tests.helpers import wipe


def outcome(folder) -> dict:
    org = Organization.objects.create(name="District", slug="district")
    config = SyncConfig.objects.create(
        organization=org, name="files", source_kind="local_files", path=str(folder)
    )
    run = sync_run_execute(run=sync_run_create(config=config))
    assert run.status == "succeeded", run.message
    people = Person.objects.select_related("account")
    return {
        "format": run.diagnostics,
        "people": sorted(
            (
                p.source_id,
                p.role,
                f"{p.given_name} {p.family_name}".strip(),
                p.dob,
                p.grade,
                sorted(p.schools.values_list("sis_id", flat=True)),
            )
            for p in people
        ),
        "accounts": sorted(
            (p.source_id, p.account.is_active, p.account.get_full_name()) for p in people
        ),
        "devices": sorted(
            ContactDevice.objects.values_list("account__person__source_id", "kind", "value")
        ),
        "classes": sorted(Class.objects.values_list("source_id", "name", "school__sis_id", "term")),
        "enrollments": sorted(Enrollment.objects.values_list("source_id", "role", "primary")),
        "guardianships": sorted(Guardianship.objects.values_list("source_id", flat=True)),
        # File and line differ by format (students.csv vs users.csv); the rest must not.
        "issues": sorted(
            run_issue_queryset(run).values_list(
                "severity",
                "code",
                "school_sis_id",
                "record_kind",
                "source_id",
                "field",
                "value",
                "message",
            )
        ),
        "counts": run.counts,
    }


@pytest.mark.django_db
def test_the_same_district_syncs_the_same_as_oneroster_11_12_and_clever(tmp_path):
    results = {}
    for fmt in ("oneroster11", "oneroster12", "clever"):
        folder = tmp_path / fmt
        generate_district(students=400, seed=11, out=folder, format=fmt)
        wipe()
        results[fmt] = outcome(folder)
    base = results["oneroster11"]
    assert len(base["people"]) > 1000 and len(base["enrollments"]) > 2500
    assert {code for _s, code, *_r in base["issues"]} >= {
        "student_dob",
        "parent_contact",
        "parent_name",
        "teacher_email",
        "class_no_teacher",
        "class_invalid_name",
        "unsupported_phone",
        "invalid_email",
        "device_in_use",
    }
    for fmt in ("oneroster12", "clever"):
        for key in (
            "people",
            "accounts",
            "devices",
            "classes",
            "enrollments",
            "guardianships",
            "issues",
            "counts",
        ):
            assert results[fmt][key] == base[key], f"{fmt}: {key} differ"
