"""Clever SFTP CSV → Roster.

Files: schools.csv, students.csv, teachers.csv, sections.csv, enrollments.csv (required),
staff.csv (optional). Column order does not matter: headers are matched by normalized name
and repaired or refused exactly as for OneRoster (`csvfiles.FileSpec`).

How Clever's shape becomes canonical records:

- **People.** Students (students.csv), teachers (teachers.csv) and staff (staff.csv, read as
  role `administrator`). Rollcall keys people by one source ID, as OneRoster does, so an ID
  used by two kinds of person (a Student_id that is also a Teacher_id) is a `duplicate_id`;
  the first file read keeps it (teachers, then staff, then students).
- **Several schools.** A teacher or staff member at several schools is listed once per
  school with the same ID (?): such rows add schools. A repeat at the same school, or under
  another name, is a `duplicate_id`. A teacher who is also in staff.csv under the same name
  stays a teacher and gains the staff row's school.
- **Contacts.** students.csv holds one contact per row (Contact_name, Contact_email,
  Contact_phone, Contact_sis_id, ...); a student with several contacts has several rows.
  The first row's student columns are used; a later row naming the student differently
  (another name, or another birth date where both rows have one) is two students sharing an
  ID: a `duplicate_id`, and that row is skipped. Every other row with any of Contact_name,
  Contact_email, Contact_phone or Contact_sis_id filled is a contact: a parent, linked to
  the row's student by a guardianship. See `contact_id` for contacts without a
  Contact_sis_id. A contact listed under several students is one parent: the first
  non-empty name and email are kept, and every phone given is kept (first one first).
- **Self.** A row whose Contact_relationship is `Self` (Clever's value for the student's own
  details) is not a parent: its phone becomes the student's phone (Clever's students.csv
  has no phone column) and its email fills a missing Student_email.
- **Contact names.** Clever sends one combined Contact_name. It is kept whole in
  `given_name`, family name blank: no guess at where a given name ends ("Ana De la Cruz",
  "Mary Ann Smith"), and a combined name counts as a name (DESIGN §4 `parent_name`).
- **Sections.** Name: Course_name, else Name, else Section_number (Clever builds its own
  display names from the course name too). Term: Term_name. Teacher_id and Teacher_2_id …
  Teacher_10_id become teacher enrollments; the first one listed is primary.
  enrollments.csv holds the students.
"""

from __future__ import annotations

import hashlib
import unicodedata
from pathlib import Path
from sys import intern

from syncs.errors import SyncFailure
from syncs.findings import Finding, IssueCode
from syncs.formats.base import Advance, CsvParser, no_progress
from syncs.formats.clever_files import (
    CONTACT_COLUMNS,
    ENROLLMENTS,
    REQUIRED_FILES,
    SCHOOLS,
    SECTION_NAME_COLUMNS,
    SECTIONS,
    SELF,
    STAFF,
    STUDENTS,
    TEACHER_COLUMNS,
    TEACHERS,
    check_files,
)

# The district generator finds staff.csv here, beside the other files.
from syncs.formats.clever_files import OPTIONAL_FILES as OPTIONAL_FILES
from syncs.formats.csvfiles import FileSpec, Table, find_files
from syncs.records import (
    ClassRecord,
    EnrollmentRecord,
    PersonRecord,
    Roster,
    SchoolRecord,
    Where,
)


def contact_id(name: str, email: str, phone: str, student_id: str) -> str:
    """A stable source ID for a contact sent without a Contact_sis_id.

    A hash of the folded name and one device: the email (case-folded) if there is one,
    else the phone's digits. So a parent listed under two siblings with the same name and
    email (or, lacking an email, phone) is one parent, while two guardians who share a
    household phone or email stay two people because their names differ. A contact with
    neither email nor phone cannot be matched across students: it is one parent per
    student. The same file always gives the same IDs; a changed name or email gives the
    contact a new ID (Clever's own contact IDs behave the same way without a sis_id).
    """
    folded = " ".join(unicodedata.normalize("NFKC", name).casefold().split())
    device = email.strip().casefold() or _phone_digits(phone) or f"student {student_id}"
    digest = hashlib.sha256(f"{folded}\x1f{device}".encode()).hexdigest()
    return f"contact:{digest[:20]}"


def _phone_digits(phone: str) -> str:
    digits = "".join(ch for ch in phone if ch.isdigit())
    return digits[1:] if len(digits) == 11 and digits.startswith("1") else digits


class _Parser(CsvParser):
    def __init__(self, files: dict[str, Path], advance: Advance = no_progress) -> None:
        super().__init__(Roster(files=sorted(files)), files, advance)
        self.clashes: set[str] = set()  # contact IDs already reported as taken

    def note_empty(self, table: Table, kind: str | None) -> None:
        """Record a required file with a header and no rows (a guard input) and any
        headers that matched nothing (diagnostics)."""
        self.roster.file_rows[table.spec.name] = table.rows_read
        if kind and table.rows_read == 0 and table.rows_bad == 0:
            self.roster.empty_files.setdefault(kind, table.spec.name)
        if table.header.ignored:
            self.roster.ignored_headers[table.spec.name] = table.header.ignored

    def unreadable(self, source_id: str, role: str) -> None:
        """A person whose row could not be read: held (rule Q), and of the role their file
        lists, so a skipped count can name their kind."""
        self.roster.unreadable_people.add(source_id)
        self.roster.unreadable_roles.setdefault(source_id, role)

    # -- files -------------------------------------------------------------------

    def schools(self) -> None:
        """Schools; an unreadable row holds its school and everything in it (rule Q)."""
        t = self.table(SCHOOLS, lambda key: self.roster.unreadable_schools.add(key[0]))
        sid, name = t.required_col("School_id"), t.required_col("School_name")
        schools = self.roster.schools
        for line, cells in t.rows():
            school_id = cells[sid].strip()
            if not school_id:
                self.no_id(SCHOOLS, line, "School_id")
                continue
            known = schools.get(school_id)
            if known is not None:
                self.duplicate(SCHOOLS, school_id, line, known.where)
                continue
            schools[school_id] = SchoolRecord(
                school_id, cells[name].strip(), Where(SCHOOLS.name, line)
            )
        self.roster.unreadable_schools -= schools.keys()
        self.note_empty(t, "schools")

    def staff(self, spec: FileSpec, id_column: str, email_column: str, role: str) -> None:
        """teachers.csv or staff.csv: one row per person and school."""
        t = self.table(spec, lambda key: self.unreadable(key[0], role))
        r = t.required_col
        sid, school, email = r(id_column), r("School_id"), t.col(email_column)
        given, family = r("First_name"), r("Last_name")
        people = self.roster.people
        for line, cells in t.rows():
            source_id = intern(cells[sid].strip())
            if not source_id:
                self.no_id(spec, line, id_column)
                continue
            school_id = intern(cells[school].strip())
            given_name, family_name = cells[given].strip(), cells[family].strip()
            known = people.get(source_id)
            if known is not None:
                same = known.role in ("teacher", "administrator") and (
                    known.given_name,
                    known.family_name,
                ) == (given_name, family_name)
                if same and school_id and school_id not in known.school_ids:
                    known.school_ids += (school_id,)  # the same person at another school
                elif not same or known.where.file == spec.name:
                    self.duplicate(spec, source_id, line, known.where)
                # else: a teacher also listed in staff.csv stays a teacher
                continue
            people[source_id] = PersonRecord(
                source_id=source_id,
                role=role,
                given_name=given_name,
                family_name=family_name,
                email=cells[email].strip() if email is not None else "",
                school_ids=(school_id,) if school_id else (),
                where=Where(spec.name, line),
            )
        self.note_empty(t, "people" if spec in REQUIRED_FILES else None)
        if fields := t.unsent():
            self.roster.unsent[(spec.name, "*")] = fields

    def students(self) -> None:
        """Students, and the contact each row carries."""
        t = self.table(STUDENTS, lambda key: self.unreadable(key[0], "student"))
        c, r = t.col, t.required_col
        sid, school, given, family = (
            r("Student_id"),
            r("School_id"),
            r("First_name"),
            r("Last_name"),
        )
        dob_col, grade, email = c("DOB"), c("Grade"), c("Student_email")
        contact_cols = [col for col in map(c, CONTACT_COLUMNS) if col is not None]
        # Positions of the contact columns and Contact_relationship (None when absent).
        contact_pos = [c(name) for name in (*CONTACT_COLUMNS, "Contact_relationship")]
        people = self.roster.people
        for line, cells in t.rows():
            source_id = intern(cells[sid].strip())
            if not source_id:
                self.no_id(STUDENTS, line, "Student_id")
                continue
            school_id = intern(cells[school].strip())
            given_name, family_name = cells[given].strip(), cells[family].strip()
            dob = cells[dob_col].strip() if dob_col is not None else ""
            student = people.get(source_id)
            if student is None:
                student = people[source_id] = PersonRecord(
                    source_id=source_id,
                    role="student",
                    given_name=given_name,
                    family_name=family_name,
                    email=cells[email].strip() if email is not None else "",
                    dob=dob,
                    grade=cells[grade].strip() if grade is not None else "",
                    school_ids=(school_id,) if school_id else (),
                    where=Where(STUDENTS.name, line),
                )
            elif (
                student.role == "student"
                and (student.given_name, student.family_name) == (given_name, family_name)
                and (not dob or not student.dob or dob == student.dob)
            ):
                # Another contact row of the same student.
                if school_id and school_id not in student.school_ids:
                    student.school_ids += (school_id,)
            else:
                self.duplicate(STUDENTS, source_id, line, student.where)
                continue
            if any(cells[col].strip() for col in contact_cols):
                values = [cells[pos].strip() if pos is not None else "" for pos in contact_pos]
                self.contact(student, school_id, line, *values)
        self.note_empty(t, "people")
        self.note_unsent_students(t.unsent())

    def contact(
        self,
        student: PersonRecord,
        school_id: str,
        line: int,
        name: str,
        email: str,
        phone: str,
        sis_id: str,
        relationship: str,
    ) -> None:
        """One contact row: a parent of `student`, or the student's own details (Self)."""
        if relationship.casefold() == SELF or sis_id == student.source_id:
            _add_phone(student, phone)
            student.email = student.email or email
            return
        people = self.roster.people
        parent_id = intern(sis_id) if sis_id else contact_id(name, email, phone, student.source_id)
        parent = people.get(parent_id)
        if parent is None:
            parent = people[parent_id] = PersonRecord(
                source_id=parent_id,
                role="parent",
                given_name=name,
                email=email,
                phone=phone,
                school_ids=(school_id,) if school_id else (),
                where=Where(STUDENTS.name, line),
            )
        elif parent.role != "parent":
            if parent_id not in self.clashes:
                self.clashes.add(parent_id)
                self.add(
                    Finding(
                        code=IssueCode.DUPLICATE_ID,
                        kind="person",
                        source_id=parent_id,
                        name=name,
                        field="Contact_sis_id",
                        value=sis_id,
                        file=STUDENTS.name,
                        line=line,
                        school_id=school_id,
                        message=f"{STUDENTS.name} line {line}: contact ID {parent_id} is "
                        f"already the ID of a {parent.role} ({parent.where.file} line "
                        f"{parent.where.line}); the contact was skipped.",
                    )
                )
            return
        else:
            parent.given_name = parent.given_name or name
            parent.email = parent.email or email
            _add_phone(parent, phone)
            if school_id and school_id not in parent.school_ids:
                parent.school_ids += (school_id,)
        self.roster.guardianships.add((parent_id, student.source_id))

    def sections(self) -> None:
        unreadable = self.roster.unreadable_classes
        t = self.table(SECTIONS, lambda key: unreadable.add(key[0]))
        name_cols = [col for col in map(t.col, SECTION_NAME_COLUMNS) if col is not None]
        if not name_cols:
            raise SyncFailure(
                "invalid_files",
                f"{SECTIONS.name} has no Course_name or Section_number column, so sections "
                "have no name. Add Course_name.",
                {"file": SECTIONS.name, "header": "Course_name", "missing": ["Course_name"]},
            )
        r = t.required_col
        sid, school, term = r("Section_id"), r("School_id"), r("Term_name")
        teacher_cols = [col for col in map(t.col, TEACHER_COLUMNS) if col is not None]
        classes, enrollments = self.roster.classes, self.roster.enrollments
        for line, cells in t.rows():
            class_id = intern(cells[sid].strip())
            if not class_id:
                self.no_id(SECTIONS, line, "Section_id")
                continue
            if class_id in classes:
                self.duplicate(SECTIONS, class_id, line, classes[class_id].where)
                continue
            classes[class_id] = ClassRecord(
                source_id=class_id,
                school_id=intern(cells[school].strip()),
                name=next((cells[col].strip() for col in name_cols if cells[col].strip()), ""),
                term=cells[term].strip(),
                where=Where(SECTIONS.name, line),
            )
            teachers = dict.fromkeys(cells[col].strip() for col in teacher_cols)
            teachers.pop("", None)
            for n, teacher_id in enumerate(teachers):
                teacher_id = intern(teacher_id)
                enrollments[(class_id, teacher_id)] = EnrollmentRecord(
                    class_id, teacher_id, "teacher", n == 0, SECTIONS.name, line
                )
        self.note_empty(t, "classes")

    def enrollments(self) -> None:
        t = self.table(ENROLLMENTS, self.roster.unreadable_enrollments.add)
        section, student = t.required_col("Section_id"), t.required_col("Student_id")
        enrollments = self.roster.enrollments
        for line, cells in t.rows():
            class_id, person_id = intern(cells[section].strip()), intern(cells[student].strip())
            if not class_id or not person_id:
                self.no_id(ENROLLMENTS, line, "Section_id and Student_id")
                continue
            key = (class_id, person_id)
            if key not in enrollments:  # a teacher of the section keeps the teacher role
                enrollments[key] = EnrollmentRecord(
                    class_id, person_id, "student", False, ENROLLMENTS.name, line
                )
        self.note_empty(t, "enrollments")

    def note_unsent_students(self, missing: frozenset[str]) -> None:
        """students.csv carries students and, in its contact columns, their parents (and
        the students' own phones, on `Self` rows). What it does not send stands."""
        name = STUDENTS.name
        student = set(missing & {"email", "dob", "grade"})
        parent = set()
        if "contacts" in missing:
            self.roster.unsent_kinds |= {"parents", "guardianships"}
            student.add("phone")
        if "contact_phone" in missing:
            student.add("phone")
            parent.add("phone")
        if "contact_email" in missing:
            parent.add("email")
        if student:
            self.roster.unsent[(name, "student")] = frozenset(student)
        if parent:
            self.roster.unsent[(name, "parent")] = frozenset(parent)


def _add_phone(person: PersonRecord, phone: str) -> None:
    """Keep every phone given for a person, the first as `phone`, the rest as fallbacks."""
    if not phone or phone == person.phone or phone in person.other_phones:
        return
    if person.phone:
        person.other_phones += (phone,)
    else:
        person.phone = phone


def parse(folder: Path, advance: Advance = no_progress) -> tuple[Roster, list[Finding]]:
    """Parse a Clever SFTP CSV folder. Fails the run on missing files or bad headers.

    `advance` is told how many rows were read, in batches.
    """
    files = find_files(folder)
    check_files(files)
    p = _Parser(files, advance)
    p.schools()
    p.staff(TEACHERS, "Teacher_id", "Teacher_email", "teacher")
    if STAFF.name in files:
        p.staff(STAFF, "Staff_id", "Staff_email", "administrator")
    p.students()
    p.sections()
    p.enrollments()
    return p.roster, p.findings
