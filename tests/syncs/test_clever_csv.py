"""Clever SFTP CSV parsing into canonical records (one DB test at the end)."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from syncs.errors import SyncFailure
from syncs.formats import detect
from syncs.formats.clever_csv import STUDENTS, contact_id, parse
from syncs.rules.validate import validate
from syncs.services import sync_run_create, sync_run_execute
from tests.builders import write_csv

TODAY = date(2026, 11, 24)
NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)

HEADERS = {
    "schools.csv": ("School_id", "School_name", "School_number", "State_id"),
    "teachers.csv": (
        "School_id",
        "Teacher_id",
        "Teacher_number",
        "Teacher_email",
        "First_name",
        "Middle_name",
        "Last_name",
        "Title",
    ),
    "students.csv": (
        "School_id",
        "Student_id",
        "Student_number",
        "Last_name",
        "First_name",
        "Grade",
        "DOB",
        "Student_email",
        "Contact_relationship",
        "Contact_type",
        "Contact_name",
        "Contact_phone",
        "Contact_email",
        "Contact_sis_id",
    ),
    "sections.csv": (
        "School_id",
        "Section_id",
        "Teacher_id",
        "Teacher_2_id",
        "Section_number",
        "Course_name",
        "Period",
        "Term_name",
    ),
    "enrollments.csv": ("School_id", "Section_id", "Student_id"),
    "staff.csv": ("School_id", "Staff_id", "Staff_email", "First_name", "Last_name", "Title"),
}


def small_clever() -> dict[str, list[dict]]:
    """Two schools, two teachers (one co-teaching), three students, four contacts."""
    s1 = {
        "School_id": "0123",
        "Student_id": "s1",
        "First_name": "Ana",
        "Last_name": "López",
        "Grade": "3",
        "DOB": "2/11/2017",
    }
    s2 = dict(s1, Student_id="s2", First_name="Luis", DOB="10/5/2015")
    s3 = {
        "School_id": "0456",
        "Student_id": "s3",
        "First_name": "Zoë",
        "Last_name": "Nguyễn",
        "Grade": "7",
        "DOB": "2013/4/9",
    }
    mother = {
        "Contact_relationship": "Parent",
        "Contact_type": "Primary",
        "Contact_name": "María López",
        "Contact_phone": "(206) 384-2291",
        "Contact_email": "maria@example.org",
        "Contact_sis_id": "c1",
    }
    father = dict(mother, Contact_name="José López", Contact_email="", Contact_sis_id="c2")
    aunt = {
        "Contact_relationship": "Aunt/Uncle",
        "Contact_type": "Emergency",
        "Contact_name": "Linh Trần",
        "Contact_phone": "206-384-7710",
    }
    return {
        "schools.csv": [
            {"School_id": "0123", "School_name": "Lincoln Elementary"},
            {"School_id": "0456", "School_name": "Roosevelt Middle"},
        ],
        "teachers.csv": [
            {
                "School_id": "0123",
                "Teacher_id": "t1",
                "Teacher_email": "t1@district.k12.ca.us",
                "First_name": "Ruth",
                "Last_name": "Okafor",
            },
            {
                "School_id": "0456",
                "Teacher_id": "t2",
                "Teacher_email": "t2@district.k12.ca.us",
                "First_name": "Lars",
                "Last_name": "Søndergaard",
            },
        ],
        "students.csv": [
            dict(s1, **mother),
            dict(s1, **father),
            dict(s2, **mother),
            dict(s2, **father),
            dict(s3, **aunt),
        ],
        "sections.csv": [
            {
                "School_id": "0123",
                "Section_id": "c-math",
                "Teacher_id": "t1",
                "Teacher_2_id": "t2",
                "Section_number": "MATH-01",
                "Course_name": "Math 3",
                "Term_name": "Fall 2026",
            },
            {
                "School_id": "0456",
                "Section_id": "c-sci",
                "Teacher_id": "t2",
                "Section_number": "SCI-07",
                "Course_name": "Science 7",
                "Term_name": "Fall 2026",
            },
        ],
        "enrollments.csv": [
            {"School_id": "0123", "Section_id": "c-math", "Student_id": "s1"},
            {"School_id": "0123", "Section_id": "c-math", "Student_id": "s2"},
            {"School_id": "0456", "Section_id": "c-sci", "Student_id": "s3"},
        ],
    }


def write(folder: Path, files: dict[str, list[dict]], headers=None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in files.items():
        write_csv(folder / name, (headers or {}).get(name, HEADERS[name]), rows)
    return folder


def parsed(tmp_path, files=None, headers=None):
    return parse(write(tmp_path / "clever", files or small_clever(), headers))


def test_clever_parse_reads_schools_people_sections_and_enrollments(tmp_path):
    roster, findings = parsed(tmp_path)
    assert findings == []
    assert {k: s.name for k, s in roster.schools.items()} == {
        "0123": "Lincoln Elementary",
        "0456": "Roosevelt Middle",
    }
    t1 = roster.people["t1"]
    assert (t1.role, t1.email, t1.school_ids) == ("teacher", "t1@district.k12.ca.us", ("0123",))
    s1 = roster.people["s1"]
    assert (s1.role, s1.given_name, s1.family_name, s1.dob, s1.grade) == (
        "student",
        "Ana",
        "López",
        "2/11/2017",
        "3",
    )
    math = roster.classes["c-math"]
    assert (math.school_id, math.name, math.term) == ("0123", "Math 3", "Fall 2026")
    assert roster.enrollments[("c-math", "s1")].role == "student"
    assert roster.format == "" and detect(tmp_path / "clever") == "clever_csv"


def test_clever_headers_match_in_any_order_and_case(tmp_path):
    shuffled = {
        name: tuple(reversed(header)) for name, header in HEADERS.items() if name != "staff.csv"
    }
    shuffled["students.csv"] = tuple(
        "student_ID" if h == "Student_id" else h for h in shuffled["students.csv"]
    )
    files = small_clever()
    for row in files["students.csv"]:
        row["student_ID"] = row.pop("Student_id")
    roster, findings = parsed(tmp_path, files, shuffled)
    aunt = contact_id("Linh Trần", "", "206-384-7710", "s3")
    assert set(roster.people) == {"t1", "t2", "s1", "s2", "s3", "c1", "c2", aunt}
    assert [(f.code, f.file, f.field) for f in findings] == [
        ("header_repaired", "students.csv", "Student_id")
    ]


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


def test_clever_teacher_2_id_is_a_non_primary_teacher_enrollment(tmp_path):
    roster, _ = parsed(tmp_path)
    t1, t2 = roster.enrollments[("c-math", "t1")], roster.enrollments[("c-math", "t2")]
    assert (t1.role, t1.primary) == ("teacher", True)
    assert (t2.role, t2.primary, t2.file) == ("teacher", False, "sections.csv")
    assert roster.enrollments[("c-sci", "t2")].primary is True


def test_clever_section_without_a_teacher_gets_class_no_teacher_and_url_name_is_invalid(
    tmp_path,
):
    files = small_clever()
    files["sections.csv"][1].update(Teacher_id="", Course_name="Science https://zoom.us/j/1")
    roster, _ = parsed(tmp_path, files)
    assert not [k for k in roster.enrollments if k[0] == "c-sci" and k[1].startswith("t")]
    roster.taught = {c for (c, p), e in roster.enrollments.items() if e.role == "teacher"}
    codes = sorted((f.code, f.source_id) for f in validate(roster, TODAY).findings)
    assert codes == [("class_invalid_name", "c-sci"), ("class_no_teacher", "c-sci")]


def test_clever_section_name_falls_back_to_section_number(tmp_path):
    files = small_clever()
    files["sections.csv"][0]["Course_name"] = ""
    roster, _ = parsed(tmp_path, files)
    assert roster.classes["c-math"].name == "MATH-01"


def test_clever_missing_required_file_fails_invalid_files_with_did_you_mean(tmp_path):
    folder = write(tmp_path / "clever", small_clever())
    (folder / "students.csv").rename(folder / "student.csv")
    with pytest.raises(SyncFailure, match=r"students.csv \(did you mean student.csv\?\)") as exc:
        parse(folder)
    assert exc.value.reason == "invalid_files"
    assert exc.value.details["missing_files"] == ["students.csv"]


def test_clever_misspelled_required_header_fails_invalid_files_with_did_you_mean(tmp_path):
    headers = {
        "teachers.csv": tuple(
            h.replace("First_name", "Frist_name") for h in HEADERS["teachers.csv"]
        )
    }
    files = small_clever()
    for row in files["teachers.csv"]:
        row["Frist_name"] = row.pop("First_name")
    with pytest.raises(SyncFailure, match="did you mean `First_name`") as exc:
        parsed(tmp_path, files, headers)
    assert exc.value.reason == "invalid_files"
    assert exc.value.details["file"] == "teachers.csv"


def test_clever_missing_required_header_fails_invalid_files(tmp_path):
    headers = {"enrollments.csv": ("School_id", "Section_id")}
    with pytest.raises(SyncFailure, match="required header `Student_id` is missing"):
        parsed(tmp_path, headers=headers)


def test_clever_sections_need_a_name_column(tmp_path):
    headers = {
        "sections.csv": tuple(
            h for h in HEADERS["sections.csv"] if h not in ("Course_name", "Section_number")
        )
    }
    with pytest.raises(SyncFailure, match="no Course_name or Section_number"):
        parsed(tmp_path, headers=headers)


def test_clever_one_digit_month_and_day_dob_is_accepted(tmp_path):
    roster, _ = parsed(tmp_path)
    result = validate(roster, TODAY)
    assert not [f for f in result.findings if f.code == "student_dob"]
    assert result.dob["s1"] == date(2017, 2, 11)
    assert result.dob["s3"] == date(2013, 4, 9)


def test_clever_staff_rows_are_administrators(tmp_path):
    files = small_clever()
    files["staff.csv"] = [
        {
            "School_id": "0123",
            "Staff_id": "a1",
            "Staff_email": "principal@district.k12.ca.us",
            "First_name": "Grace",
            "Last_name": "Park",
            "Title": "Principal",
        },
        # A teacher also listed as staff stays one person, a teacher.
        {"School_id": "0123", "Staff_id": "t1", "First_name": "Ruth", "Last_name": "Okafor"},
    ]
    roster, findings = parsed(tmp_path, files)
    assert findings == []
    a1 = roster.people["a1"]
    assert (a1.role, a1.email, a1.school_ids) == (
        "administrator",
        "principal@district.k12.ca.us",
        ("0123",),
    )
    assert roster.people["t1"].role == "teacher"


def test_clever_teacher_at_two_schools_is_one_teacher_and_a_repeat_is_duplicate_id(tmp_path):
    files = small_clever()
    t1 = files["teachers.csv"][0]
    files["teachers.csv"] += [dict(t1, School_id="0456"), dict(t1, School_id="0456")]
    roster, findings = parsed(tmp_path, files)
    assert roster.people["t1"].school_ids == ("0123", "0456")
    assert [(f.code, f.source_id, f.line) for f in findings] == [("duplicate_id", "t1", 5)]


def test_clever_student_id_reused_for_another_student_is_duplicate_id(tmp_path):
    files = small_clever()
    files["students.csv"].append(dict(files["students.csv"][4], Student_id="s1"))
    roster, findings = parsed(tmp_path, files)
    assert [(f.code, f.source_id, f.line) for f in findings] == [("duplicate_id", "s1", 7)]
    assert roster.people["s1"].given_name == "Ana"
    assert not {g for g in roster.guardianships if g[1] == "s1"} - {("c1", "s1"), ("c2", "s1")}


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


def test_clever_empty_students_file_is_noted_for_the_guard(tmp_path):
    files = small_clever()
    files["students.csv"] = []
    roster, _ = parsed(tmp_path, files)
    assert roster.empty_files == {"people": "students.csv"}


def test_clever_unreadable_student_row_is_invalid_row_and_keeps_the_student(tmp_path):
    folder = write(tmp_path / "clever", small_clever())
    with (folder / "students.csv").open("a", encoding="utf-8", newline="") as f:
        csv.writer(f).writerow(["0456", "s9", "", "Short"])
    roster, findings = parse(folder)
    assert [(f.code, f.source_id, f.line) for f in findings] == [("invalid_row", "s9", 7)]
    assert "s9" in roster.unreadable_people


def test_clever_known_columns_are_not_reported_as_ignored(tmp_path):
    headers = {"students.csv": (*HEADERS["students.csv"], "Contact_phone_type", "Nickname")}
    roster, _ = parsed(tmp_path, headers=headers)
    assert roster.ignored_headers == {"students.csv": ["Nickname"]}
    assert "Contact_phone_type" in STUDENTS.columns


@pytest.mark.django_db
def test_clever_sync_reports_parent_name_for_a_contact_without_name(config, tmp_path):
    files = small_clever()
    files["students.csv"][-1]["Contact_name"] = ""
    write(Path(config.path), files)
    run = sync_run_execute(run=sync_run_create(config=config), now=NOW)
    assert run.status == "succeeded", run.message
    nameless = contact_id("", "", "206-384-7710", "s3")
    assert list(run.issues.filter(code="parent_name").values_list("source_id", "file")) == [
        (nameless, "students.csv")
    ]
    # c1 is created; c2 lost the shared household phone to c1 (rule D2) and has no email.
    assert run.counts["parents"]["created"] == 1
    assert run.counts["guardianships"]["created"] == 2
    assert run.counts["students"]["created"] == 3
