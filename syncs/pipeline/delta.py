"""Delta files (OneRoster `delta` mode) become a full snapshot before planning.

A delta holds only the records that changed and `tobedeleted` rows. Rather than teach
every stage about partial input, the mirror is turned back into canonical records, the
delta's records replace theirs, and its deletions are removed. The usual pipeline then
runs on that snapshot, so scoping, validation, rule D and the deletion threshold all
apply as for a bulk file; records the delta does not mention stay as they are.
"""

from __future__ import annotations

from syncs.pipeline.mirror import Mirror
from syncs.records import ClassRecord, EnrollmentRecord, PersonRecord, Roster, SchoolRecord


def roster_from_mirror(mirror: Mirror) -> Roster:
    """The active records of the mirror as canonical records."""
    roster = Roster()
    for sis_id, (_pk, name) in mirror.schools.items():
        roster.schools[sis_id] = SchoolRecord(sis_id, name)
    for sid, row in mirror.people.items():
        if not row.archived:
            roster.people[sid] = PersonRecord(
                source_id=sid,
                role=row.role,
                given_name=row.given_name,
                family_name=row.family_name,
                email=row.email,
                phone=row.phone,
                dob=row.dob.isoformat() if row.dob else "",
                grade=row.grade,
                school_ids=row.schools,
            )
    for sid, row in mirror.classes.items():
        if not row.archived:
            roster.classes[sid] = ClassRecord(sid, row.school, row.name, row.term)
    for key, row in mirror.enrollments.items():
        if not row.archived:
            roster.enrollments[key] = EnrollmentRecord(key[0], key[1], row.role, row.primary)
    roster.guardianships = {key for key, row in mirror.guardianships.items() if not row.archived}
    return roster


def merge_delta(base: Roster, delta: Roster) -> Roster:
    """`base` with `delta`'s records upserted and its deletions removed.

    Enrollments and guardian links of a deleted person or class go with them. A link
    the delta lists is added; links are removed only through deletions (a delta row
    cannot say which of a student's links were dropped).
    """
    gone_people, gone_classes = delta.deleted_people, delta.deleted_classes
    people = {sid: p for sid, p in base.people.items() if sid not in gone_people}
    people.update(delta.people)
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
    return Roster(
        schools={**base.schools, **delta.schools},
        people=people,
        classes=classes,
        enrollments=enrollments,
        guardianships=guardianships,
        unreadable_people=delta.unreadable_people,
        unreadable_classes=delta.unreadable_classes,
        unreadable_enrollments=delta.unreadable_enrollments,
        ignored_headers=delta.ignored_headers,
        files=delta.files,
        format=delta.format,
    )
