"""Stage 8, apply: write a plan to the mirror in one transaction.

Either the whole plan lands or none of it does: after a crash the mirror is exactly as
before the run. Writes are chunked bulk statements; the number of queries does not grow
with the district (sets are passed as one parameter, see sqlsets.py).
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db import transaction

from accounts.models import ContactDevice, User
from rostering.models import Class, Enrollment, Guardianship, Person, School
from syncs.pipeline.mirror import Mirror
from syncs.pipeline.plan import Plan
from syncs.pipeline.sqlsets import filter_in
from syncs.records import ClassRecord, EnrollmentRecord, PersonRecord, Roster

BATCH = 2000
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
]


def apply_plan(
    *, plan: Plan, roster: Roster, mirror: Mirror, config, run, archive: bool, now: datetime
) -> None:
    """Apply `plan`; archives only when `archive` (the guard passed or was approved)."""
    with transaction.atomic():
        w = _Writer(plan, roster, mirror, config, run, now)
        w.schools()
        w.people()
        w.accounts()
        w.classes()
        w.links()
        if archive:
            w.archive()
        w.devices(archive)
        w.mark_seen(archive)


class _Writer:
    def __init__(self, plan: Plan, roster: Roster, mirror: Mirror, config, run, now) -> None:
        self.plan, self.roster, self.mirror = plan, roster, mirror
        self.config, self.run, self.now = config, run, now
        self.org_id = config.organization_id
        self.school_pk = {sis_id: pk for sis_id, (pk, _name) in mirror.schools.items()}
        self.person_pk = {sid: row.pk for sid, row in mirror.people.items()}
        self.class_pk = {sid: row.pk for sid, row in mirror.classes.items()}
        self.account_of = {
            sid: row.account_id for sid, row in mirror.people.items() if row.account_id
        }

    # -- schools ---------------------------------------------------------------------

    def schools(self) -> None:
        new = [
            School(
                organization_id=self.org_id,
                sis_id=sis_id,
                name=self.roster.schools[sis_id].name,
                sync_config=self.config,
                source_id=sis_id,
                last_seen_run=self.run,
            )
            for sis_id in self.plan.schools_to_create
        ]
        for school in School.objects.bulk_create(new, batch_size=BATCH):
            self.school_pk[school.sis_id] = school.pk
        if self.plan.schools_to_rename:
            School.objects.bulk_update(
                [School(pk=pk, name=name) for pk, name in self.plan.schools_to_rename],
                ["name"],
                batch_size=BATCH,
            )

    # -- people ----------------------------------------------------------------------

    def _person(self, rec: PersonRecord, pk: int | None = None) -> Person:
        return Person(
            pk=pk,
            organization_id=self.org_id,
            sync_config=self.config,
            source_id=rec.source_id,
            role=rec.role,
            given_name=rec.given_name[:255],
            family_name=rec.family_name[:255],
            dob=self.plan.dob.get(rec.source_id),
            grade=rec.grade[:32],
            email=rec.email[:320],
            phone=rec.phone[:64],
            archived_at=None,
            last_seen_run=self.run,
        )

    def people(self) -> None:
        created = Person.objects.bulk_create(
            [self._person(rec) for rec in self.plan.people.create], batch_size=BATCH
        )
        for person in created:
            self.person_pk[person.source_id] = person.pk
        Person.objects.bulk_update(
            [self._person(rec, pk) for pk, rec in self.plan.people.update],
            PERSON_FIELDS,
            batch_size=BATCH,
        )
        # School links of created people and of updated people whose schools changed.
        changed = [
            (pk, rec)
            for pk, rec in self.plan.people.update
            if tuple(sorted(rec.school_ids)) != self.mirror.people[rec.source_id].schools
        ]
        through = Person.schools.through
        if changed:
            filter_in(through.objects.all(), "person", [pk for pk, _r in changed]).delete()
        links = [
            through(person_id=pk, school_id=self.school_pk[s])
            for pk, rec in changed
            for s in rec.school_ids
        ]
        links += [
            through(person_id=self.person_pk[rec.source_id], school_id=self.school_pk[s])
            for rec in self.plan.people.create
            for s in rec.school_ids
        ]
        through.objects.bulk_create(links, batch_size=BATCH)

    def accounts(self) -> None:
        """Every present, valid person has an account; names follow the SIS."""
        people = self.roster.people
        missing = sorted(sid for sid in self.plan.account_holders if sid not in self.account_of)
        users = [
            User(
                username=f"r-{uuid.uuid4().hex}",
                first_name=people[sid].given_name[:150],
                last_name=people[sid].family_name[:150],
                password=UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(30),
                is_active=True,
            )
            for sid in missing
        ]
        User.objects.bulk_create(users, batch_size=BATCH)
        for sid, user in zip(missing, users, strict=True):
            self.account_of[sid] = user.pk
        Person.objects.bulk_update(
            [Person(pk=self.person_pk[sid], account_id=self.account_of[sid]) for sid in missing],
            ["account"],
            batch_size=BATCH,
        )
        refreshed = [
            User(
                pk=self.account_of[rec.source_id],
                first_name=rec.given_name[:150],
                last_name=rec.family_name[:150],
                is_active=True,
            )
            for _pk, rec in self.plan.people.update
            if rec.source_id in self.account_of and rec.source_id not in missing
        ]
        User.objects.bulk_update(
            refreshed, ["first_name", "last_name", "is_active"], batch_size=BATCH
        )

    # -- classes and links -----------------------------------------------------------

    def _class(self, rec: ClassRecord, pk: int | None = None) -> Class:
        return Class(
            pk=pk,
            organization_id=self.org_id,
            sync_config=self.config,
            source_id=rec.source_id,
            school_id=self.school_pk[rec.school_id],
            name=rec.name[:255],
            term=rec.term[:255],
            archived_at=None,
            last_seen_run=self.run,
        )

    def classes(self) -> None:
        created = Class.objects.bulk_create(
            [self._class(rec) for rec in self.plan.classes.create], batch_size=BATCH
        )
        for c in created:
            self.class_pk[c.source_id] = c.pk
        Class.objects.bulk_update(
            [self._class(rec, pk) for pk, rec in self.plan.classes.update],
            ["school", "name", "term", "archived_at", "last_seen_run"],
            batch_size=BATCH,
        )

    def _enrollment(self, rec: EnrollmentRecord, pk: int | None = None) -> Enrollment:
        return Enrollment(
            pk=pk,
            sync_config=self.config,
            source_id=rec.source_id,
            section_id=self.class_pk[rec.class_id],
            person_id=self.person_pk[rec.person_id],
            role=rec.role,
            primary=rec.primary,
            archived_at=None,
            last_seen_run=self.run,
        )

    def _guardianship(self, pair: tuple[str, str], pk: int | None = None) -> Guardianship:
        parent, student = pair
        return Guardianship(
            pk=pk,
            sync_config=self.config,
            source_id=f"{parent}/{student}",
            parent_id=self.person_pk[parent],
            student_id=self.person_pk[student],
            archived_at=None,
            last_seen_run=self.run,
        )

    def links(self) -> None:
        e, g = self.plan.enrollments, self.plan.guardianships
        Enrollment.objects.bulk_create([self._enrollment(r) for r in e.create], batch_size=BATCH)
        Enrollment.objects.bulk_update(
            [self._enrollment(r, pk) for pk, r in e.update],
            ["role", "primary", "archived_at", "last_seen_run"],
            batch_size=BATCH,
        )
        Guardianship.objects.bulk_create(
            [self._guardianship(p) for p in g.create], batch_size=BATCH
        )
        Guardianship.objects.bulk_update(
            [self._guardianship(p, pk) for pk, p in g.update],
            ["archived_at", "last_seen_run"],
            batch_size=BATCH,
        )

    # -- archives, devices, bookkeeping ---------------------------------------------

    def archive(self) -> None:
        plan = self.plan
        for model, pks in (
            (Person, plan.people.archive),
            (Class, plan.classes.archive),
            (Enrollment, plan.enrollments.archive),
            (Guardianship, plan.guardianships.archive),
        ):
            if pks:
                filter_in(model.objects.all(), "id", pks).update(archived_at=self.now)
        by_pk = {row.pk: row for row in self.mirror.people.values()}
        accounts = [by_pk[pk].account_id for pk in plan.people.archive if by_pk[pk].account_id]
        if accounts:
            filter_in(User.objects.all(), "id", accounts).update(is_active=False)

    def devices(self, archive: bool) -> None:
        owner = dict(self.plan.device_owner)
        if not archive:
            for device, sid in self.plan.device_owner_if_blocked.items():
                owner.setdefault(device, sid)
        desired = {
            (self.account_of[sid], kind, value)
            for (kind, value), sid in owner.items()
            if sid in self.account_of
        }
        current = {
            (account_id, kind, value): pk
            for account_id, devices in self.mirror.devices.items()
            for (kind, value), pk in devices.items()
        }
        stale = [pk for key, pk in current.items() if key not in desired]
        if stale:
            # Deleted first: a device moving between two managed accounts must be free.
            filter_in(ContactDevice.objects.all(), "id", stale).delete()
        ContactDevice.objects.bulk_create(
            [
                ContactDevice(account_id=account_id, kind=kind, value=value)
                for account_id, kind, value in sorted(desired - current.keys())
            ],
            batch_size=BATCH,
        )

    def mark_seen(self, archive: bool) -> None:
        """Every record present in the source was seen by this run."""
        unseen = {
            Person: self.plan.people.archive,
            Class: self.plan.classes.archive,
            Enrollment: self.plan.enrollments.archive,
            Guardianship: self.plan.guardianships.archive,
        }
        for model, pks in unseen.items():
            qs = model.objects.filter(sync_config=self.config, archived_at__isnull=True)
            if pks and not archive:
                qs = filter_in(qs, "id", pks, negate=True)
            qs.exclude(last_seen_run=self.run).update(last_seen_run=self.run)
        if self.roster.schools:
            filter_in(
                School.objects.filter(organization_id=self.org_id),
                "sis_id",
                list(self.roster.schools),
            ).update(last_seen_run=self.run)
