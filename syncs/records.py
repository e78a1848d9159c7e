"""Canonical roster records: what every format parses into and every rule works on.

Plain data, no Django: a format turns raw files or pages into a Roster, and the rules and
the planner only ever see these types.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, NamedTuple

# What the mirror's columns hold (rostering.models, accounts.models); a test keeps these
# equal to the models' max_length. IDs longer than MAX_ID cannot be stored, so such a
# row is unreadable; longer names and values are cut to fit, with an alert.
MAX_ID = 255
MAX_NAME = 255
MAX_EMAIL = 320
MAX_PHONE = 64
MAX_GRADE = 32

# Ranks for rule D2: a lower number outranks a higher one.
ROLE_RANK = {"teacher": 0, "administrator": 0, "parent": 1, "student": 2}

# The kinds the deletion threshold counts (rule T2), keyed by what a person's role maps to.
PERSON_KIND_BY_ROLE = {
    "student": "students",
    "teacher": "teachers",
    "administrator": "teachers",
    "parent": "parents",
}
THRESHOLD_KINDS = ("students", "teachers", "parents", "classes", "enrollments")
# What a run counts and reports: the guarded kinds plus guardian links.
COUNT_KINDS = (*THRESHOLD_KINDS, "guardianships")


class Where(NamedTuple):
    """Where a record came from, so an issue can point at the exact line.

    A tuple: one is made per row of a million-row district.
    """

    file: str = ""
    line: int | None = None


@dataclass(slots=True)
class SchoolRecord:
    source_id: str
    name: str = ""
    where: Where = Where()


@dataclass(slots=True)
class PersonRecord:
    source_id: str
    role: str  # teacher | administrator | parent | student
    given_name: str = ""
    family_name: str = ""
    email: str = ""
    phone: str = ""
    other_phones: tuple[str, ...] = ()  # fallbacks when `phone` is unusable
    dob: str = ""  # as given; validate parses it
    grade: str = ""
    school_ids: tuple[str, ...] = ()
    where: Where = Where()

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()

    @property
    def kind(self) -> str:
        return PERSON_KIND_BY_ROLE[self.role]


@dataclass(slots=True)
class ClassRecord:
    source_id: str
    school_id: str
    name: str = ""
    term: str = ""
    where: Where = Where()


@dataclass(slots=True)
class EnrollmentRecord:
    # Flat file and line rather than a Where: a district has ~700,000 of these.
    class_id: str
    person_id: str
    role: str  # teacher | student
    primary: bool = False
    file: str = ""
    line: int | None = None

    @property
    def where(self) -> Where:
        return Where(self.file, self.line)

    @property
    def source_id(self) -> str:
        return enrollment_source_id(self.class_id, self.person_id)


def link_key(left: str, right: str) -> str:
    """The source ID of a link between two records: `<left>/<right>`.

    Unambiguous whatever the IDs hold: `%` and `/` inside an ID are escaped, so class
    `a` with person `b/c` and class `a/b` with person `c` never share a key. A key longer
    than MAX_ID (two long IDs) is replaced by a digest of itself, so it always fits.
    """
    key = f"{_escape(left)}/{_escape(right)}"
    if len(key) <= MAX_ID:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _escape(source_id: str) -> str:
    if "/" not in source_id and "%" not in source_id:
        return source_id  # the common case: nothing to escape
    return source_id.replace("%", "%25").replace("/", "%2F")


def enrollment_source_id(class_id: str, person_id: str) -> str:
    return link_key(class_id, person_id)


def guardianship_source_id(parent_id: str, student_id: str) -> str:
    return link_key(parent_id, student_id)


@dataclass(slots=True)
class Roster:
    """Everything one run read from its source, in canonical form.

    `unreadable` holds IDs of records that are present in the source but whose rows could
    not be read: rule Q keeps them from being archived.
    """

    schools: dict[str, SchoolRecord] = field(default_factory=dict)
    people: dict[str, PersonRecord] = field(default_factory=dict)
    classes: dict[str, ClassRecord] = field(default_factory=dict)
    enrollments: dict[tuple[str, str], EnrollmentRecord] = field(default_factory=dict)
    # (parent_id, student_id)
    guardianships: set[tuple[str, str]] = field(default_factory=set)
    unreadable_people: set[str] = field(default_factory=set)
    unreadable_classes: set[str] = field(default_factory=set)
    # Schools whose own row could not be read: everything in them is held (rule Q).
    unreadable_schools: set[str] = field(default_factory=set)
    # (class, person) of enrollment rows that could not be read
    unreadable_enrollments: set[tuple[str, ...]] = field(default_factory=set)
    # Required kinds whose file had a header but no data rows (a guard input).
    empty_files: dict[str, str] = field(default_factory=dict)  # kind -> file name
    # Classes with a teacher enrollment in the source, whatever that teacher's own state.
    taught: set[str] = field(default_factory=set)
    # Headers present in a file that matched nothing (diagnostics only).
    ignored_headers: dict[str, list[str]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    format: str = ""  # which parser read it (syncs.formats.PARSERS)
    # Delta mode (OneRoster `delta` files): only the records in the files change;
    # records absent from them are left alone, and these are archived.
    delta: bool = False
    deleted_people: set[str] = field(default_factory=set)
    deleted_classes: set[str] = field(default_factory=set)
    deleted_enrollments: set[tuple[str, str]] = field(default_factory=set)
    # Delta: raw agent lists, linked once the delta is merged into the mirror's records.
    agent_ids: dict[str, list[str]] = field(default_factory=dict)
    # Optional columns a file did not have: "not sent", so the mirror's values stand.
    # (file, role or "*") -> record fields; see pipeline/unsent.py.
    unsent: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    # Kinds the files could not send at all (their columns were absent): "guardianships",
    # "parents". None of those the mirror holds is archived.
    unsent_kinds: set[str] = field(default_factory=set)
    # The district's own name in the files (a OneRoster district org, the Clever district);
    # "" when the files do not say (Clever CSV). Names an organization still named after
    # its slug.
    district_name: str = ""
    # Data rows read per required file (or records per collection): diagnostics, so a
    # file far smaller than the last applied run's shows as a likely cause (rule T4).
    file_rows: dict[str, int] = field(default_factory=dict)
    # `unknown_reference` findings (syncs.findings.Finding, which imports this module)
    # about people, held back until scope knows whether their owner is synced: a
    # reference made by someone outside the schools in scope, or in a run that fails
    # `schools_not_found`, is not an issue.
    references: list[Any] = field(default_factory=list)
    # Set by scope: schools in the files that are not among the config's school IDs.
    out_of_scope_schools: set[str] = field(default_factory=set)
    # The role of people in `unreadable_people`, where it is known (their file says it,
    # or scope held them with their school), so a skipped count can name their kind.
    unreadable_roles: dict[str, str] = field(default_factory=dict)
