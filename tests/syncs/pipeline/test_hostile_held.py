"""Rule Q against damaged rows (issue #10): an unreadable school row holds its school and
everything in it; an enrollment whose role cannot be read is held.

They run on SQLite and, in CI, on PostgreSQL. Shared helpers: tests/syncs/hostile.py.
"""

from __future__ import annotations

import pytest

from rostering.models import Enrollment, Person
from syncs.selectors import run_issue_queryset
from tests.helpers import snapshot
from tests.syncs.hostile import edit, rerun, school_district, settled

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------- 1. unreadable school row


@pytest.mark.parametrize("damage", ["one cell too many", "NUL in the name"])
def test_Q_unreadable_school_row_holds_its_school_and_everything_in_it(
    sync, config, tmp_path, damage
):
    d = school_district()
    sync(d)
    before = snapshot()
    d.drop_user("s13")  # a student really gone from the files: held too, with the school
    d.users[1]["givenName"] = "Renamed"  # a change in the held school waits for its row
    folder = d.write(tmp_path / "roster")
    orgs = folder / "orgs.csv"
    if damage == "one cell too many":
        edit(orgs, "0123,,,Lincoln Elementary,school,,", "0123,,,Lincoln Elementary,school,,,x")
    else:
        edit(orgs, "Lincoln Elementary", "Lincoln\0Elementary")
    config.deletion_threshold = 60
    config.save()
    run = rerun(config)
    settled(run)
    assert run.status == "succeeded", run.message
    assert run.counts["students"]["archived"] == 0
    assert not Person.objects.filter(archived_at__isnull=False).exists()
    assert not Enrollment.objects.filter(archived_at__isnull=False).exists()
    assert snapshot() == before  # school 0123 is exactly as it was; 0456 had no change
    bad = run_issue_queryset(run).get(code="invalid_row", file="orgs.csv")
    assert bad.source_id == "0123" and bad.line == 3


def test_Q_unreadable_school_row_of_a_configured_school_is_not_schools_not_found(
    sync, config, tmp_path
):
    d = school_district()
    sync(d, schools=["0123"])
    edit(d.write(tmp_path / "roster") / "orgs.csv", "Lincoln Elementary", "Lincoln\0Elementary")
    run = rerun(config)
    settled(run)
    assert run.status == "succeeded", run.message
    assert not Person.objects.filter(archived_at__isnull=False).exists()


def test_Q_unreadable_district_row_holds_nothing(sync, config, tmp_path):
    d = school_district()
    sync(d)
    d.users[1]["givenName"] = "Renamed"
    edit(d.write(tmp_path / "roster") / "orgs.csv", "District,district", "District,district,x")
    run = rerun(config)
    settled(run)
    assert Person.objects.get(source_id=d.users[1]["sourcedId"]).given_name == "Renamed"


def test_Q_unreadable_clever_school_row_holds_its_school(sync, config, tmp_path):
    from devtools.generator import generate_district

    folder = tmp_path / "clever"
    generate_district(out=folder, students=60, seed=3, format="clever", problems=False)
    config.path = str(folder)
    config.deletion_threshold = 100
    config.save()
    assert rerun(config).status == "succeeded"
    before = snapshot()
    schools = folder / "schools.csv"
    lines = schools.read_text(encoding="utf-8").splitlines()
    lines[1] += ",one cell too many"
    schools.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = rerun(config)
    settled(run)
    assert run.status == "succeeded", run.message
    assert snapshot() == before


# ---------------------------------------------------------------- 7. enrollment roles


@pytest.mark.parametrize("role", ["stduent", ""])
def test_Q_an_enrollment_whose_role_is_a_typo_or_empty_is_held(sync, config, tmp_path, role):
    d = school_district()
    sync(d)
    for e in d.enrollments:
        if e["userSourcedId"] == "s11":
            e["role"] = role
    config.deletion_threshold = 0
    run = sync(d, threshold=0)
    settled(run)
    assert run.status == "succeeded", run.message
    kept = Enrollment.objects.get(person__source_id="s11")
    assert kept.archived_at is None
    bad = run_issue_queryset(run).get(code="invalid_row", file="enrollments.csv")
    assert bad.field == "role" and bad.value == role
