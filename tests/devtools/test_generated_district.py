"""A whole generated district: deterministic files, a full sync, a re-sync that changes nothing."""

from __future__ import annotations

import csv
import filecmp
from collections import Counter
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from devtools.generator import generate_district
from rostering.models import Class, Enrollment, Person
from syncs.models import SyncConfig
from syncs.selectors import run_issue_queryset
from syncs.services import sync_run_create, sync_run_execute
from tests.helpers import snapshot


def rows(path):
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_generate_district_is_deterministic_for_a_seed(tmp_path):
    generate_district(students=300, seed=5, out=tmp_path / "a")
    generate_district(students=300, seed=5, out=tmp_path / "b")
    generate_district(students=300, seed=6, out=tmp_path / "c")
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    match, mismatch, errors = filecmp.cmpfiles(tmp_path / "a", tmp_path / "b", names, shallow=False)
    assert mismatch == errors == [] and len(match) == len(names) >= 8
    assert not filecmp.cmp(
        tmp_path / "a" / "users.csv", tmp_path / "c" / "users.csv", shallow=False
    )


def test_generated_district_has_the_documented_shape(tmp_path):
    generate_district(students=2000, seed=1, out=tmp_path)
    users = rows(tmp_path / "users.csv")
    roles = Counter(u["role"] for u in users)
    parents = roles["parent"] + roles["guardian"] + roles["relative"]
    assert roles["student"] == 2000
    assert 100 <= roles["teacher"] <= 135  # about one per 17 students
    assert 2700 <= parents <= 3300  # about 1.5 per student
    schools = [o["sourcedId"] for o in rows(tmp_path / "orgs.csv") if o["type"] == "school"]
    assert any(s.startswith("0") for s in schools)
    assert any(ch in "".join(u["givenName"] + u["familyName"] for u in users) for ch in "éñöü'")
    enrollments = rows(tmp_path / "enrollments.csv")
    per_student = Counter(e["userSourcedId"] for e in enrollments if e["role"] == "student")
    assert set(per_student.values()) == {7}


def test_generate_district_command_rejects_bad_arguments(tmp_path):
    with pytest.raises(CommandError, match="--students"):
        call_command("generate_district", students=0, out=str(tmp_path), stdout=StringIO())


@pytest.mark.django_db
def test_generated_district_full_sync_then_resync_changes_nothing(tmp_path, org):
    folder = tmp_path / "district"
    generate_district(students=400, seed=3, out=folder)
    config = SyncConfig.objects.create(
        organization=org, name="gen", source_kind="local_files", path=str(folder)
    )
    first = sync_run_execute(run=sync_run_create(config=config))
    assert first.status == "succeeded", first.message

    users = rows(folder / "users.csv")
    students_in_file = sum(u["role"] == "student" for u in users)
    student_errors = run_issue_queryset(first).filter(code="student_dob").count()
    assert Person.objects.filter(role="student").count() == students_in_file - student_errors
    assert first.counts["students"]["created"] == students_in_file - student_errors
    classes_in_file = len(rows(folder / "classes.csv"))
    class_errors = (
        run_issue_queryset(first)
        .filter(record_kind="class", severity="error")
        .values("source_id")
        .distinct()
        .count()
    )
    assert Class.objects.count() == classes_in_file - class_errors
    assert Enrollment.objects.count() > 7 * Person.objects.filter(role="student").count() * 0.9
    codes = set(run_issue_queryset(first).values_list("code", flat=True))
    assert codes >= {
        "student_dob",
        "parent_contact",
        "parent_name",
        "teacher_email",
        "class_no_teacher",
        "class_invalid_name",
        "unsupported_phone",
        "invalid_email",
        "many_guardians",
        "device_in_use",
    }

    before = snapshot()
    first_issues = sorted(run_issue_queryset(first).values_list("code", "source_id", "message"))
    second = sync_run_execute(run=sync_run_create(config=config))
    assert second.status == "succeeded"
    assert snapshot() == before
    for kind, counts in second.counts.items():
        assert counts["created"] == counts["updated"] == counts["archived"] == 0, kind
    # The same input finds the same issues (rule D4: device losers included).
    assert (
        sorted(run_issue_queryset(second).values_list("code", "source_id", "message"))
        == first_issues
    )
