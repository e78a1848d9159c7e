"""Clever SFTP CSV: schools, teachers, staff, students with their contacts, sections and
enrollments.

Headers come from the parser's own specs (syncs.formats.clever_csv), in the specs' order,
less the columns named in LEFT_OUT; rows are written by column name. A column added to a
spec therefore shows up in the generated files (empty until the generator fills it), and
a column renamed or removed from a spec fails here, never silently.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from devtools.generator.catalog import GRADES, SCHOOL_YEAR_ENDS, TERMS
from devtools.generator.output import Sink, Table
from devtools.generator.plan import School
from devtools.generator.problems import Problems
from devtools.generator.records import Guardian, User
from syncs.formats import clever_csv
from syncs.formats.csvfiles import FileSpec

# Columns of the specs the generator has no data for and has never written (the files as
# shared/reference/formats.md lists them). Writing them, empty, would change every
# generated Clever file; drop an entry here to have its column written.
LEFT_OUT: dict[str, tuple[str, ...]] = {
    "schools.csv": ("Nces_id",),
    "teachers.csv": ("Password",),
    "staff.csv": ("Password", "Role"),
    # A class has a teacher and at most one co-teacher; Course_name carries its name.
    "sections.csv": (*clever_csv.TEACHER_COLUMNS[2:], "Name", "Course_description"),
}


def spec_header(spec: FileSpec) -> tuple[str, ...]:
    left_out = LEFT_OUT.get(spec.name, ())
    unknown = [column for column in left_out if column not in spec.columns]
    if unknown:
        raise ValueError(f"LEFT_OUT names columns {spec.name} does not have: {unknown}")
    return tuple(column for column in spec.columns if column not in left_out)


HEADERS_CLEVER: dict[str, tuple[str, ...]] = {
    spec.name: spec_header(spec)
    for spec in (
        clever_csv.SCHOOLS,
        clever_csv.STUDENTS,
        clever_csv.TEACHERS,
        clever_csv.STAFF,
        clever_csv.SECTIONS,
        clever_csv.ENROLLMENTS,
    )
}

# Clever's Contact_relationship and Contact_type for each OneRoster guardian role.
_CLEVER_CONTACT = {
    "parent": ("Parent", "Parent/Guardian"),
    "guardian": ("Other", "Parent/Guardian"),
    "relative": ("Grandparent", "Family"),
}
# Clever's race codes for the demographics flags (native, asian, black, pacific, white).
_CLEVER_RACES = ("I", "A", "B", "P", "W")


def _clever_race(demographics: tuple) -> str:
    """One race code from a demographics.csv row's flags; M for two or more."""
    if demographics[10] == "true":
        return "M"
    flags = demographics[5:10]
    return next((c for c, flag in zip(_CLEVER_RACES, flags, strict=True) if flag == "true"), "")


def clever_dob(raw: str) -> str:
    """A valid ISO birth date as Clever writes it (M/D/YYYY, no padding: 2/11/2007); an
    invalid one as it is, so that it stays exactly as invalid as in OneRoster."""
    try:
        born = date.fromisoformat(raw)
    except ValueError:
        return raw
    return f"{born.month}/{born.day}/{born.year}"


def clever_contact_name(given: str, family: str) -> str:
    """Clever's one combined contact name: the name a OneRoster reader shows for the same
    guardian (given and family name; the middle name is not part of it)."""
    return " ".join(part for part in (given, family) if part)


def clever_phone_type(sms: str, phone: str) -> str:
    """Contact_phone_type of the number Contact_phone carries (sms first, as there): Cell
    for a mobile, Home for a landline. Derived, never drawn, so adding it changed no other
    value; the parser does not read it."""
    if sms:
        return "Cell"
    return "Home" if phone else ""


class Clever(Sink):
    """teachers.csv, staff.csv (the administrators, titled Principal) and students.csv with
    one row per student and guardian. A student's own mobile is a `Self` contact row.
    Schools are written last (schools.csv names each school's principal)."""

    def __init__(self, out: Path) -> None:
        super().__init__()
        self.teachers = Table.create(out, "teachers.csv", HEADERS_CLEVER["teachers.csv"])
        self.admins = Table.create(out, "staff.csv", HEADERS_CLEVER["staff.csv"])
        self.students = Table.create(out, "students.csv", HEADERS_CLEVER["students.csv"])
        # school ID -> (principal's name, email, the office phone)
        self.principals: dict[str, tuple[str, str, str]] = {}

    def staff(self, user: User) -> None:
        if user.role == "administrator":
            self.principals[user.orgs] = (
                f"{user.given} {user.family}",
                user.email,
                user.phone or user.sms,
            )
            self.admins.write_named(
                {
                    "School_id": user.orgs,
                    "Staff_id": user.source_id,
                    "Staff_email": user.email,
                    "First_name": user.given,
                    "Last_name": user.family,
                    "Department": "Administration",
                    "Title": "Principal",
                    "Username": user.username,
                }
            )
            return
        self.teachers.write_named(
            {
                "School_id": user.orgs,
                "Teacher_id": user.source_id,
                "Teacher_number": user.identifier,
                "Teacher_email": user.email,
                "First_name": user.given,
                "Middle_name": user.middle,
                "Last_name": user.family,
                "Title": "Teacher",
                "Username": user.username,
            }
        )

    def student(self, user: User, demographics: tuple, guardians: list[Guardian]) -> None:
        dob, sex, hispanic = demographics[3], demographics[4], demographics[11]
        grade = GRADES.index(user.grades)
        student = {
            "School_id": user.orgs,
            "Student_id": user.source_id,
            "Student_number": user.identifier,
            "Last_name": user.family,
            "Middle_name": user.middle,
            "First_name": user.given,
            "Grade": user.grades,
            "Gender": "F" if sex == "female" else "M",
            "Graduation_year": str(int(SCHOOL_YEAR_ENDS) + len(GRADES) - 1 - grade),
            "DOB": clever_dob(dob),
            "Race": _clever_race(demographics),
            "Hispanic_Latino": "Y" if hispanic == "true" else "N",
            "Student_email": user.email,
            "Username": user.username,
        }
        contacts = []
        for g in guardians:
            relationship, kind = _CLEVER_CONTACT[g.role]
            contacts.append(
                {
                    "Contact_relationship": relationship,
                    "Contact_type": kind,
                    "Contact_name": clever_contact_name(g.given, g.family),
                    # One phone per contact: the one a OneRoster reader tries first (sms,
                    # then phone).
                    "Contact_phone": g.sms or g.phone,
                    "Contact_phone_type": clever_phone_type(g.sms, g.phone),
                    "Contact_email": g.email,
                    "Contact_sis_id": g.source_id,
                }
            )
        if user.sms:
            contacts.append(
                {
                    "Contact_relationship": "Self",
                    "Contact_type": "Other",
                    "Contact_name": clever_contact_name(user.given, user.family),
                    "Contact_phone": user.sms,
                    "Contact_phone_type": clever_phone_type(user.sms, ""),
                }
            )
        for contact in contacts or [{}]:  # a student without contacts: one plain row
            self.students.write_named({**student, **contact})

    def parent(self, user: User) -> None:
        pass  # written with each of their students

    def finish(self) -> dict[str, int]:
        return {
            "teachers.csv": self.teachers.close(),
            "staff.csv": self.admins.close(),
            "students.csv": self.students.close(),
        }


def write_schools(out: Path, schools: list[School], org_rows, principals) -> int:
    codes = {row[0]: row[5] for row in org_rows}
    table = Table.create(out, "schools.csv", HEADERS_CLEVER["schools.csv"])
    for school in schools:
        name, email, phone = principals.get(school.source_id, ("", "", ""))
        table.write_named(
            {
                "School_id": school.source_id,
                "School_name": school.name,
                "School_number": school.source_id,
                "State_id": codes[school.source_id],
                "Low_grade": GRADES[school.grades.start],
                "High_grade": GRADES[school.grades.stop - 1],
                "Principal": name,
                "Principal_email": email,
                "School_state": "CA",
                "School_phone": phone,
            }
        )
    return table.close()


def write_sections(out: Path, titles, schools: list[School], problems: Problems) -> int:
    table = Table.create(out, "sections.csv", HEADERS_CLEVER["sections.csv"])
    for k, title in titles:
        teachers = [] if problems.classes.get(k.source_id) == "no_teacher" else k.teachers
        # A class has a teacher and at most one co-teacher (plan.assign_teachers).
        first, second = (teachers + ["", ""])[:2]
        term = TERMS[k.term]
        table.write_named(
            {
                "School_id": schools[k.school].source_id,
                "Section_id": k.source_id,
                "Teacher_id": first,
                "Teacher_2_id": second,
                "Section_number": f"{k.course.code}-{k.section + 1:02d}",
                "Grade": GRADES[k.course.grade],
                "Course_name": title,
                "Course_number": k.course.code,
                "Period": str(k.period),
                "Subject": k.course.subject,
                "Term_name": term[1],
                "Term_start": _us_date(term[3]),
                "Term_end": _us_date(term[4]),
            }
        )
    return table.close()


def _us_date(iso: str) -> str:
    return date.fromisoformat(iso).strftime("%m/%d/%Y")
