"""Clever API v3.0 JSON pages → Roster.

Reads the folder `syncs.sources.clever_api` writes: `index.json` and the pages it names
(`schools-0001.json`, `users-0001.json`, ...), each a verbatim v3.0 answer
`{"data": [{"data": {...}, "uri": "..."}], "links": [...]}`.

Clever's `id` is the source ID of every record (`sis_id` is unique only within a district,
and Clever gives a person a new `id` when their `sis_id` changes). The same canonical
records as the Clever CSV parser (`clever_csv`) where the data overlaps:

- **Schools** come from /schools. A district that lists none gives no schools: nothing is
  derived from the IDs users and sections mention, and scope finds nothing to keep.
- **Users** carry a `roles` map. One user may hold several roles; Rollcall keys a person by
  one source ID with one role, so the highest role is kept (DESIGN §4 D2 order):
  `teacher` → teacher; `district_admin` or `staff` → administrator (as staff.csv is read
  by clever_csv); `contact` → parent; `student` → student. A teacher who is also staff stays
  a teacher and gains the staff role's schools (as in clever_csv). A user who is a contact
  *and* something else (teacher and contact, student and contact) keeps the higher role and
  their `student_relationships` are still linked as guardianships, so the students they
  look after still have them as guardian. A student who is also a contact therefore
  becomes a parent (parent outranks student); the sections that list them still enroll
  them. Their student fields (dob, grade, schools) are kept on the record.
- **Names.** Students, teachers and staff: `name.first` / `name.last`. Contacts: Clever
  sends one combined name (in `name.last`, sometimes split): the parts are joined and kept
  whole in `given_name`, family name blank, exactly as clever_csv keeps Contact_name; a
  combined name counts as a name (DESIGN §4 `parent_name`).
- **Fields.** Email: the user's `email` (else the role's `email`). Students: `dob` as given
  (validate parses `2/11/2007`), `grade`, `schools` (else `school`). Teachers and staff:
  `schools` (else `school`). District admins have no schools in Clever: they are given
  every school the district lists (scope keeps those in scope). Contacts: `phone`.
- **Guardianships.** Each `student_relationships[].student` of a contact that is a user with
  a student role gives a guardianship (contact, student). A relationship naming a user who
  is not in the data, or who is not a student, is an `unknown_reference` alert; one naming
  the contact themself (Clever's equivalent of the CSV `Self` row) is ignored.
- **Sections** → classes: name is the section's `name` (Clever's display name), else its
  `section_number`; school is `school`; term is the term's name when /terms was shared,
  else `term_id`. `teacher` and `teachers` become teacher enrollments, `teacher` primary
  (else the first of `teachers`); `students` become student enrollments (a teacher of the
  section listed among its students keeps the teacher role). References to users or
  schools that are not in the data become `unknown_reference` alerts in scope, as for
  every format.

Where: a record's `file` is the page it was read from and its `line` is its position in
that page (1-based), so an issue points at the exact item.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from sys import intern
from typing import Any

from syncs.errors import SyncFailure
from syncs.findings import Finding, IssueCode
from syncs.formats.base import Advance, Collection, RosterParser, no_progress
from syncs.records import (
    ClassRecord,
    EnrollmentRecord,
    PersonRecord,
    Roster,
    SchoolRecord,
    Where,
)

INDEX = "index.json"
REQUIRED = ("schools", "users", "sections")

# Clever role → Rollcall role, highest first (rule D2 order; teacher before staff so a
# teacher who is also staff stays a teacher, as in clever_csv).
ROLE_ORDER = (
    ("teacher", "teacher"),
    ("district_admin", "administrator"),
    ("staff", "administrator"),
    ("contact", "parent"),
    ("student", "student"),
)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _ids(*values: Any) -> tuple[str, ...]:
    """Distinct non-empty string IDs from lists and single values, in order."""
    out: dict[str, None] = {}
    for value in values:
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, str) and v.strip():
                out[intern(v.strip())] = None
    return tuple(out)


def _page(name: str) -> Collection:
    """A page as the source of its items: a user page holds people, and any other page
    (schools' too) is reported as holding classes."""
    return Collection(name, "person" if name.startswith("users") else "class")


class _Parser(RosterParser):
    unit = "item"
    first_in_same_file = ""  # a duplicate always names the page of the first item
    duplicate_note = " with other data"

    def __init__(self, folder: Path, index: dict[str, Any]) -> None:
        self.folder = folder
        self.index = index
        super().__init__(Roster(files=sorted(self._all_pages())))
        self.student_ids: set[str] = set()  # users with a student role

    def _all_pages(self) -> Iterator[str]:
        for entry in self.index.get("collections", {}).values():
            yield from entry.get("pages", ())

    def items(self, collection: str) -> Iterator[tuple[Where, dict[str, Any]]]:
        """(where, object) for every item of a collection, page by page."""
        entry = self.index.get("collections", {}).get(collection) or {}
        for name in entry.get("pages", ()):
            path = self.folder / name
            try:
                page = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise SyncFailure(
                    "invalid_files",
                    f"Clever page {name} cannot be read ({type(exc).__name__}).",
                    {"file": name},
                ) from exc
            for n, item in enumerate(page.get("data") or (), start=1):
                obj = item.get("data") if isinstance(item, dict) else None
                if isinstance(obj, dict):
                    yield Where(name, n), obj
                else:
                    self.invalid_row(_page(name), n, "is not a Clever object")

    def _empty(self, collection: str, kind: str, count: int) -> None:
        self.roster.file_rows.setdefault(f"Clever {collection}", count)
        if count == 0:
            self.roster.empty_files.setdefault(kind, f"Clever {collection}")

    # -- collections ---------------------------------------------------------------

    def district(self) -> None:
        """The district's name: a token reads one district (the first named one wins)."""
        for _where, obj in self.items("districts"):
            if name := _text(obj.get("name")):
                self.roster.district_name = name
                return

    def terms(self) -> dict[str, str]:
        return {
            _text(obj.get("id")): _text(obj.get("name"))
            for _where, obj in self.items("terms")
            if _text(obj.get("id")) and _text(obj.get("name"))
        }

    def schools(self) -> None:
        schools = self.roster.schools
        for where, obj in self.items("schools"):
            school_id = _text(obj.get("id"))
            if not school_id:
                self.no_id(_page(where.file), where.line or 0, "id")
                continue
            schools.setdefault(intern(school_id), SchoolRecord(school_id, _text(obj.get("name"))))
        # No schools while the mirror has records is a broken pull, not an empty district.
        self._empty("schools", "schools", len(schools))

    def users(self) -> None:
        """People from /users, then the guardianships their contact roles name."""
        contacts = self.people(self.unique_users())
        for person, contact in contacts:
            self.guardianships(person, contact)

    def unique_users(self) -> dict[str, tuple[Where, dict[str, Any]]]:
        """Each user's item by ID, read once: a repeat that differs is a duplicate."""
        raw: dict[str, tuple[Where, dict[str, Any]]] = {}
        count = 0
        for where, obj in self.items("users"):
            count += 1
            user_id = _text(obj.get("id"))
            if not user_id:
                self.no_id(_page(where.file), where.line or 0, "id")
                continue
            if user_id in raw:
                if raw[user_id][1] != obj:
                    self.duplicate(
                        Collection(where.file, "person"), user_id, where.line, raw[user_id][0]
                    )
                continue  # a page boundary that repeated an item: read once
            raw[user_id] = (where, obj)
        self._empty("users", "people", count)
        return raw

    def people(
        self, raw: dict[str, tuple[Where, dict[str, Any]]]
    ) -> list[tuple[PersonRecord, dict[str, Any]]]:
        """A person for each user with a role Rollcall syncs; returns the contacts (each
        with its contact role) for linking."""
        # One pass over the users: its body runs per user, kept in one function (issue #11).
        people = self.roster.people
        contacts: list[tuple[PersonRecord, dict[str, Any]]] = []
        all_schools = tuple(self.roster.schools)
        for user_id, (where, obj) in raw.items():
            given_roles = obj.get("roles")
            roles: dict[str, dict[str, Any]] = (
                {k: v if isinstance(v, dict) else {} for k, v in given_roles.items()}
                if isinstance(given_roles, dict)
                else {}
            )
            held = [(clever, ours) for clever, ours in ROLE_ORDER if clever in roles]
            if not held:
                continue  # no role Rollcall syncs
            top, role = held[0]
            if "student" in roles:
                self.student_ids.add(user_id)
            given_name = obj.get("name")
            name: dict[str, Any] = given_name if isinstance(given_name, dict) else {}
            first, middle, last = (_text(name.get(k)) for k in ("first", "middle", "last"))
            person = PersonRecord(
                source_id=intern(user_id),
                role=role,
                given_name=first,
                family_name=last,
                email=_text(obj.get("email")) or _text(roles[top].get("email")),
                where=where,
            )
            if role == "parent":
                # One combined name, kept whole (as clever_csv keeps Contact_name).
                person.given_name = " ".join(p for p in (first, middle, last) if p)
                person.family_name = ""
            if role in ("teacher", "administrator"):
                staff_roles = [r for r in ("teacher", "district_admin", "staff") if r in roles]
                person.school_ids = _ids(
                    *(roles[r].get("schools") for r in staff_roles),
                    *(roles[r].get("school") for r in staff_roles),
                )
                if not person.school_ids and "district_admin" in roles:
                    person.school_ids = all_schools
            if "student" in roles:
                student = roles["student"]
                person.dob = _text(student.get("dob"))
                person.grade = _text(student.get("grade"))
                person.email = person.email or _text(student.get("email"))
                if not person.school_ids:
                    person.school_ids = _ids(student.get("schools"), student.get("school"))
            if "contact" in roles:
                contact = roles["contact"]
                if role == "parent":
                    person.phone = _text(contact.get("phone"))
                contacts.append((person, contact))
            people[user_id] = person
        return contacts

    def guardianships(self, person: PersonRecord, contact: dict[str, Any]) -> None:
        relationships = contact.get("student_relationships")
        for rel in relationships if isinstance(relationships, list) else ():
            student_id = _text(rel.get("student")) if isinstance(rel, dict) else ""
            if not student_id or student_id == person.source_id:
                continue  # the contact's own details
            if student_id not in self.student_ids:
                known = self.roster.people.get(student_id)
                what = f"a {known.role}, not a student" if known else "not in the data"
                self.add(
                    Finding(
                        code=IssueCode.UNKNOWN_REFERENCE,
                        kind="person",
                        source_id=person.source_id,
                        name=person.name,
                        field="student_relationships.student",
                        value=student_id,
                        file=person.where.file,
                        line=person.where.line,
                        message=f"{person.where.file} item {person.where.line}: contact "
                        f"{person.name or person.source_id} names student {student_id}, "
                        f"who is {what}; the link was skipped.",
                    )
                )
                continue
            self.roster.guardianships.add((person.source_id, intern(student_id)))

    def sections(self, terms: dict[str, str]) -> None:
        classes, enrollments = self.roster.classes, self.roster.enrollments
        count = 0
        for where, obj in self.items("sections"):
            count += 1
            class_id = intern(_text(obj.get("id")))
            if not class_id:
                self.no_id(_page(where.file), where.line or 0, "id")
                continue
            if class_id in classes:
                self.duplicate(
                    Collection(where.file, "class"), class_id, where.line, classes[class_id].where
                )
                continue
            term_id = _text(obj.get("term_id"))
            classes[class_id] = ClassRecord(
                source_id=class_id,
                school_id=intern(_text(obj.get("school"))),
                name=_text(obj.get("name")) or _text(obj.get("section_number")),
                term=terms.get(term_id, term_id),
                where=where,
            )
            for n, teacher_id in enumerate(_ids(obj.get("teacher"), obj.get("teachers"))):
                enrollments[(class_id, teacher_id)] = EnrollmentRecord(
                    class_id, teacher_id, "teacher", n == 0, where.file, where.line
                )
            for student_id in _ids(obj.get("students")):
                key = (class_id, student_id)
                if key not in enrollments:  # a teacher of the section stays its teacher
                    enrollments[key] = EnrollmentRecord(
                        class_id, student_id, "student", False, where.file, where.line
                    )
        self._empty("sections", "classes", count)
        if count:
            self._empty("sections", "enrollments", len(enrollments))


def read_index(folder: Path) -> dict[str, Any]:
    path = folder / INDEX
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SyncFailure(
            "invalid_files",
            f"{INDEX} is missing or unreadable: this folder was not written by the Clever "
            "API source.",
            {"file": INDEX},
        ) from exc
    collections = index.get("collections") if isinstance(index, dict) else None
    missing = [c for c in REQUIRED if not (collections or {}).get(c, {}).get("found")]
    if missing:
        raise SyncFailure(
            "invalid_files",
            "Clever collection(s) missing from the pull: " + ", ".join(missing) + ".",
            {"missing_files": missing},
        )
    return index


def parse(folder: Path, advance: Advance = no_progress) -> tuple[Roster, list[Finding]]:
    """Parse the pages of a Clever API pull. Fails the run if a required one is missing.

    `advance` is taken as by every parser and not called: the parse stage counts CSV
    rows (its total is the CSV files' lines, 0 for pages).
    """
    p = _Parser(folder, read_index(folder))
    p.district()
    p.schools()
    p.users()
    p.sections(p.terms())
    return p.roster, p.findings
