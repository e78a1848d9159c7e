"""Clever CSV contacts: the students.csv rows that become parents and guardian links,
matched across siblings, and the one DB test of a contact without a name."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from syncs.formats.clever_csv import contact_id, parse
from syncs.rules.validate import validate
from syncs.selectors import run_issue_queryset
from syncs.services import sync_run_create, sync_run_execute
from tests.syncs.formats.clever_files import TODAY, parsed, small_clever, write

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


def test_clever_several_contact_rows_are_one_student_with_several_parents(tmp_path):
    roster, findings = parsed(tmp_path)
    assert not [f for f in findings if f.code == "duplicate_id"]
    assert [p for p in roster.people.values() if p.role == "student"] == [
        roster.people["s1"],
        roster.people["s2"],
        roster.people["s3"],
    ]
    assert {g for g in roster.guardianships if g[1] == "s1"} == {("c1", "s1"), ("c2", "s1")}
    assert roster.people["s1"].where.line == 2  # the first row's student columns


def test_clever_siblings_sharing_a_contact_sis_id_have_one_parent(tmp_path):
    roster, _ = parsed(tmp_path)
    parents = [p for p in roster.people.values() if p.role == "parent"]
    assert len(parents) == 3
    assert {("c1", "s1"), ("c1", "s2"), ("c2", "s1"), ("c2", "s2")} <= roster.guardianships
    mother = roster.people["c1"]
    assert (mother.given_name, mother.family_name) == ("María López", "")
    assert (mother.email, mother.phone, mother.school_ids) == (
        "maria@example.org",
        "(206) 384-2291",
        ("0123",),
    )


def test_clever_contacts_without_sis_id_match_by_name_and_email_or_phone(tmp_path):
    files = small_clever()
    for row in files["students.csv"]:
        row["Contact_sis_id"] = ""
        if row["Student_id"] == "s2":
            row["Contact_name"] = row["Contact_name"].upper()  # folded before matching
    roster, findings = parsed(tmp_path, files)
    assert findings == []
    parents = sorted(p for p, _s in roster.guardianships)
    # Mother (same email under both siblings) and father (no email: same phone under both)
    # are one parent each; mother and father share the phone but not the name.
    assert len(set(parents)) == 3 and len(parents) == 5
    mother = contact_id("María López", "maria@example.org", "(206) 384-2291", "s1")
    father = contact_id("José López", "", "206.384.2291", "s2")  # the phone's digits count
    assert {(mother, "s1"), (mother, "s2"), (father, "s1"), (father, "s2")} <= (
        roster.guardianships
    )
    assert mother.startswith("contact:")
    again, _ = parse(tmp_path / "clever")
    assert set(again.people) == set(roster.people)  # stable across runs


def test_clever_row_without_contact_columns_adds_no_parent(tmp_path):
    files = small_clever()
    files["students.csv"][-1].update(
        Contact_name="", Contact_phone="", Contact_email="", Contact_sis_id=""
    )
    roster, findings = parsed(tmp_path, files)
    assert findings == []
    assert not {g for g in roster.guardianships if g[1] == "s3"}
    assert "s3" in roster.people


def test_clever_contact_without_name_is_a_parent_with_a_parent_name_error(tmp_path):
    files = small_clever()
    files["students.csv"][-1]["Contact_name"] = ""
    roster, _ = parsed(tmp_path, files)
    nameless = next(p for p, s in roster.guardianships if s == "s3")
    assert roster.people[nameless].name == ""
    result = validate(roster, TODAY)
    people = [(f.code, f.source_id) for f in result.findings if f.kind == "person"]
    assert people == [("parent_name", nameless)]
    assert roster.people["c1"].name == "María López"  # one combined name counts as named


def test_clever_contact_id_that_is_a_teacher_id_is_duplicate_id(tmp_path):
    files = small_clever()
    files["students.csv"][4]["Contact_sis_id"] = "t2"
    roster, findings = parsed(tmp_path, files)
    assert [(f.code, f.source_id, f.field) for f in findings] == [
        ("duplicate_id", "t2", "Contact_sis_id")
    ]
    assert roster.people["t2"].role == "teacher"
    assert ("t2", "s3") not in roster.guardianships


def test_clever_self_contact_row_is_the_students_own_phone(tmp_path):
    files = small_clever()
    files["students.csv"].append(
        dict(
            files["students.csv"][4],
            Contact_relationship="Self",
            Contact_type="Other",
            Contact_name="Zoë Nguyễn",
            Contact_phone="(415) 555-0134",
            Contact_email="zoe@example.org",
            Contact_sis_id="",
        )
    )
    roster, findings = parsed(tmp_path, files)
    assert findings == []
    s3 = roster.people["s3"]
    assert (s3.phone, s3.email) == ("(415) 555-0134", "zoe@example.org")
    assert len([g for g in roster.guardianships if g[1] == "s3"]) == 1


@pytest.mark.django_db
def test_clever_sync_reports_parent_name_for_a_contact_without_name(config, tmp_path):
    files = small_clever()
    files["students.csv"][-1]["Contact_name"] = ""
    write(Path(config.path), files)
    run = sync_run_execute(run=sync_run_create(config=config), now=NOW)
    assert run.status == "succeeded", run.message
    nameless = contact_id("", "", "206-384-7710", "s3")
    assert list(
        run_issue_queryset(run).filter(code="parent_name").values_list("source_id", "file")
    ) == [(nameless, "students.csv")]
    # c1 is created; c2 lost the shared household phone to c1 (rule D2) and has no email.
    assert run.counts["parents"]["created"] == 1
    assert run.counts["guardianships"]["created"] == 2
    assert run.counts["students"]["created"] == 3
