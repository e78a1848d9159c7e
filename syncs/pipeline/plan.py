"""Stage 6, plan: diff the canonical roster against the mirror.

Pure set operations over source IDs: what to create, update, unarchive and archive per
kind, and who should hold each device afterwards. Nothing here touches the database.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from syncs.pipeline.snapshot import LinkRow, Mirror
from syncs.records import (
    COUNT_KINDS,
    PERSON_KIND_BY_ROLE,
    ClassRecord,
    PersonRecord,
    Roster,
)
from syncs.rules.devices import Device


@dataclass
class KindPlan:
    """One table's changes. `update` holds (pk, record) and includes unarchives."""

    create: list = field(default_factory=list)
    update: list = field(default_factory=list)
    unarchive: set[int] = field(default_factory=set)
    archive: list[int] = field(default_factory=list)  # pks
    unchanged: int = 0
    held: int = 0  # present but quarantined: neither changed nor archived (rule Q)
    held_new: int = 0  # present, quarantined and not in the mirror: not created (rule Q)


@dataclass
class Plan:
    people: KindPlan = field(default_factory=KindPlan)
    classes: KindPlan = field(default_factory=KindPlan)
    enrollments: KindPlan = field(default_factory=KindPlan)
    guardianships: KindPlan = field(default_factory=KindPlan)
    dob: dict[str, date] = field(default_factory=dict)
    # Who holds each device after the run, by person source_id.
    device_owner: dict[Device, str] = field(default_factory=dict)
    # Devices people planned for archive keep if the guard blocks archiving.
    device_owner_if_blocked: dict[Device, str] = field(default_factory=dict)
    # Present, valid people: they get (or keep) an account.
    account_holders: set[str] = field(default_factory=set)
    schools_to_create: list[str] = field(default_factory=list)
    schools_to_rename: list[tuple[int, str]] = field(default_factory=list)
    # Per threshold kind: active records the config manages, and planned archives.
    active: dict[str, int] = field(default_factory=dict)
    planned_archives: dict[str, int] = field(default_factory=dict)

    # Unchanged and held people per threshold kind (people span three kinds); held new
    # people are those rule Q kept from being created.
    people_unchanged: Counter = field(default_factory=Counter)
    people_held: Counter = field(default_factory=Counter)
    people_held_new: Counter = field(default_factory=Counter)
    # People present in the source whose rows could not be read, of no known role, and
    # not in the mirror: skipped like the quarantined, but of no kind to count them under.
    unreadable_unknown: int = 0

    def counts(self, mirror: Mirror) -> dict[str, dict[str, int]]:
        """Created/updated/unarchived/archived/unchanged/quarantined per threshold kind.

        Quarantined counts every record of the kind that is in the source but was held
        (rule Q): existing ones kept as they were and new ones not created, so the counts
        add up to the records a run skipped (`skipped_records`)."""
        out: dict[str, Counter[str]] = {k: Counter() for k in COUNT_KINDS}
        role_of = {row.pk: row.role for row in mirror.people.values()}
        for rec in self.people.create:
            out[rec.kind]["created"] += 1
        for _pk, rec in self.people.update:
            out[rec.kind]["updated"] += 1
        for pk in self.people.unarchive:
            out[PERSON_KIND_BY_ROLE[role_of[pk]]]["unarchived"] += 1
        for pk in self.people.archive:
            out[PERSON_KIND_BY_ROLE[role_of[pk]]]["archived"] += 1
        for kind in COUNT_KINDS:
            out[kind]["unchanged"] += self.people_unchanged[kind]
            out[kind]["quarantined"] += self.people_held[kind] + self.people_held_new[kind]
        for kind, plan in (
            ("classes", self.classes),
            ("enrollments", self.enrollments),
            ("guardianships", self.guardianships),
        ):
            out[kind].update(
                created=len(plan.create),
                updated=len(plan.update),
                unarchived=len(plan.unarchive),
                archived=len(plan.archive),
                unchanged=plan.unchanged,
                quarantined=plan.held + plan.held_new,
            )
        return {kind: {key: out[kind][key] for key in COUNT_KEYS} for kind in COUNT_KINDS}

    def skipped(self, mirror: Mirror) -> dict[str, int]:
        """The people and classes this run skipped (rule Q), per kind, with `unreadable`
        for rows of no known role and `total`: what "N records skipped" counts."""
        counts = self.counts(mirror)
        out = {kind: counts[kind]["quarantined"] for kind in SKIPPED_KINDS}
        out["unreadable"] = self.unreadable_unknown
        out["total"] = sum(out.values())
        return out


COUNT_KEYS = ("created", "updated", "unarchived", "archived", "unchanged", "quarantined")
# The records a skipped count is of: people and classes (their links follow them).
SKIPPED_KINDS = ("students", "teachers", "parents", "classes")


def skipped_records(counts: Mapping[str, Mapping[str, int]]) -> int:
    """People and classes a run skipped (rule Q), from its counts."""
    return sum(counts.get(kind, {}).get("quarantined", 0) for kind in SKIPPED_KINDS)


def _person_fields(rec: PersonRecord, dob: date | None) -> tuple:
    return (
        rec.role,
        rec.given_name,
        rec.family_name,
        dob,
        rec.grade,
        rec.email,
        rec.phone,
        tuple(sorted(rec.school_ids)),
    )


def _class_fields(rec: ClassRecord) -> tuple:
    return (rec.school_id, rec.name, rec.term)


def unreadable_records(roster: Roster, mirror: Mirror) -> tuple[set[str], set[str]]:
    """People and classes present in the source whose rows could not be read: kept as
    they are (rule Q). A school whose own row could not be read holds what the mirror
    has in it too, whether or not the files still list it."""
    people, classes = roster.unreadable_people, roster.unreadable_classes
    if "parents" in roster.unsent_kinds:
        # The files could not send parents at all (Clever without contact columns).
        people = people | {sid for sid, row in mirror.people.items() if row.role == "parent"}
    held_schools = roster.unreadable_schools
    if held_schools:
        people = people | {
            sid for sid, row in mirror.people.items() if not held_schools.isdisjoint(row.schools)
        }
        classes = classes | {
            sid for sid, row in mirror.classes.items() if row.school in held_schools
        }
    return people, classes


def make_plan(
    *,
    roster: Roster,
    mirror: Mirror,
    person_errors: set[str],
    class_errors: set[str],
    dob: dict[str, date],
    winners: dict[Device, str],
) -> Plan:
    """The plan, in the order of the spec: schools, people, classes, links, devices, and
    the deletion threshold's inputs. Records in error or unreadable are held (rule Q)."""
    plan = Plan(dob=dob)
    unreadable_people, unreadable_classes = unreadable_records(roster, mirror)
    held_people = person_errors | unreadable_people
    held_classes = class_errors | unreadable_classes
    present_people = roster.people.keys() | unreadable_people

    _plan_schools(plan, roster, mirror)
    _plan_people(plan, roster, mirror, held_people, dob)
    _hold_unreadable_people(plan, roster, mirror, unreadable_people)
    archived_people = _archive_people(plan, mirror, present_people)
    _plan_classes(plan, roster, mirror, held_classes, unreadable_classes)
    _plan_enrollments_and_guardianships(plan, roster, mirror, held_people, held_classes)
    _plan_devices(plan, mirror, winners, held_people, present_people, archived_people)
    _threshold_inputs(plan, mirror, archived_people)
    return plan


def _plan_schools(plan: Plan, roster: Roster, mirror: Mirror) -> None:
    """Schools: created or renamed to match the source; never archived by a sync."""
    for sis_id, school in roster.schools.items():
        known = mirror.schools.get(sis_id)
        if known is None:
            plan.schools_to_create.append(sis_id)
        elif school.name and school.name != known[1]:
            plan.schools_to_rename.append((known[0], school.name))


def _plan_people(
    plan: Plan, roster: Roster, mirror: Mirror, held_people: set[str], dob: dict[str, date]
) -> None:
    """People in the source: held, created, updated (unarchived too) or unchanged."""
    for sid, rec in roster.people.items():
        row = mirror.people.get(sid)
        if sid in held_people:
            if row is not None:
                plan.people.held += 1
                plan.people_held[PERSON_KIND_BY_ROLE[row.role]] += 1
            else:
                plan.people.held_new += 1
                plan.people_held_new[rec.kind] += 1
            continue
        plan.account_holders.add(sid)
        if row is None:
            plan.people.create.append(rec)
        elif row.archived or row.fields() != _person_fields(rec, dob.get(sid)):
            plan.people.update.append((row.pk, rec))
            if row.archived:
                plan.people.unarchive.add(row.pk)
        else:
            plan.people.unchanged += 1
            plan.people_unchanged[rec.kind] += 1


def _hold_unreadable_people(
    plan: Plan, roster: Roster, mirror: Mirror, unreadable_people: set[str]
) -> None:
    """Active people whose rows could not be read at all are held as they are; new ones
    are not created (counted by role where it is known)."""
    for sid in unreadable_people - roster.people.keys():
        row = mirror.people.get(sid)
        if row is not None and not row.archived:
            plan.people.held += 1
            plan.people_held[PERSON_KIND_BY_ROLE[row.role]] += 1
        elif row is None:
            role = roster.unreadable_roles.get(sid)
            if role in PERSON_KIND_BY_ROLE:
                plan.people.held_new += 1
                plan.people_held_new[PERSON_KIND_BY_ROLE[role]] += 1
            else:
                plan.unreadable_unknown += 1


def _archive_people(plan: Plan, mirror: Mirror, present_people: set[str]) -> set[str]:
    """Active people the source no longer has are archived; returns their source IDs."""
    archived_people: set[str] = set()
    for sid, row in mirror.people.items():
        if not row.archived and sid not in present_people:
            plan.people.archive.append(row.pk)
            archived_people.add(sid)
    return archived_people


def _plan_classes(
    plan: Plan,
    roster: Roster,
    mirror: Mirror,
    held_classes: set[str],
    unreadable_classes: set[str],
) -> None:
    """Classes: as people, without accounts."""
    for sid, klass in roster.classes.items():
        class_row = mirror.classes.get(sid)
        if sid in held_classes:
            plan.classes.held += class_row is not None
            plan.classes.held_new += class_row is None
            continue
        if class_row is None:
            plan.classes.create.append(klass)
        elif class_row.archived or class_row.fields() != _class_fields(klass):
            plan.classes.update.append((class_row.pk, klass))
            if class_row.archived:
                plan.classes.unarchive.add(class_row.pk)
        else:
            plan.classes.unchanged += 1
    for sid in unreadable_classes - roster.classes.keys():
        class_row = mirror.classes.get(sid)
        if class_row is None:
            plan.classes.held_new += 1
        elif not class_row.archived:
            plan.classes.held += 1
    present_classes = roster.classes.keys() | unreadable_classes
    for sid, class_row in mirror.classes.items():
        if not class_row.archived and sid not in present_classes:
            plan.classes.archive.append(class_row.pk)


def _plan_enrollments_and_guardianships(
    plan: Plan,
    roster: Roster,
    mirror: Mirror,
    held_people: set[str],
    held_classes: set[str],
) -> None:
    """Links are keyed by their ends' source IDs. Held while either end is held, so a
    quarantined class keeps its members; an unreadable enrollment row keeps its record."""
    unreadable = roster.unreadable_enrollments
    _plan_links(
        plan.enrollments,
        roster.enrollments,
        mirror.enrollments,
        is_held=lambda key: key[0] in held_classes or key[1] in held_people or key in unreadable,
        differs=lambda row, rec: row.role != rec.role or row.primary != rec.primary,
    )
    links_unsent = "guardianships" in roster.unsent_kinds
    _plan_links(
        plan.guardianships,
        {pair: pair for pair in roster.guardianships},
        mirror.guardianships,
        is_held=lambda key: links_unsent or key[0] in held_people or key[1] in held_people,
        differs=lambda row, rec: False,
    )


def _plan_devices(
    plan: Plan,
    mirror: Mirror,
    winners: dict[Device, str],
    held_people: set[str],
    present_people: set[str],
    archived_people: set[str],
) -> None:
    """Devices: winners of rule D, plus what held (quarantined) people already have and
    nobody else won: an existing record keeps its last good state."""
    plan.device_owner = dict(winners)
    account_people = {row.account_id: sid for sid, row in mirror.people.items() if row.account_id}
    for account_id, devices in mirror.devices.items():
        holder = account_people.get(account_id)
        if holder is None:
            continue
        for device in devices:
            if device in winners:
                continue
            if holder in held_people and holder in present_people:
                plan.device_owner[device] = holder
            elif holder in archived_people:
                plan.device_owner_if_blocked[device] = holder


def active_counts(mirror: Mirror) -> dict[str, int]:
    """The active records this config manages, per count kind (T2)."""
    active: Counter[str] = Counter()
    for row in mirror.people.values():
        if not row.archived:
            active[PERSON_KIND_BY_ROLE[row.role]] += 1
    for kind, rows in (
        ("classes", mirror.classes),
        ("enrollments", mirror.enrollments),
        ("guardianships", mirror.guardianships),
    ):
        active[kind] = sum(1 for r in rows.values() if not r.archived)
    return {k: active[k] for k in COUNT_KINDS}


def _threshold_inputs(plan: Plan, mirror: Mirror, archived_people: set[str]) -> None:
    """Threshold inputs (T2): per kind, the active records this config manages, and the
    archives planned."""
    plan.active = active_counts(mirror)
    planned = Counter(PERSON_KIND_BY_ROLE[mirror.people[sid].role] for sid in archived_people)
    planned["classes"] = len(plan.classes.archive)
    planned["enrollments"] = len(plan.enrollments.archive)
    planned["guardianships"] = len(plan.guardianships.archive)
    plan.planned_archives = {k: planned[k] for k in COUNT_KINDS}


LinkKey = tuple[str, str]  # a link's two ends: (class, person) or (parent, student)


def _plan_links(
    kplan: KindPlan,
    present: Mapping[LinkKey, Any],
    rows: Mapping[LinkKey, LinkRow],
    *,
    is_held: Callable[[LinkKey], bool],
    differs: Callable[[LinkRow, Any], bool],
) -> None:
    for key, rec in present.items():
        row = rows.get(key)
        if is_held(key):
            kplan.held += row is not None
            kplan.held_new += row is None
            continue
        if row is None:
            kplan.create.append(rec)
        elif row.archived or differs(row, rec):
            kplan.update.append((row.pk, rec))
            if row.archived:
                kplan.unarchive.add(row.pk)
        else:
            kplan.unchanged += 1
    for key, row in rows.items():
        if row.archived or key in present:
            continue
        if is_held(key):
            kplan.held += 1
        else:
            kplan.archive.append(row.pk)


# ---------------------------------------------------------------- what explains a plan (T4)


def school_facts(plan: Plan, mirror: Mirror, roster: Roster) -> dict[str, dict[str, Any]]:
    """Per SIS school with planned archives of people or classes: its name, whether the
    files still list it (or list it outside the config's school IDs), and its active
    records and planned archives per kind. A person counts at their first school, as on
    the planned-archive list."""
    planned: dict[str, Counter[str]] = {}
    by_pk = {row.pk: row for row in mirror.people.values()}
    for pk in plan.people.archive:
        row = by_pk[pk]
        school = row.schools[0] if row.schools else ""
        planned.setdefault(school, Counter())[PERSON_KIND_BY_ROLE[row.role]] += 1
    classes = {row.pk: row for row in mirror.classes.values()}
    for pk in plan.classes.archive:
        planned.setdefault(classes[pk].school, Counter())["classes"] += 1
    active: dict[str, Counter[str]] = {school: Counter() for school in planned}
    for row in mirror.people.values():
        school = row.schools[0] if row.schools else ""
        if not row.archived and school in active:
            active[school][PERSON_KIND_BY_ROLE[row.role]] += 1
    for class_row in mirror.classes.values():
        if not class_row.archived and class_row.school in active:
            active[class_row.school]["classes"] += 1
    return {
        school: {
            "name": mirror.schools.get(school, (0, ""))[1],
            "in_files": school in roster.schools or school in roster.out_of_scope_schools,
            "out_of_scope": school in roster.out_of_scope_schools,
            "active": dict(sorted(active[school].items())),
            "planned": dict(sorted(kinds.items())),
        }
        for school, kinds in sorted(planned.items())
    }


def leading_zero_ids(plan: Plan, mirror: Mirror, examples: int = 3) -> dict[str, dict[str, Any]]:
    """Per kind, records planned for archive that the same run creates again under an ID
    differing only by leading zeros (`012345` archived, `12345` created): a spreadsheet
    that dropped the zeros, not people who left."""
    created: dict[str, dict[str, str]] = {}
    for rec in plan.people.create:
        created.setdefault(rec.kind, {})[rec.source_id.lstrip("0")] = rec.source_id
    for klass in plan.classes.create:
        created.setdefault("classes", {})[klass.source_id.lstrip("0")] = klass.source_id
    archived_people, archived_classes = set(plan.people.archive), set(plan.classes.archive)
    archived: list[tuple[str, str]] = [
        (PERSON_KIND_BY_ROLE[row.role], sid)
        for sid, row in mirror.people.items()
        if row.pk in archived_people
    ]
    archived += [
        ("classes", sid) for sid, row in mirror.classes.items() if row.pk in archived_classes
    ]
    pairs: dict[str, list[tuple[str, str]]] = {}
    for kind, old in sorted(archived):
        new = created.get(kind, {}).get(old.lstrip("0"))
        if new is not None and new != old:
            pairs.setdefault(kind, []).append((old, new))
    return {
        kind: {"count": len(found), "examples": [list(p) for p in found[:examples]]}
        for kind, found in pairs.items()
    }
