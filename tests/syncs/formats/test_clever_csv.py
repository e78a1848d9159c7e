"""Clever SFTP CSV parsing into canonical records: files, headers, people, sections and
the rows it cannot read. No database. Contacts (parents) are in test_clever_csv_contacts.py."""

from __future__ import annotations

import csv
from datetime import date

import pytest

from syncs.errors import SyncFailure
from syncs.formats import detect
from syncs.formats.clever_csv import STUDENTS, contact_id, parse
from syncs.rules.validate import validate
from tests.syncs.formats.clever_files import HEADERS, TODAY, parsed, small_clever, write


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
