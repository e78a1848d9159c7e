"""A small Clever SFTP CSV export for the format tests, one dict per row."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from syncs.formats.clever_csv import parse
from tests.builders import write_csv

TODAY = date(2026, 11, 24)

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
