"""The files of a Clever SFTP CSV export: each file's columns, the values Rollcall reads
in them, and which files a sync needs."""

from __future__ import annotations

import difflib

from syncs.errors import SyncFailure
from syncs.formats.csvfiles import CsvFiles, FileSpec

SCHOOLS = FileSpec(
    name="schools.csv",
    kind="school",
    columns=(
        "School_id",
        "School_name",
        "School_number",
        "State_id",
        "Nces_id",
        "Low_grade",
        "High_grade",
        "Principal",
        "Principal_email",
        "School_address",
        "School_city",
        "School_state",
        "School_zip",
        "School_phone",
    ),
    required=frozenset({"School_id", "School_name"}),
    key_columns=("School_id",),
)
STUDENTS = FileSpec(
    name="students.csv",
    kind="person",
    columns=(
        "School_id",
        "Student_id",
        "Student_number",
        "State_id",
        "Last_name",
        "Middle_name",
        "First_name",
        "Grade",
        "Gender",
        "Graduation_year",
        "DOB",
        "Race",
        "Hispanic_Latino",
        "Home_language",
        "Ell_status",
        "Frl_status",
        "IEP_status",
        "Student_street",
        "Student_city",
        "Student_state",
        "Student_zip",
        "Student_email",
        "Contact_relationship",
        "Contact_type",
        "Contact_name",
        "Contact_phone",
        "Contact_phone_type",
        "Contact_email",
        "Contact_sis_id",
        "Username",
        "Password",
    ),
    required=frozenset({"School_id", "Student_id", "First_name", "Last_name"}),
    important=frozenset(
        {
            "DOB",
            "Grade",
            "Student_email",
            "Contact_relationship",
            "Contact_name",
            "Contact_phone",
            "Contact_email",
            "Contact_sis_id",
        }
    ),
    aliases={"Date_of_birth": "DOB", "Birth_date": "DOB", "Birthdate": "DOB"},
    key_columns=("Student_id",),
    optional_fields=(
        ("email", ("Student_email",)),
        ("dob", ("DOB",)),
        ("grade", ("Grade",)),
        ("contacts", ("Contact_name", "Contact_email", "Contact_phone", "Contact_sis_id")),
        ("contact_email", ("Contact_email",)),
        ("contact_phone", ("Contact_phone",)),
    ),
)
TEACHERS = FileSpec(
    name="teachers.csv",
    kind="person",
    columns=(
        "School_id",
        "Teacher_id",
        "Teacher_number",
        "State_teacher_id",
        "Teacher_email",
        "First_name",
        "Middle_name",
        "Last_name",
        "Title",
        "Username",
        "Password",
    ),
    required=frozenset({"School_id", "Teacher_id", "First_name", "Last_name"}),
    important=frozenset({"Teacher_email"}),
    key_columns=("Teacher_id",),
    optional_fields=(("email", ("Teacher_email",)),),
)
STAFF = FileSpec(
    name="staff.csv",
    kind="person",
    columns=(
        "School_id",
        "Staff_id",
        "Staff_email",
        "First_name",
        "Last_name",
        "Department",
        "Title",
        "Username",
        "Password",
        "Role",
    ),
    required=frozenset({"School_id", "Staff_id", "First_name", "Last_name"}),
    important=frozenset({"Staff_email"}),
    key_columns=("Staff_id",),
    optional_fields=(("email", ("Staff_email",)),),
)
# Teacher_id is the primary teacher; co-teachers follow in this order.
TEACHER_COLUMNS = ("Teacher_id", *(f"Teacher_{n}_id" for n in range(2, 11)))
SECTIONS = FileSpec(
    name="sections.csv",
    kind="class",
    columns=(
        "School_id",
        "Section_id",
        *TEACHER_COLUMNS,
        "Name",
        "Section_number",
        "Grade",
        "Course_name",
        "Course_number",
        "Course_description",
        "Period",
        "Subject",
        "Term_name",
        "Term_start",
        "Term_end",
    ),
    required=frozenset({"School_id", "Section_id", "Teacher_id", "Term_name"}),
    important=frozenset({"Course_name", "Section_number"}),
    key_columns=("Section_id",),
)
# Where a section's name comes from, first non-empty wins.
SECTION_NAME_COLUMNS = ("Course_name", "Name", "Section_number")
ENROLLMENTS = FileSpec(
    name="enrollments.csv",
    kind="enrollment",
    columns=("School_id", "Section_id", "Student_id"),
    required=frozenset({"School_id", "Section_id", "Student_id"}),
    key_columns=("Section_id", "Student_id"),
)

REQUIRED_FILES = (SCHOOLS, STUDENTS, TEACHERS, SECTIONS, ENROLLMENTS)
OPTIONAL_FILES = (STAFF,)
CONTACT_COLUMNS = ("Contact_name", "Contact_email", "Contact_phone", "Contact_sis_id")
SELF = "self"  # Contact_relationship of a student's own details
KNOWN_FILES = {spec.name for spec in REQUIRED_FILES + OPTIONAL_FILES}


def check_files(files: CsvFiles) -> None:
    """Fail `invalid_files` naming each required file that is missing (with a guess at
    a misspelled one)."""
    missing = [spec.name for spec in REQUIRED_FILES if spec.name not in files]
    if not missing:
        return
    csvs = sorted(name for name in files if name.endswith(".csv"))
    guesses = {}
    for name in missing:
        near = difflib.get_close_matches(name, [c for c in csvs if c not in KNOWN_FILES], 1, 0.75)
        if near:
            guesses[name] = near[0]
    shown = [
        f"{name} (did you mean {guesses[name]}?)"
        if name in guesses
        else name + files.why_missing(name)
        for name in missing
    ]
    raise SyncFailure(
        "invalid_files",
        "Required Clever file(s) missing: "
        + ", ".join(shown)
        + ". Found: "
        + (", ".join(csvs) or "no CSV files")
        + ".",
        {"missing_files": missing, "found_files": csvs, "suggestions": guesses},
    )
