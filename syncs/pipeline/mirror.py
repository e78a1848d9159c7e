"""What the database holds for one config, read in a fixed number of set-based queries.

The planner compares canonical records with this snapshot, so it never queries per row.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from accounts.models import ContactDevice
from rostering.models import Class, Enrollment, Guardianship, Person, School
from syncs.pipeline.sqlsets import filter_in
from syncs.rules.devices import Device


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
    schools: dict[str, tuple[int, str]] = field(default_factory=dict)  # sis_id -> (pk, name)
    people: dict[str, PersonRow] = field(default_factory=dict)
    classes: dict[str, ClassRow] = field(default_factory=dict)
    enrollments: dict[str, LinkRow] = field(default_factory=dict)
    guardianships: dict[str, LinkRow] = field(default_factory=dict)
    # managed account -> {device: ContactDevice pk}
    devices: dict[int, dict[Device, int]] = field(default_factory=dict)
    held_outside: set[Device] = field(default_factory=set)


def load_mirror(*, config, claimed: set[Device]) -> Mirror:
    m = Mirror()
    for pk, sis_id, name in School.objects.filter(
        organization_id=config.organization_id
    ).values_list("pk", "sis_id", "name"):
        m.schools[sis_id] = (pk, name)

    schools_of: dict[int, list[str]] = defaultdict(list)
    through = Person.schools.through
    for person_id, sis_id in through.objects.filter(person__sync_config=config).values_list(
        "person_id", "school__sis_id"
    ):
        schools_of[person_id].append(sis_id)

    for row in (
        Person.objects.filter(sync_config=config)
        .values_list(
            "pk",
            "source_id",
            "role",
            "given_name",
            "family_name",
            "dob",
            "grade",
            "email",
            "phone",
            "archived_at",
            "account_id",
        )
        .iterator(chunk_size=5000)
    ):
        pk, sid, role, given, family, dob, grade, email, phone, archived_at, account_id = row
        m.people[sid] = PersonRow(
            pk,
            role,
            given,
            family,
            dob,
            grade,
            email,
            phone,
            archived_at is not None,
            account_id,
            tuple(sorted(schools_of.get(pk, ()))),
        )

    for pk, sid, school, name, term, archived_at in Class.objects.filter(
        sync_config=config
    ).values_list("pk", "source_id", "school__sis_id", "name", "term", "archived_at"):
        m.classes[sid] = ClassRow(pk, school, name, term, archived_at is not None)

    for pk, sid, left, right, role, primary, archived_at in (
        Enrollment.objects.filter(sync_config=config)
        .values_list(
            "pk",
            "source_id",
            "section__source_id",
            "person__source_id",
            "role",
            "primary",
            "archived_at",
        )
        .iterator(chunk_size=5000)
    ):
        m.enrollments[sid] = LinkRow(pk, left, right, role, primary, archived_at is not None)

    for pk, sid, left, right, archived_at in (
        Guardianship.objects.filter(sync_config=config)
        .values_list("pk", "source_id", "parent__source_id", "student__source_id", "archived_at")
        .iterator(chunk_size=5000)
    ):
        m.guardianships[sid] = LinkRow(pk, left, right, "", False, archived_at is not None)

    managed = {p.account_id for p in m.people.values() if p.account_id}
    for pk, account_id, kind, value in ContactDevice.objects.filter(
        account__person__sync_config=config
    ).values_list("pk", "account_id", "kind", "value"):
        m.devices.setdefault(account_id, {})[(kind, value)] = pk

    # Devices claimed in this run but held by accounts this config does not manage (D3).
    for kind in ("email", "phone"):
        values = [v for k, v in claimed if k == kind]
        if not values:
            continue
        qs = ContactDevice.objects.filter(kind=kind)
        for account_id, value in filter_in(qs, "value", values).values_list("account_id", "value"):
            if account_id not in managed:
                m.held_outside.add((kind, value))
    return m
