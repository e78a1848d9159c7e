"""Stage 9, report: counts, per-school summaries, issues and planned archives of a run."""

from __future__ import annotations

from collections import Counter, defaultdict

from rostering.models import School
from syncs.findings import Finding
from syncs.models import Issue, PlannedArchive, SchoolSummary, SyncRun
from syncs.pipeline.bulk import BulkWriter
from syncs.pipeline.plan import Plan
from syncs.pipeline.snapshot import Mirror, PersonRow
from syncs.records import (
    MAX_ID,
    PERSON_KIND_BY_ROLE,
    ClassRecord,
    PersonRecord,
    Roster,
    link_key,
)
from syncs.storable import storable_text as _cut


def archives_by_school(plan: Plan, mirror: Mirror) -> dict[str, int]:
    """Planned archives of people and classes, per SIS school ID (T4)."""
    out: Counter = Counter()
    by_pk = {row.pk: row for row in mirror.people.values()}
    for pk in plan.people.archive:
        schools = by_pk[pk].schools
        out[schools[0] if schools else ""] += 1
    classes = {row.pk: row for row in mirror.classes.values()}
    for pk in plan.classes.archive:
        out[classes[pk].school] += 1
    return dict(out)


def active_by_school(mirror: Mirror) -> dict[str, int]:
    out: Counter = Counter()
    for row in mirror.people.values():
        if not row.archived:
            out[row.schools[0] if row.schools else ""] += 1
    for class_row in mirror.classes.values():
        if not class_row.archived:
            out[class_row.school] += 1
    return dict(out)


def school_summaries(
    *,
    run: SyncRun,
    plan: Plan,
    mirror: Mirror,
    roster: Roster,
    findings: list[Finding],
    archived: bool,
) -> list[SchoolSummary]:
    stats: dict[str, Counter] = defaultdict(Counter)
    for rec in plan.people.create + plan.classes.create:
        stats[_school_of(rec)]["created"] += 1
    for _pk, rec in plan.people.update + plan.classes.update:
        stats[_school_of(rec)]["updated"] += 1
    if archived:
        for sis_id, n in archives_by_school(plan, mirror).items():
            stats[sis_id]["archived"] += n
    for f in findings:
        if f.school_id:
            stats[f.school_id]["errors" if f.is_error else "alerts"] += 1
    names = {sid: s.name for sid, s in roster.schools.items()}
    pks = dict(
        School.objects.filter(organization_id=run.config.organization_id).values_list(
            "sis_id", "pk"
        )
    )
    # A finding may name a school that is not in the files (an unknown reference):
    # summaries are for schools, so only an ID that can be one gets a row.
    sis_ids = sorted(s for s in (roster.schools.keys() | stats.keys()) - {""} if len(s) <= MAX_ID)
    return [
        SchoolSummary(
            run=run,
            school_id=pks.get(sis_id),
            sis_id=_cut(sis_id, 255),
            name=_cut(names.get(sis_id, ""), 255),
            status=run.status,
            created=stats[sis_id]["created"],
            updated=stats[sis_id]["updated"],
            archived=stats[sis_id]["archived"],
            errors=stats[sis_id]["errors"],
            alerts=stats[sis_id]["alerts"],
        )
        for sis_id in sis_ids
    ]


def _school_of(rec: PersonRecord | ClassRecord) -> str:
    if isinstance(rec, PersonRecord):
        return rec.school_ids[0] if rec.school_ids else ""
    return rec.school_id


def store_issues(run: SyncRun, findings: list[Finding]) -> None:
    pks = dict(
        School.objects.filter(organization_id=run.config.organization_id).values_list(
            "sis_id", "pk"
        )
    )
    BulkWriter().insert(
        Issue,
        [
            "run",
            "school",
            "school_sis_id",
            "severity",
            "code",
            "record_kind",
            "source_id",
            "name",
            "field",
            "value",
            "file",
            "line",
            "message",
            "hint",
        ],
        [
            (
                run.pk,
                pks.get(f.school_id),
                _cut(f.school_id, 255),
                f.severity,
                f.code,
                f.kind,
                _cut(f.source_id, 255),
                _cut(f.name, 512),
                _cut(f.field, 64),
                _cut(f.value, 512),
                _cut(f.file, 255),
                f.line,
                _cut(f.message, 10_000),
                f.hint,
            )
            for f in findings
        ],
    )


def store_planned_archives(run: SyncRun, plan: Plan, mirror: Mirror) -> None:
    """Every record the plan archives, with a name and a school a person can review
    (rule T5): enrollments as "Student in Class" at the class's school, guardian links as
    "Parent → Student" at the student's first school."""
    rows = []
    by_pk = {row.pk: (sid, row) for sid, row in mirror.people.items()}
    for pk in plan.people.archive:
        sid, row = by_pk[pk]
        school = row.schools[0] if row.schools else ""
        rows.append(
            (run.pk, PERSON_KIND_BY_ROLE[row.role], pk, _cut(sid, 255), _person_name(row), school)
        )
    classes = {row.pk: (sid, row) for sid, row in mirror.classes.items()}
    for pk in plan.classes.archive:
        sid, class_row = classes[pk]
        rows.append(
            (run.pk, "classes", pk, _cut(sid, 255), _cut(class_row.name, 512), class_row.school)
        )
    if plan.enrollments.archive:
        wanted = set(plan.enrollments.archive)
        for (class_sid, person_sid), link in mirror.enrollments.items():
            if link.pk in wanted:
                person = mirror.people.get(person_sid)
                section = mirror.classes.get(class_sid)
                who = _person_name(person) if person else person_sid
                where = (section.name if section else "") or class_sid
                name = f"{who} in {where}"
                school = section.school if section else ""
                key = link_key(class_sid, person_sid)
                rows.append((run.pk, "enrollments", link.pk, key, _cut(name, 512), school))
    if plan.guardianships.archive:
        wanted = set(plan.guardianships.archive)
        for (parent_sid, student_sid), link in mirror.guardianships.items():
            if link.pk in wanted:
                parent = mirror.people.get(parent_sid)
                student = mirror.people.get(student_sid)
                name = (
                    f"{_person_name(parent) if parent else parent_sid} → "
                    f"{_person_name(student) if student else student_sid}"
                )
                school = student.schools[0] if student and student.schools else ""
                key = link_key(parent_sid, student_sid)
                rows.append((run.pk, "guardianships", link.pk, key, _cut(name, 512), school))
    BulkWriter().insert(
        PlannedArchive, ["run", "kind", "record_id", "source_id", "name", "school_sis_id"], rows
    )


def _person_name(row: PersonRow) -> str:
    return _cut(f"{row.given_name} {row.family_name}".strip(), 512)
