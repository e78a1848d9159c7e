"""What the database holds for one config, as plain data: the mirror the planner reads.

`mirror.load_mirror` fills it in a fixed number of set-based queries; everything after
that (the plan, deltas, absent columns) compares canonical records with this snapshot
and stays free of the ORM, so it can be tested and reasoned about without a database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from syncs.rules.devices import Device

__all__ = ["ClassRow", "Device", "LinkRow", "Mirror", "PersonRow"]


@dataclass(slots=True)
class PersonRow:
    pk: int
    role: str
    given_name: str
    family_name: str
    dob: date | None
    grade: str
    email: str
    phone: str
    archived: bool
    account_id: int | None
    schools: tuple[str, ...] = ()  # SIS IDs, sorted

    def fields(self) -> tuple:
        return (
            self.role,
            self.given_name,
            self.family_name,
            self.dob,
            self.grade,
            self.email,
            self.phone,
            self.schools,
        )


@dataclass(slots=True)
class ClassRow:
    pk: int
    school: str  # SIS ID
    name: str
    term: str
    archived: bool

    def fields(self) -> tuple:
        return (self.school, self.name, self.term)


@dataclass(slots=True)
class LinkRow:
    """An enrollment or guardianship: both ends as source IDs."""

    pk: int
    left: str  # class (enrollment) or parent (guardianship)
    right: str  # person (enrollment) or student (guardianship)
    role: str
    primary: bool
    archived: bool


@dataclass
class Mirror:
    """The config's records as the database holds them, keyed by source ID."""

    schools: dict[str, tuple[int, str]] = field(default_factory=dict)  # sis_id -> (pk, name)
    people: dict[str, PersonRow] = field(default_factory=dict)
    classes: dict[str, ClassRow] = field(default_factory=dict)
    # Links are keyed by their two ends' source IDs: (class, person), (parent, student).
    enrollments: dict[tuple[str, str], LinkRow] = field(default_factory=dict)
    guardianships: dict[tuple[str, str], LinkRow] = field(default_factory=dict)
    # managed account -> {device: ContactDevice pk}
    devices: dict[int, dict[Device, int]] = field(default_factory=dict)
    held_outside: set[Device] = field(default_factory=set)
