"""What the mirror can hold: IDs and values longer than its columns, after any format.

An ID longer than MAX_ID cannot be stored, so no synced record can have it: its row is an
`invalid_row` naming the file, the line and the limit, and nothing is archived for it
(no record in the mirror carries it). A name or value longer than its column is cut to
fit, with a `value_truncated` alert, and the cut value is what the mirror keeps, so the
next run does not see a change.
"""

from __future__ import annotations

from syncs.findings import Finding, IssueCode, person_finding
from syncs.records import (
    MAX_EMAIL,
    MAX_GRADE,
    MAX_ID,
    MAX_NAME,
    MAX_PHONE,
    Roster,
    Where,
)

# PersonRecord field -> its column's length.
PERSON_LIMITS = (
    ("given_name", MAX_NAME),
    ("family_name", MAX_NAME),
    ("email", MAX_EMAIL),
    ("phone", MAX_PHONE),
    ("grade", MAX_GRADE),
)


def fit_to_columns(roster: Roster) -> list[Finding]:
    """Drop records whose ID is too long and cut values that are; return the findings."""
    findings: list[Finding] = []
    findings += _schools(roster)
    findings += _people(roster)
    findings += _classes(roster)
    return findings


def _too_long_id(kind: str, source_id: str, where: Where) -> Finding:
    place = f"{where.file} line {where.line}" if where.file else "A record"
    return Finding(
        code=IssueCode.INVALID_ROW,
        kind=kind,
        source_id=source_id,
        file=where.file,
        line=where.line,
        field="id",
        message=f"{place}: its ID is {len(source_id):,} characters long; IDs may be at "
        f"most {MAX_ID} characters, so the row was skipped.",
    )


def _cut_finding(
    kind: str,
    source_id: str,
    name: str,
    field: str,
    value: str,
    limit: int,
    where: Where,
    school_id: str = "",
) -> Finding:
    return Finding(
        code=IssueCode.VALUE_TRUNCATED,
        kind=kind,
        source_id=source_id,
        name=name,
        field=field,
        value=value,
        school_id=school_id,
        file=where.file,
        line=where.line,
        message=f"The {field.replace('_', ' ')} of {kind} {source_id} is {len(value):,} "
        f"characters long; only the first {limit} were kept.",
    )


def _schools(roster: Roster) -> list[Finding]:
    findings = []
    for sid in [sid for sid in roster.schools if len(sid) > MAX_ID]:
        findings.append(_too_long_id("school", sid, roster.schools.pop(sid).where))
    for sid, school in roster.schools.items():
        if len(school.name) > MAX_NAME:
            findings.append(
                _cut_finding("school", sid, "", "name", school.name, MAX_NAME, school.where, sid)
            )
            school.name = school.name[:MAX_NAME]
    return findings


def _people(roster: Roster) -> list[Finding]:
    findings = []
    people = roster.people
    too_long = [sid for sid in people if len(sid) > MAX_ID]
    for sid in too_long:
        findings.append(_too_long_id("person", sid, people.pop(sid).where))
    if too_long:
        gone = set(too_long)
        roster.guardianships = {
            pair for pair in roster.guardianships if pair[0] not in gone and pair[1] not in gone
        }
    for p in people.values():
        # One comparison per person in the common case: this runs for a whole district.
        if (
            len(p.given_name) <= MAX_NAME
            and len(p.family_name) <= MAX_NAME
            and len(p.email) <= MAX_EMAIL
            and len(p.phone) <= MAX_PHONE
            and len(p.grade) <= MAX_GRADE
        ):
            continue
        for field, limit in PERSON_LIMITS:
            value = getattr(p, field)
            if len(value) > limit:
                findings.append(
                    person_finding(
                        p,
                        IssueCode.VALUE_TRUNCATED,
                        f"The {field.replace('_', ' ')} of {p.role} {p.source_id} is "
                        f"{len(value):,} characters long; only the first {limit} were kept.",
                        field,
                        value,
                    )
                )
                setattr(p, field, value[:limit])
    return findings


def _classes(roster: Roster) -> list[Finding]:
    findings = []
    classes = roster.classes
    for sid in [sid for sid in classes if len(sid) > MAX_ID]:
        findings.append(_too_long_id("class", sid, classes.pop(sid).where))
    for sid, c in classes.items():
        for field in ("name", "term"):
            value = getattr(c, field)
            if len(value) > MAX_NAME:
                findings.append(
                    _cut_finding(
                        "class", sid, c.name[:80], field, value, MAX_NAME, c.where, c.school_id
                    )
                )
                setattr(c, field, value[:MAX_NAME])
    return findings
