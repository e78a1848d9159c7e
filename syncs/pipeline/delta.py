"""Delta files (OneRoster `delta` mode) become a full snapshot before planning.

A delta holds only the records that changed and `tobedeleted` rows. Rather than teach
every stage about partial input, the mirror is turned back into canonical records, the
delta's records replace theirs, and its deletions are removed. The usual pipeline then
runs on that snapshot, so scoping, validation, rule D and the deletion threshold all
apply as for a bulk file; records the delta does not mention stay as they are.
"""

from __future__ import annotations

from syncs.findings import Finding, IssueCode, person_finding
from syncs.formats.oneroster_csv import link_agents
from syncs.pipeline.snapshot import Mirror
from syncs.records import ClassRecord, EnrollmentRecord, PersonRecord, Roster, SchoolRecord


def roster_from_mirror(mirror: Mirror) -> Roster:
    """The active records of the mirror as canonical records."""
    roster = Roster()
    for sis_id, (_pk, name) in mirror.schools.items():
        roster.schools[sis_id] = SchoolRecord(sis_id, name)
    for sid, row in mirror.people.items():
        if not row.archived:
            # The phone in use may have come from a fallback column the mirror does not
            # keep (sms unusable, phone fine): the device held is offered as a fallback.
            devices = mirror.devices.get(row.account_id, {}) if row.account_id is not None else {}
            held = sorted(v for k, v in devices if k == "phone")
            roster.people[sid] = PersonRecord(
                source_id=sid,
                role=row.role,
                given_name=row.given_name,
                family_name=row.family_name,
                email=row.email,
                phone=row.phone,
                other_phones=tuple(held),
                dob=row.dob.isoformat() if row.dob else "",
                grade=row.grade,
                school_ids=row.schools,
            )

    for sid, class_row in mirror.classes.items():
        if not class_row.archived:
            roster.classes[sid] = ClassRecord(sid, class_row.school, class_row.name, class_row.term)
    for key, link in mirror.enrollments.items():
        if not link.archived:
            roster.enrollments[key] = EnrollmentRecord(key[0], key[1], link.role, link.primary)
    roster.guardianships = {key for key, link in mirror.guardianships.items() if not link.archived}
    return roster


def _fill_from_base(rec: PersonRecord, known: PersonRecord | None) -> PersonRecord | None:
    """A delta row repeats a user, not always what other files said of them: a birth date
    (demographics), or role and orgs (roles.csv) the delta did not change."""
    if known is None:
        return rec if rec.role else None
    if not rec.role:
        rec.role = known.role
    if not rec.school_ids:
        rec.school_ids = known.school_ids
    if not rec.dob:
        rec.dob = known.dob
    return rec


def merge_delta(base: Roster, delta: Roster) -> tuple[Roster, list[Finding]]:
    """`base` with `delta`'s records upserted and its deletions removed.

    Enrollments and guardian links of a deleted person or class go with them. A link
    the delta lists is added; links are removed only through deletions (a delta row
    cannot say which of a student's links were dropped).
    """
    gone_people, gone_classes = delta.deleted_people, delta.deleted_classes
    people, findings = _merge_people(base, delta)
    classes = {sid: c for sid, c in base.classes.items() if sid not in gone_classes}
    classes.update(delta.classes)
    enrollments = {
        key: e
        for key, e in base.enrollments.items()
        if key not in delta.deleted_enrollments
        and key[0] not in gone_classes
        and key[1] not in gone_people
    }
    enrollments.update(delta.enrollments)
    guardianships = {
        pair for pair in base.guardianships if not (set(pair) & gone_people)
    } | delta.guardianships
    merged = Roster(
        schools={**base.schools, **delta.schools},
        people=people,
        classes=classes,
        enrollments=enrollments,
        guardianships=guardianships,
        unreadable_people=delta.unreadable_people,
        unreadable_classes=delta.unreadable_classes,
        unreadable_enrollments=delta.unreadable_enrollments,
        unreadable_schools=delta.unreadable_schools,
        ignored_headers=delta.ignored_headers,
        files=delta.files,
        format=delta.format,
        unsent_kinds=delta.unsent_kinds,
    )
    findings += _link_delta_agents(merged, delta, people)
    return merged, findings


def _merge_people(base: Roster, delta: Roster) -> tuple[dict[str, PersonRecord], list[Finding]]:
    """The base's people less the deleted, with the delta's upserted; a new user with
    no role anywhere is an `invalid_row` error instead."""
    gone_people = delta.deleted_people
    people = {sid: p for sid, p in base.people.items() if sid not in gone_people}
    findings: list[Finding] = []
    for sid, rec in delta.people.items():
        person = _fill_from_base(rec, base.people.get(sid))
        if person is None:  # a new user with no role anywhere
            findings.append(
                person_finding(
                    rec,
                    IssueCode.INVALID_ROW,
                    f"{rec.where.file} line {rec.where.line}: user {sid} has no role in roles.csv.",
                    "role",
                )
            )
            continue
        people[sid] = person
    return people, findings


def _link_delta_agents(
    merged: Roster, delta: Roster, people: dict[str, PersonRecord]
) -> list[Finding]:
    """Guardian links from the delta's agent lists, made once the merge knows everyone;
    an agent who is no one is an `unknown_reference` alert."""
    findings: list[Finding] = []
    agents = {owner: refs for owner, refs in delta.agent_ids.items() if owner in people}
    for owner, ref in link_agents(merged, agents):
        findings.append(
            person_finding(
                owner,
                IssueCode.UNKNOWN_REFERENCE,
                f"{owner.where.file} line {owner.where.line}: "
                f"agentSourcedIds names user {ref}, who is neither in the files nor synced.",
                "agentSourcedIds",
                ref,
            )
        )
    return findings
