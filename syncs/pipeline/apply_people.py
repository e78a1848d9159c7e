"""Stage 8, apply: people and their accounts, inside apply's transaction (apply.py).

Every present, valid person has an account; names follow the SIS. Each step is one bulk
write of plain tuples, given the plan's records and the source ID -> pk maps the writer
keeps (which the steps that create rows extend).
"""

from __future__ import annotations

import secrets
import uuid
from datetime import date, datetime

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX

from accounts.models import User
from rostering.models import Person
from syncs.pipeline.bulk import BulkWriter
from syncs.pipeline.snapshot import PersonRow
from syncs.pipeline.sqlsets import filter_in
from syncs.records import PersonRecord

ACCOUNT_COLUMNS = [
    "password",
    "is_superuser",
    "username",
    "first_name",
    "last_name",
    "email",
    "is_staff",
    "is_active",
    "date_joined",
]
PERSON_COLUMNS = [
    "organization",
    "sync_config",
    "source_id",
    "role",
    "given_name",
    "family_name",
    "dob",
    "grade",
    "email",
    "phone",
    "account",
    "archived_at",
    "last_seen_run",
    "created_at",
    "updated_at",
]
PERSON_FIELDS = [
    "role",
    "given_name",
    "family_name",
    "dob",
    "grade",
    "email",
    "phone",
    "archived_at",
    "last_seen_run",
    "updated_at",
]


def create_accounts(
    bulk: BulkWriter,
    missing: list[str],
    people: dict[str, PersonRecord],
    account_of: dict[str, int],
    now: datetime,
) -> None:
    """An account for each person in `missing` (source IDs), added to `account_of`."""
    account_ids = bulk.insert(
        User,
        ACCOUNT_COLUMNS,
        [
            (
                UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(30),
                False,
                f"r-{uuid.uuid4().hex}",
                people[sid].given_name[:150],
                people[sid].family_name[:150],
                "",
                False,
                True,
                now,
            )
            for sid in missing
        ],
    )
    account_of.update(zip(missing, account_ids, strict=True))


def create_people(
    bulk: BulkWriter,
    created: list[PersonRecord],
    *,
    org_id: int,
    config_id: int,
    dob: dict[str, date],
    account_of: dict[str, int],
    person_pk: dict[str, int],
    run_id: int,
    now: datetime,
) -> None:
    """The new people, each with their account, added to `person_pk`."""
    ids = bulk.insert(
        Person,
        PERSON_COLUMNS,
        [
            (
                org_id,
                config_id,
                rec.source_id,
                rec.role,
                rec.given_name[:255],
                rec.family_name[:255],
                dob.get(rec.source_id),
                rec.grade[:32],
                rec.email[:320],
                rec.phone[:64],
                account_of[rec.source_id],
                None,
                run_id,
                now,
                now,
            )
            for rec in created
        ],
    )
    person_pk.update(zip((rec.source_id for rec in created), ids, strict=True))


def update_people(
    bulk: BulkWriter,
    updated: list[tuple[int, PersonRecord]],
    *,
    dob: dict[str, date],
    run_id: int,
    now: datetime,
) -> None:
    """Changed and unarchived people take the source's fields."""
    bulk.update(
        Person,
        PERSON_FIELDS,
        [
            (
                pk,
                rec.role,
                rec.given_name[:255],
                rec.family_name[:255],
                dob.get(rec.source_id),
                rec.grade[:32],
                rec.email[:320],
                rec.phone[:64],
                None,
                run_id,
                now,
            )
            for pk, rec in updated
        ],
    )


def link_new_accounts(
    bulk: BulkWriter,
    missing: list[str],
    created: list[PersonRecord],
    person_pk: dict[str, int],
    account_of: dict[str, int],
) -> None:
    """Existing people who had no account yet (only possible for records made before
    accounts were provisioned) get the one just created."""
    created_ids = {rec.source_id for rec in created}
    bulk.update(
        Person,
        ["account"],
        [(person_pk[sid], account_of[sid]) for sid in missing if sid not in created_ids],
    )


def rename_accounts(
    bulk: BulkWriter,
    updated: list[tuple[int, PersonRecord]],
    missing: list[str],
    account_of: dict[str, int],
) -> None:
    """Accounts of changed people follow their names, and are active again."""
    bulk.update(
        User,
        ["first_name", "last_name", "is_active"],
        [
            (account_of[rec.source_id], rec.given_name[:150], rec.family_name[:150], True)
            for _pk, rec in updated
            if rec.source_id in account_of and rec.source_id not in missing
        ],
    )


def school_links(
    bulk: BulkWriter,
    created: list[PersonRecord],
    updated: list[tuple[int, PersonRecord]],
    mirror_people: dict[str, PersonRow],
    person_pk: dict[str, int],
    school_pk: dict[str, int],
) -> None:
    """Each person's schools: replaced where they changed, added for new people."""
    through = Person.schools.through
    changed = [
        (pk, rec)
        for pk, rec in updated
        if tuple(sorted(rec.school_ids)) != mirror_people[rec.source_id].schools
    ]
    if changed:
        filter_in(through.objects.all(), "person", [pk for pk, _r in changed]).delete()
    pairs = {(pk, school_pk[s]) for pk, rec in changed for s in rec.school_ids} | {
        (person_pk[rec.source_id], school_pk[s]) for rec in created for s in rec.school_ids
    }
    bulk.insert(through, ["person", "school"], sorted(pairs))
