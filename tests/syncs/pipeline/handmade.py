"""Canonical records and a mirror built by hand, for the planner tests that need no database.

`world()` is one school as the files send it (a Roster) and as the database already holds
it (a Mirror), equal field for field, so a test changes one side and sees only that:

    school 0123 (pk 1)      teacher t1 (pk 1, account 11)    class c1 (pk 21)
    students s1, s2 (pks 2, 3; accounts 12, 13)             enrollments c1/t1 (primary),
    parent p1 of s1 (pk 4, account 14)                       c1/s1, c1/s2 (pks 31-33)
                                                             guardianship p1/s1 (pk 41)
"""

from __future__ import annotations

from datetime import date

from syncs.pipeline.plan import Plan, make_plan
from syncs.pipeline.snapshot import ClassRow, Device, LinkRow, Mirror, PersonRow
from syncs.records import (
    ClassRecord,
    EnrollmentRecord,
    PersonRecord,
    Roster,
    SchoolRecord,
    Where,
)

SCHOOL = "0123"


def person(sid: str, role: str = "student", school: str = SCHOOL, **fields) -> PersonRecord:
    """A person as users.csv sends them."""
    fields.setdefault("given_name", sid.upper())
    fields.setdefault("family_name", "Test")
    fields.setdefault("where", Where("users.csv", 2))
    return PersonRecord(source_id=sid, role=role, school_ids=(school,), **fields)


def klass(sid: str, school: str = SCHOOL, name: str = "") -> ClassRecord:
    return ClassRecord(sid, school, name or f"Class {sid}", where=Where("classes.csv", 2))


def enrollment(
    class_id: str, person_id: str, role: str = "student", primary: bool = False
) -> EnrollmentRecord:
    return EnrollmentRecord(class_id, person_id, role, primary, file="enrollments.csv", line=2)


def row_of(
    rec: PersonRecord,
    pk: int,
    *,
    archived: bool = False,
    account_id: int | None = None,
    dob: date | None = None,
) -> PersonRow:
    """The mirror row that holds exactly `rec`."""
    return PersonRow(
        pk=pk,
        role=rec.role,
        given_name=rec.given_name,
        family_name=rec.family_name,
        dob=dob,
        grade=rec.grade,
        email=rec.email,
        phone=rec.phone,
        archived=archived,
        account_id=account_id,
        schools=tuple(sorted(rec.school_ids)),
    )


def class_row_of(rec: ClassRecord, pk: int, *, archived: bool = False) -> ClassRow:
    return ClassRow(pk=pk, school=rec.school_id, name=rec.name, term=rec.term, archived=archived)


def link(
    pk: int,
    left: str,
    right: str,
    role: str = "student",
    primary: bool = False,
    archived: bool = False,
) -> LinkRow:
    return LinkRow(pk=pk, left=left, right=right, role=role, primary=primary, archived=archived)


def world() -> tuple[Roster, Mirror]:
    """The school above, in the files and in the mirror alike (fresh objects each call)."""
    people = {
        "t1": person("t1", "teacher", email="t1@district.k12.ca.us"),
        "s1": person("s1"),
        "s2": person("s2"),
        "p1": person("p1", "parent", email="p1@example.org", phone="(206) 384-2291"),
    }
    roster = Roster(
        schools={SCHOOL: SchoolRecord(SCHOOL, "Lincoln Elementary")},
        people=people,
        classes={"c1": klass("c1")},
        enrollments={
            ("c1", "t1"): enrollment("c1", "t1", "teacher", primary=True),
            ("c1", "s1"): enrollment("c1", "s1"),
            ("c1", "s2"): enrollment("c1", "s2"),
        },
        guardianships={("p1", "s1")},
    )
    mirror = Mirror(
        schools={SCHOOL: (1, "Lincoln Elementary")},
        people={
            sid: row_of(rec, pk, account_id=10 + pk)
            for pk, (sid, rec) in enumerate(people.items(), start=1)
        },
        classes={"c1": class_row_of(roster.classes["c1"], 21)},
        enrollments={
            ("c1", "t1"): link(31, "c1", "t1", "teacher", primary=True),
            ("c1", "s1"): link(32, "c1", "s1"),
            ("c1", "s2"): link(33, "c1", "s2"),
        },
        guardianships={("p1", "s1"): link(41, "p1", "s1", role="")},
    )
    return roster, mirror


def plan_of(
    roster: Roster,
    mirror: Mirror,
    *,
    person_errors: set[str] | None = None,
    class_errors: set[str] | None = None,
    dob: dict[str, date] | None = None,
    winners: dict[Device, str] | None = None,
) -> Plan:
    """make_plan with nothing in error, no birth dates and no device winners by default."""
    return make_plan(
        roster=roster,
        mirror=mirror,
        person_errors=person_errors or set(),
        class_errors=class_errors or set(),
        dob=dob or {},
        winners=winners or {},
    )
