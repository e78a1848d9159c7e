"""Absent means "not sent": a column a file does not have changes nothing it carries.

A district that drops the `email` column from users.csv has not erased every email
address; it has stopped sending them. So the fields of such a column keep what the mirror
holds (an empty cell in a column that is there still clears a value), and links a file
could not send at all (`Roster.unsent_kinds`) are held by the plan.
"""

from __future__ import annotations

from syncs.pipeline.snapshot import Mirror, PersonRow
from syncs.records import Roster


def _person_value(row: PersonRow, field: str, mirror: Mirror) -> object:
    if field == "dob":
        return row.dob.isoformat() if row.dob else ""
    return getattr(row, field)


def fill_unsent(roster: Roster, mirror: Mirror) -> None:
    """Give each record the mirror's value for every field its file did not send (and
    the record has not got from elsewhere, such as Clever's `Self` contact rows)."""
    unsent = roster.unsent
    if not unsent:
        return
    for p in roster.people.values():
        fields = unsent.get((p.where.file, p.role), frozenset()) | unsent.get(
            (p.where.file, "*"), frozenset()
        )
        row = mirror.people.get(p.source_id) if fields else None
        if row is None:
            continue
        for field in fields:
            if not getattr(p, field):
                setattr(p, field, _person_value(row, field, mirror))
        if "phone" in fields and row.account_id:
            # The phone in use may have come from a fallback column the mirror does
            # not keep: the device the account holds is offered as a fallback.
            held = sorted(v for k, v in mirror.devices.get(row.account_id, {}) if k == "phone")
            p.other_phones = tuple(dict.fromkeys((*p.other_phones, *held)))
    for c in roster.classes.values():
        fields = unsent.get((c.where.file, "*"), frozenset())
        class_row = mirror.classes.get(c.source_id) if fields else None
        if class_row is not None and "term" in fields and not c.term:
            c.term = class_row.term
    for key, e in roster.enrollments.items():
        if "primary" in unsent.get((e.file, "*"), frozenset()):
            link = mirror.enrollments.get(key)
            if link is not None:
                e.primary = link.primary
