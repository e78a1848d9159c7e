"""What rules T6 and U hold back of a plan, and the per-school counts they and the
sharp-drop watch read.

Pure, like the planner: the plan and the mirror in, plain data out. Every record is
placed at one school exactly as the planned-archive list places it
(`syncs.pipeline.report.store_planned_archives`): a person at their first school, a class
at its school, an enrollment at its class's school, a guardian link at its student's
first school. So a school's held archives are exactly its rows on that list, and
approving one school (rule T5) archives exactly what was held there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from syncs.pipeline.plan import Plan
from syncs.pipeline.snapshot import Device, Mirror, PersonRow
from syncs.records import PERSON_KIND_BY_ROLE, THRESHOLD_KINDS, PersonRecord

# The plan's tables whose records a run archives, by the name the holds use.
TABLES = ("people", "classes", "enrollments", "guardianships")
# What rule U watches: a change to any of these is a "mass update" when many records
# of a kind make one at once (a swapped name column, a re-keyed email domain).
WATCHED_FIELDS = ("given_name", "family_name", "email", "phone", "dob")
# How many examples of held updates a run records per kind.
UPDATE_SAMPLES = 5
# The kinds a school holds directly, as the sync tab counts them (links follow them).
SCHOOL_KINDS = ("students", "teachers", "parents", "classes")


def _first(schools: Iterable[str]) -> str:
    return min(schools, default="")


@dataclass
class SchoolCounts:
    """Per school: active records before the run and planned archives, per threshold
    kind; and the school of every planned archive, per table (pk -> SIS ID)."""

    active: dict[str, Counter[str]] = field(default_factory=dict)
    planned: dict[str, Counter[str]] = field(default_factory=dict)
    archive_school: dict[str, dict[int, str]] = field(default_factory=dict)


def newest_pks(mirror: Mirror) -> dict[str, int]:
    """The largest pk of each table the config holds: every record created later has a
    larger one. A held run records them, so the next runs can tell its creates apart."""
    return {
        "people": max((row.pk for row in mirror.people.values()), default=0),
        "classes": max((row.pk for row in mirror.classes.values()), default=0),
        "enrollments": max((row.pk for row in mirror.enrollments.values()), default=0),
    }


def active_by_school(
    mirror: Mirror, *, up_to: Mapping[str, int] | None = None
) -> dict[str, Counter[str]]:
    """Active records per school and kind; with `up_to` (`newest_pks` of an earlier
    run), only those that already existed then."""
    last = {t: (up_to or {}).get(t, float("inf")) for t in ("people", "classes", "enrollments")}
    active: dict[str, Counter[str]] = {}
    class_school = {sid: row.school for sid, row in mirror.classes.items()}
    # Counted by key first (Counter counts in C), then per school: a district's mirror
    # holds a million links, and this runs on every sync.
    people = Counter(
        (_first(row.schools), row.role)
        for row in mirror.people.values()
        if not row.archived and row.pk <= last["people"]
    )
    for (school, role), n in people.items():
        active.setdefault(school, Counter())[PERSON_KIND_BY_ROLE[role]] += n
    for class_row in mirror.classes.values():
        if not class_row.archived and class_row.pk <= last["classes"]:
            active.setdefault(class_row.school, Counter())["classes"] += 1
    per_class = Counter(
        class_sid
        for (class_sid, _person), link in mirror.enrollments.items()
        if not link.archived and link.pk <= last["enrollments"]
    )
    for class_sid, n in per_class.items():
        active.setdefault(class_school.get(class_sid, ""), Counter())["enrollments"] += n
    return active


def school_counts(plan: Plan, mirror: Mirror) -> SchoolCounts:
    """Active records and planned archives per school and kind (rule T6's inputs)."""
    out = SchoolCounts(archive_school={t: {} for t in TABLES})
    people_school = {sid: _first(row.schools) for sid, row in mirror.people.items()}
    class_school = {sid: row.school for sid, row in mirror.classes.items()}
    out.active = active_by_school(mirror)

    planned: dict[str, Counter[str]] = {}
    if plan.people.archive:
        by_pk = {row.pk: (sid, row) for sid, row in mirror.people.items()}
    for pk in plan.people.archive:
        sid, row = by_pk[pk]
        school = people_school[sid]
        out.archive_school["people"][pk] = school
        planned.setdefault(school, Counter())[PERSON_KIND_BY_ROLE[row.role]] += 1
    classes = {row.pk: row for row in mirror.classes.values()}
    for pk in plan.classes.archive:
        school = classes[pk].school
        out.archive_school["classes"][pk] = school
        planned.setdefault(school, Counter())["classes"] += 1
    if plan.enrollments.archive:
        wanted = set(plan.enrollments.archive)
        for (class_sid, _person), link in mirror.enrollments.items():
            if link.pk in wanted:
                school = class_school.get(class_sid, "")
                out.archive_school["enrollments"][link.pk] = school
                planned.setdefault(school, Counter())["enrollments"] += 1
    if plan.guardianships.archive:
        wanted = set(plan.guardianships.archive)
        for (_parent, student_sid), link in mirror.guardianships.items():
            if link.pk in wanted:
                out.archive_school["guardianships"][link.pk] = people_school.get(student_sid, "")
    out.planned = planned
    return out


@dataclass
class UpdateCheck:
    """Rule U's inputs: per kind, the active people whose name, email, phone or birth
    date would change; and which fields, per person pk."""

    changed: Counter[str] = field(default_factory=Counter)
    fields: dict[int, tuple[str, ...]] = field(default_factory=dict)
    kind_of: dict[int, str] = field(default_factory=dict)


def watched_changes(plan: Plan, mirror: Mirror) -> UpdateCheck:
    """The planned updates of active people that change a watched field (an unarchive
    is someone coming back, not a mass update)."""
    out = UpdateCheck()
    rows = {row.pk: row for row in mirror.people.values()}
    for pk, rec in plan.people.update:
        row = rows[pk]
        if row.archived:
            continue
        changed = _changed_fields(row, rec, plan.dob.get(rec.source_id))
        if changed:
            out.fields[pk] = changed
            out.kind_of[pk] = rec.kind
            out.changed[rec.kind] += 1
    return out


def _changed_fields(row: PersonRow, rec: PersonRecord, dob: date | None) -> tuple[str, ...]:
    after = {
        "given_name": rec.given_name,
        "family_name": rec.family_name,
        "email": rec.email,
        "phone": rec.phone,
        "dob": dob,
    }
    return tuple(f for f in WATCHED_FIELDS if getattr(row, f) != after[f])


def update_samples(
    plan: Plan, mirror: Mirror, check: UpdateCheck, kind: str, limit: int = UPDATE_SAMPLES
) -> list[dict[str, Any]]:
    """Up to `limit` held updates of a kind, by source ID: what each would change, as
    [before, after] per watched field (names, email, phone, birth date; nothing else)."""
    rows = {row.pk: (sid, row) for sid, row in mirror.people.items()}
    samples = []
    for pk, rec in sorted(plan.people.update, key=lambda u: u[1].source_id):
        if check.kind_of.get(pk) != kind:
            continue
        sid, row = rows[pk]
        dob = plan.dob.get(rec.source_id)
        after = {
            "given_name": rec.given_name,
            "family_name": rec.family_name,
            "email": rec.email,
            "phone": rec.phone,
            "dob": dob.isoformat() if dob else "",
        }
        before = {f: getattr(row, f) for f in WATCHED_FIELDS}
        before["dob"] = row.dob.isoformat() if row.dob else ""
        samples.append(
            {
                "source_id": sid,
                "school": _first(row.schools),
                "changes": {f: [before[f], after[f]] for f in check.fields[pk]},
            }
        )
        if len(samples) >= limit:
            break
    return samples


@dataclass
class Holds:
    """What a run keeps from applying: every archive (rule T3, `hold_all`), or the
    archives of some schools (T6, per table the pks not to archive), and the updates
    of some people (U, person pks)."""

    hold_all: bool = False
    schools: frozenset[str] = frozenset()
    archives: dict[str, set[int]] = field(default_factory=dict)
    updates: frozenset[int] = frozenset()

    @property
    def any(self) -> bool:
        return self.hold_all or bool(self.schools) or bool(self.updates)

    def applied_archives(self, table: str, pks: list[int]) -> list[int]:
        if self.hold_all:
            return []
        held = self.archives.get(table, set())
        return [pk for pk in pks if pk not in held] if held else list(pks)


def held_archives(counts: SchoolCounts, schools: Iterable[str]) -> dict[str, set[int]]:
    """Per table, the planned archives placed at `schools`."""
    wanted = set(schools)
    return {
        table: {pk for pk, school in placed.items() if school in wanted}
        for table, placed in counts.archive_school.items()
    }


def plan_to_apply(plan: Plan, mirror: Mirror, holds: Holds) -> Plan:
    """The plan without the updates U holds back, and with the devices the holds keep:
    people whose archive is held keep theirs, as under T3; people whose update is held
    keep the ones they hold now instead of the ones they claimed. The archives stay in
    it (they still go missing, see apply's stamps): `apply_plan` is told which of them
    not to archive (`holds.archives`; T3 is `archive=False`).
    """
    if not holds.schools and not holds.updates:
        return plan
    held = holds.archives
    owner: dict[Device, str] = dict(plan.device_owner)
    sid_of = {row.pk: sid for sid, row in mirror.people.items()}
    if holds.schools:
        kept = {sid_of[pk] for pk in held.get("people", ())}
        for device, sid in plan.device_owner_if_blocked.items():
            if sid in kept:
                owner.setdefault(device, sid)
    if holds.updates:
        frozen = {sid_of[pk] for pk in holds.updates}
        owner = {device: sid for device, sid in owner.items() if sid not in frozen}
        for sid in sorted(frozen):
            account = mirror.people[sid].account_id
            for device in sorted(mirror.devices.get(account, {})) if account else ():
                owner.setdefault(device, sid)

    return replace(
        plan,
        people=replace(
            plan.people,
            update=[(pk, rec) for pk, rec in plan.people.update if pk not in holds.updates],
        ),
        device_owner=owner,
    )


def active_after(
    plan: Plan, mirror: Mirror, counts: SchoolCounts, holds: Holds
) -> dict[str, dict[str, int]]:
    """Per school, the active people and classes of each kind once the run is applied
    with its holds: what the sharp-drop watch compares with the usual counts, and what
    the run records for the runs after it."""
    after: dict[str, Counter[str]] = {
        school: Counter({k: n for k, n in kinds.items() if k in SCHOOL_KINDS})
        for school, kinds in counts.active.items()
    }

    def add(school: str, kind: str, n: int) -> None:
        after.setdefault(school, Counter())[kind] += n

    rows = {row.pk: (sid, row) for sid, row in mirror.people.items()}
    for pk in holds.applied_archives("people", plan.people.archive):
        sid, row = rows[pk]
        add(_first(row.schools), PERSON_KIND_BY_ROLE[row.role], -1)
    class_rows = {row.pk: row for row in mirror.classes.values()}
    for pk in holds.applied_archives("classes", plan.classes.archive):
        add(class_rows[pk].school, "classes", -1)
    for rec in plan.people.create:
        add(_first(rec.school_ids), rec.kind, 1)
    for pk, rec in plan.people.update:
        if pk in holds.updates:
            continue
        _sid, row = rows[pk]
        if not row.archived:
            add(_first(row.schools), PERSON_KIND_BY_ROLE[row.role], -1)
        add(_first(rec.school_ids), rec.kind, 1)
    for klass in plan.classes.create:
        add(klass.school_id, "classes", 1)
    for pk, klass in plan.classes.update:
        if not class_rows[pk].archived:
            add(class_rows[pk].school, "classes", -1)
        add(klass.school_id, "classes", 1)
    return {
        school: {k: kinds[k] for k in SCHOOL_KINDS if kinds[k]}
        for school, kinds in sorted(after.items())
        if school
    }


def as_counts(by_school: Mapping[str, Counter[str]]) -> dict[str, dict[str, int]]:
    """Counters as plain dicts of the threshold kinds, for rules and diagnostics."""
    return {
        school: {k: kinds[k] for k in THRESHOLD_KINDS if kinds.get(k)}
        for school, kinds in by_school.items()
    }


def held_counts(plan: Plan, mirror: Mirror, holds: Holds) -> dict[str, Counter[str]]:
    """Per count kind, what the holds kept from a run's counts: `archived` (T6's held
    schools; every archive under T3) and `updated` (U)."""
    out: dict[str, Counter[str]] = {}
    kind_of = {row.pk: PERSON_KIND_BY_ROLE[row.role] for row in mirror.people.values()}
    tables = {
        "people": plan.people.archive,
        "classes": plan.classes.archive,
        "enrollments": plan.enrollments.archive,
        "guardianships": plan.guardianships.archive,
    }
    for table, pks in tables.items():
        held = set(pks) if holds.hold_all else holds.archives.get(table, set())
        for pk in pks:
            if pk in held:
                kind = kind_of[pk] if table == "people" else table
                out.setdefault(kind, Counter())["archived"] += 1
    for pk, rec in plan.people.update:
        if pk in holds.updates:
            out.setdefault(rec.kind, Counter())["updated"] += 1
    return out
