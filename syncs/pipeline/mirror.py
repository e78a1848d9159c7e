"""What the database holds for one config, read in a fixed number of set-based queries.

The planner compares canonical records with this snapshot (`snapshot.Mirror`), so it
never queries per row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date

from django.db import connection
from django.db.models import Model

from accounts.models import ContactDevice
from rostering.models import Class, Enrollment, Guardianship, Person, School
from syncs.models import SyncConfig

# The snapshot's types are plain data in their own module (the planner must not import
# the ORM); named here too, where callers have always found them.
from syncs.pipeline.snapshot import ClassRow, Device, LinkRow, Mirror, PersonRow
from syncs.pipeline.sqlsets import filter_in

__all__ = ["ClassRow", "LinkRow", "Mirror", "PersonRow", "load_held_outside", "load_mirror"]


def _rows(sql: str, params: list) -> Iterator[tuple]:
    """Plain tuples from raw SQL: the ORM's per-row work costs seconds at a district's
    size, and these reads only need a few columns."""
    with connection.cursor() as cur:
        cur.execute(sql, params)
        while batch := cur.fetchmany(10_000):
            yield from batch


def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _date(value: date | str | None) -> date | None:
    # SQLite hands raw SQL dates back as text; PostgreSQL as dates.
    return date.fromisoformat(value) if isinstance(value, str) else value


def load_mirror(*, config: SyncConfig) -> Mirror:
    """Everything the config manages, in a handful of queries."""
    m = Mirror()
    for pk, sis_id, name in School.objects.filter(
        organization_id=config.organization_id
    ).values_list("pk", "sis_id", "name"):
        m.schools[sis_id] = (pk, name)
    sis_of = {pk: sis_id for sis_id, (pk, _name) in m.schools.items()}
    cid = config.pk
    sid_of_person = _load_people(m, cid, sis_of)
    sid_of_class = _load_classes(m, cid, sis_of)
    _load_enrollments(m, cid, sid_of_class, sid_of_person)
    _load_guardianships(m, cid, sid_of_person)
    _load_devices(m, cid)
    return m


def _load_people(m: Mirror, cid: int, sis_of: dict[int, str]) -> dict[int, str]:
    """The config's people with their schools' SIS IDs; returns source ID by pk."""
    person, through = _table(Person), _table(Person.schools.through)
    schools_of: dict[int, list[str]] = defaultdict(list)
    for person_id, school_id in _rows(
        f"SELECT t.person_id, t.school_id FROM {through} t JOIN {person} p ON p.id = t.person_id "
        "WHERE p.sync_config_id = %s",
        [cid],
    ):
        schools_of[person_id].append(sis_of[school_id])

    sid_of_person: dict[int, str] = {}
    for pk, sid, role, given, family, dob, grade, email, phone, archived, account_id in _rows(
        "SELECT id, source_id, role, given_name, family_name, dob, grade, email, phone, "
        f"archived_at IS NOT NULL, account_id FROM {person} WHERE sync_config_id = %s",
        [cid],
    ):
        sid_of_person[pk] = sid
        m.people[sid] = PersonRow(
            pk,
            role,
            given,
            family,
            _date(dob),
            grade,
            email,
            phone,
            bool(archived),
            account_id,
            tuple(sorted(schools_of.get(pk, ()))),
        )
    return sid_of_person


def _load_classes(m: Mirror, cid: int, sis_of: dict[int, str]) -> dict[int, str]:
    """The config's classes; returns source ID by pk."""
    sid_of_class: dict[int, str] = {}
    for pk, sid, school_id, name, term, archived in _rows(
        f"SELECT id, source_id, school_id, name, term, archived_at IS NOT NULL FROM {_table(Class)} "
        "WHERE sync_config_id = %s",
        [cid],
    ):
        sid_of_class[pk] = sid
        m.classes[sid] = ClassRow(pk, sis_of[school_id], name, term, bool(archived))
    return sid_of_class


def _load_enrollments(
    m: Mirror, cid: int, sid_of_class: dict[int, str], sid_of_person: dict[int, str]
) -> None:
    for pk, section_id, person_id, role, primary, archived in _rows(
        'SELECT id, section_id, person_id, role, "primary", archived_at IS NOT NULL '
        f"FROM {_table(Enrollment)} WHERE sync_config_id = %s",
        [cid],
    ):
        left, right = sid_of_class[section_id], sid_of_person[person_id]
        m.enrollments[left, right] = LinkRow(pk, left, right, role, bool(primary), bool(archived))


def _load_guardianships(m: Mirror, cid: int, sid_of_person: dict[int, str]) -> None:
    for pk, parent_id, student_id, archived in _rows(
        "SELECT id, parent_id, student_id, archived_at IS NOT NULL "
        f"FROM {_table(Guardianship)} WHERE sync_config_id = %s",
        [cid],
    ):
        left, right = sid_of_person[parent_id], sid_of_person[student_id]
        m.guardianships[left, right] = LinkRow(pk, left, right, "", False, bool(archived))


def _load_devices(m: Mirror, cid: int) -> None:
    """The devices of the config's accounts, by account."""
    for pk, account_id, kind, value in _rows(
        f"SELECT d.id, d.account_id, d.kind, d.value FROM {_table(ContactDevice)} d "
        f"JOIN {_table(Person)} p ON p.account_id = d.account_id WHERE p.sync_config_id = %s",
        [cid],
    ):
        m.devices.setdefault(account_id, {})[(kind, value)] = pk


def load_held_outside(*, mirror: Mirror, claimed: set[Device]) -> None:
    """Devices claimed in this run but held by accounts the config does not manage (D3).

    Devices the config's own accounts hold are known already; only the rest are looked
    up, so a nightly re-sync asks about a handful of values, not the whole district.
    """
    managed: set[Device] = set()
    for devices in mirror.devices.values():
        managed.update(devices)
    unknown = claimed - managed
    for kind in ("email", "phone"):
        values = [v for k, v in unknown if k == kind]
        if values:
            found = filter_in(ContactDevice.objects.filter(kind=kind), "value", values)
            mirror.held_outside.update(
                (kind, value) for value in found.values_list("value", flat=True)
            )
