"""Stage 9, report: counts, per-school summaries, issues and planned archives of a run."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db.models import Max, Q, QuerySet

from rostering.models import School
from syncs.findings import Finding
from syncs.models import (
    FailureReason,
    Issue,
    PlannedArchive,
    RunStatus,
    SchoolSummary,
    SyncRun,
)
from syncs.pipeline.bulk import BulkWriter
from syncs.pipeline.plan import Plan
from syncs.pipeline.snapshot import Mirror, PersonRow
from syncs.pipeline.sqlsets import filter_in
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
    held_schools: frozenset[str] = frozenset(),
    held_updates: frozenset[int] = frozenset(),
    active: Mapping[str, Mapping[str, int]] | None = None,
) -> list[SchoolSummary]:
    """A summary per school the files list, or a finding or a planned archive names.

    `archived`: the run archived (not a dry run, not held as a whole, rule T3); then a
    school counts what it archived, except the `held_schools` (T6), whose archives wait
    for approval. Updates of `held_updates` (person pks, rule U) were not applied. When
    only some of a run's changes were held, a school none of whose own were held
    succeeded; the others failed with the run. `active`: per school, the active people
    and classes of each kind the run leaves (kept for the sharp-drop watch).
    """
    stats: dict[str, Counter] = defaultdict(Counter)
    for rec in plan.people.create + plan.classes.create:
        stats[_school_of(rec)]["created"] += 1
    for pk, rec in plan.people.update:
        school = _school_of(rec)
        stats[school]["held_updates" if pk in held_updates else "updated"] += 1
    for _pk, rec in plan.classes.update:
        stats[_school_of(rec)]["updated"] += 1
    for sis_id, n in archives_by_school(plan, mirror).items():
        stats[sis_id]["planned"] += n
        if archived and sis_id not in held_schools:
            stats[sis_id]["archived"] += n
    for f in findings:
        if f.school_id:
            stats[f.school_id]["errors" if f.is_error else "alerts"] += 1
    names = {sis_id: name for sis_id, (_pk, name) in mirror.schools.items()}
    names.update({sid: s.name for sid, s in roster.schools.items()})
    pks = dict(
        School.objects.filter(organization_id=run.config.organization_id).values_list(
            "sis_id", "pk"
        )
    )
    partly_held = run.status == RunStatus.FAILED and archived

    def status(sis_id: str) -> str:
        if not partly_held:
            return run.status
        held = sis_id in held_schools or stats[sis_id]["held_updates"]
        return RunStatus.FAILED if held else RunStatus.SUCCEEDED

    # A finding may name a school that is not in the files (an unknown reference):
    # summaries are for schools, so only an ID that can be one gets a row.
    sis_ids = sorted(s for s in (roster.schools.keys() | stats.keys()) - {""} if len(s) <= MAX_ID)
    return [
        SchoolSummary(
            run=run,
            school_id=pks.get(sis_id),
            sis_id=_cut(sis_id, 255),
            name=_cut(names.get(sis_id, ""), 255),
            status=status(sis_id),
            created=stats[sis_id]["created"],
            updated=stats[sis_id]["updated"],
            archived=stats[sis_id]["archived"],
            errors=stats[sis_id]["errors"],
            alerts=stats[sis_id]["alerts"],
            active=dict((active or {}).get(sis_id, {})) if active is not None else None,
        )
        for sis_id in sis_ids
    ]


def _school_of(rec: PersonRecord | ClassRecord) -> str:
    if isinstance(rec, PersonRecord):
        return rec.school_ids[0] if rec.school_ids else ""
    return rec.school_id


# The columns a finding fills on its Issue row, in `_issue_row`'s order.
ISSUE_FIELDS = (
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
)
# What makes an issue the same issue from one run to the next: positions in a row.
_IDENTITY = tuple(ISSUE_FIELDS.index(f) for f in ("record_kind", "source_id", "code", "field"))
# Written with each new row: the config, the span and its history.
SPAN_FIELDS = ("config", "run", "first_seq", "last_seq", "digest", "first_seen_at", "new_at_start")

IssueRow = tuple[Any, ...]


def _issue_row(f: Finding, school_pks: dict[str, int]) -> IssueRow:
    return (
        school_pks.get(f.school_id),
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


def issue_digest(row: IssueRow) -> str:
    """sha1 of an issue row as stored (identity and content): equal digests, equal rows."""
    text = "\x1f".join("" if v is None else str(v) for v in row)
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def next_issue_seq(config_id: int) -> int:
    """The number the config's next applied run takes on its issue track: after every
    run's and every closed span's, so a number is never reused, even after a deletion."""
    runs = SyncRun.objects.filter(config_id=config_id).aggregate(m=Max("issue_seq"))["m"]
    spans = Issue.objects.filter(config_id=config_id).aggregate(m=Max("last_seq"))["m"]
    return max(runs or 0, spans or 0) + 1


def store_issues(run: SyncRun, findings: list[Finding], *, seen_at: datetime) -> None:
    """Store a run's findings, with what each one's history says about it.

    Compared with the config's latest applied run before this one: an issue whose
    identity it did not have is new, and first seen now; otherwise it keeps the
    first-seen time it had there. On the track (`run.issue_seq` set) the open spans are
    that run's issues: a finding repeated word for word keeps its span open (no write),
    a span not repeated is closed at the number before this run's, and every other
    finding opens a span. Off the track a run stores rows of its own. The caller holds
    a transaction, so spans change only with the run's recorded outcome.
    """
    pks = dict(
        School.objects.filter(organization_id=run.config.organization_id).values_list(
            "sis_id", "pk"
        )
    )
    seq = run.issue_seq
    first_seen: dict[tuple, datetime] = {}
    open_spans: dict[str, list[int]] = defaultdict(list)
    for pk, first_seq, digest, *identity, seen in _previous_issues(run).values_list(
        "pk", "first_seq", "digest", "record_kind", "source_id", "code", "field", "first_seen_at"
    ):
        key = tuple(identity)
        if key not in first_seen or seen < first_seen[key]:
            first_seen[key] = seen
        if first_seq is not None:
            open_spans[digest].append(pk)
    rows: list[tuple] = []
    for f in findings:
        row = _issue_row(f, pks)
        digest = issue_digest(row)
        if seq is not None and open_spans.get(digest):
            # The same finding, word for word, as the previous run: its span stays
            # open. (Identical findings each take a span of their own: pop, not get.)
            open_spans[digest].pop()
            continue
        since = first_seen.get(tuple(row[i] for i in _IDENTITY))
        span = (run.config_id, run.pk, seq, None, digest, since or seen_at, since is None)
        rows.append((*span, *row))
    if seq is not None:
        # Spans the run did not find again end at the previous number. One statement
        # even when none did, so a night's query count does not depend on its issues.
        ended = [pk for spans in open_spans.values() for pk in spans]
        filter_in(Issue.objects.all(), "id", ended).update(last_seq=seq - 1)
    BulkWriter().insert(Issue, [*SPAN_FIELDS, *ISSUE_FIELDS], rows)


def _previous_issues(run: SyncRun) -> QuerySet[Issue]:
    """The issues of the config's latest applied run before `run`: the open spans, or,
    for a run from before issue spans, its own rows."""
    previous = (
        SyncRun.objects.filter(config_id=run.config_id, dry_run=False)
        .filter(Q(status=RunStatus.SUCCEEDED) | Q(failure_reason=FailureReason.THRESHOLD))
        .exclude(pk=run.pk)
        .order_by("-pk")
        .values_list("pk", "issue_seq")
        .first()
    )
    if previous is None:
        return Issue.objects.none()
    previous_pk, previous_seq = previous
    if previous_seq is None:
        return Issue.objects.filter(run_id=previous_pk, first_seq__isnull=True)
    return Issue.objects.filter(
        config_id=run.config_id, first_seq__isnull=False, last_seq__isnull=True
    )


def store_planned_archives(
    run: SyncRun, plan: Plan, mirror: Mirror, *, schools: frozenset[str] | None = None
) -> None:
    """Every record the plan archives, with a name and a school a person can review
    (rule T5): enrollments as "Student in Class" at the class's school, guardian links as
    "Parent → Student" at the student's first school. With `schools`, only the records
    placed at those (the schools whose archives rule T6 held)."""
    rows: list[tuple] = []
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
    if schools is not None:
        rows = [row for row in rows if row[5] in schools]
    BulkWriter().insert(
        PlannedArchive, ["run", "kind", "record_id", "source_id", "name", "school_sis_id"], rows
    )


def _person_name(row: PersonRow) -> str:
    return _cut(f"{row.given_name} {row.family_name}".strip(), 512)
