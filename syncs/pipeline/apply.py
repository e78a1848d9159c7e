"""Stage 8, apply: write a plan to the mirror in one transaction.

Either the whole plan lands or none of it does: after a crash the mirror is exactly as
before the run. Rows go through BulkWriter as tuples; the number of statements does not
grow with the district (sets travel as one parameter, see sqlsets.py).

`last_seen_run` is written with every created or changed row, and on records that go
missing (naming the last run that saw them). A record that is neither was seen by the
config's latest run: stamping every unchanged row each night would rewrite the whole
mirror for nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime

from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Replace

from accounts.models import ContactDevice, User
from rostering.models import Class, Enrollment, Guardianship, Organization, Person, School
from syncs import progress
from syncs.models import SyncConfig, SyncRun
from syncs.pipeline import apply_people
from syncs.pipeline.bulk import BulkWriter
from syncs.pipeline.plan import Plan
from syncs.pipeline.snapshot import Mirror
from syncs.pipeline.sqlsets import filter_in
from syncs.records import Roster, enrollment_source_id, guardianship_source_id

CLASS_FIELDS = ["school", "name", "term", "archived_at", "last_seen_run", "updated_at"]
ENROLLMENT_FIELDS = ["role", "primary", "archived_at", "last_seen_run", "updated_at"]
LINK_FIELDS = ["archived_at", "last_seen_run", "updated_at"]


# The models whose rows a sync archives.
Archivable = type[Person] | type[Class] | type[Enrollment] | type[Guardianship]

APPLY_STEPS = 7  # schools, people, classes, links, archive, devices, stamps


def apply_plan(
    *,
    plan: Plan,
    roster: Roster,
    mirror: Mirror,
    config: SyncConfig,
    run: SyncRun,
    archive: bool,
    now: datetime,
    previous_run_id: int | None = None,
    still_missing: dict[str, set[int]] | None = None,
    held: Mapping[str, set[int]] | None = None,
    before_writes: Callable[[], None] | None = None,
    after_writes: Callable[[], None] | None = None,
) -> dict[str, float]:
    """Apply `plan`; archives only when `archive` (the guard passed), and then none of
    `held` (per table, the pks of the schools whose archives rule T6 held).

    `previous_run_id` is the config's last run that applied a plan; records this run
    misses were last seen by it, unless they were already missing then (`still_missing`,
    record ids per kind). `before_writes` and `after_writes` run first and last inside
    the transaction (the run's lease, and its applied marker).
    """
    w = _Writer(plan, roster, mirror, config, run, now, held or {})
    progress.set_total(APPLY_STEPS if archive else APPLY_STEPS - 1)
    with transaction.atomic():
        if before_writes is not None:
            before_writes()
        with w.timed("schools"):
            w.organization()
            w.schools()
        with w.timed("people"):
            w.accounts_and_people()
        with w.timed("classes"):
            w.classes()
        with w.timed("links"):
            w.links()
        if archive:
            with w.timed("archive"):
                w.archive()
        with w.timed("devices"):
            w.devices(archive)
        with w.timed("stamps"):
            w.stamp_missing(previous_run_id, still_missing or {})
            w.stamp_schools()
        if after_writes is not None:
            after_writes()
        committing = time.perf_counter()
    # Deferred foreign-key checks run at commit on PostgreSQL: worth seeing apart.
    w.timings["apply.commit"] = round(time.perf_counter() - committing, 3)
    return w.timings


class _Writer:
    def __init__(
        self,
        plan: Plan,
        roster: Roster,
        mirror: Mirror,
        config: SyncConfig,
        run: SyncRun,
        now: datetime,
        held: Mapping[str, set[int]],
    ) -> None:
        self.plan, self.roster, self.mirror = plan, roster, mirror
        self.held = held
        self.config, self.run, self.now = config, run, now
        self.org_id = config.organization_id
        self.bulk = BulkWriter()
        self.school_pk = {sis_id: pk for sis_id, (pk, _name) in mirror.schools.items()}
        self.person_pk = {sid: row.pk for sid, row in mirror.people.items()}
        self.class_pk = {sid: row.pk for sid, row in mirror.classes.items()}
        self.account_of = {
            sid: row.account_id for sid, row in mirror.people.items() if row.account_id
        }
        self.timings: dict[str, float] = {}

    @contextmanager
    def timed(self, step: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.timings[f"apply.{step}"] = round(time.perf_counter() - started, 3)
        progress.advance()  # apply's progress counts its steps (APPLY_STEPS)

    # -- the organization and its schools ----------------------------------------------

    def organization(self) -> None:
        """Name an organization still named after its slug (as `sync_roster` creates one)
        or not named at all after the district the files name. A name someone chose is
        never replaced. One conditional UPDATE, made only when the files name one."""
        name = self.roster.district_name.strip()[:200]
        if not name:
            return
        after_slug = Replace(F("slug"), Value("-"), Value(" "))
        Organization.objects.filter(pk=self.org_id).filter(
            Q(name="") | Q(name=F("slug")) | Q(name__iexact=after_slug)
        ).exclude(name=name).update(name=name)

    def schools(self) -> None:
        new = [
            School(
                organization_id=self.org_id,
                sis_id=sis_id,
                name=self.roster.schools[sis_id].name[:255],
                sync_config=self.config,
                source_id=sis_id,
                last_seen_run=self.run,
            )
            for sis_id in self.plan.schools_to_create
        ]
        for school in School.objects.bulk_create(new):
            self.school_pk[school.sis_id] = school.pk
        if self.plan.schools_to_rename:
            School.objects.bulk_update(
                [School(pk=pk, name=name[:255]) for pk, name in self.plan.schools_to_rename],
                ["name"],
            )

    # -- people and their accounts ---------------------------------------------------

    def accounts_and_people(self) -> None:
        """Every present, valid person has an account; names follow the SIS."""
        plan, bulk, now, run_id = self.plan, self.bulk, self.now, self.run.pk
        created, updated = plan.people.create, plan.people.update
        missing = sorted(sid for sid in plan.account_holders if sid not in self.account_of)
        apply_people.create_accounts(bulk, missing, self.roster.people, self.account_of, now)
        apply_people.create_people(
            bulk,
            created,
            org_id=self.org_id,
            config_id=self.config.pk,
            dob=plan.dob,
            account_of=self.account_of,
            person_pk=self.person_pk,
            run_id=run_id,
            now=now,
        )
        apply_people.update_people(bulk, updated, dob=plan.dob, run_id=run_id, now=now)
        apply_people.link_new_accounts(bulk, missing, created, self.person_pk, self.account_of)
        apply_people.rename_accounts(bulk, updated, missing, self.account_of)
        apply_people.school_links(
            bulk, created, updated, self.mirror.people, self.person_pk, self.school_pk
        )

    # -- classes and links -----------------------------------------------------------

    def classes(self) -> None:
        now, run_id = self.now, self.run.pk
        created = self.plan.classes.create
        ids = self.bulk.insert(
            Class,
            [
                "organization",
                "sync_config",
                "source_id",
                "school",
                "name",
                "term",
                "archived_at",
                "last_seen_run",
                "created_at",
                "updated_at",
            ],
            [
                (
                    self.org_id,
                    self.config.pk,
                    rec.source_id,
                    self.school_pk[rec.school_id],
                    rec.name[:255],
                    rec.term[:255],
                    None,
                    run_id,
                    now,
                    now,
                )
                for rec in created
            ],
        )
        self.class_pk.update(zip((rec.source_id for rec in created), ids, strict=True))
        self.bulk.update(
            Class,
            CLASS_FIELDS,
            [
                (
                    pk,
                    self.school_pk[rec.school_id],
                    rec.name[:255],
                    rec.term[:255],
                    None,
                    run_id,
                    now,
                )
                for pk, rec in self.plan.classes.update
            ],
        )

    def links(self) -> None:
        self._enrollments()
        self._guardianships()

    def _enrollments(self) -> None:
        now, run_id, config_id = self.now, self.run.pk, self.config.pk
        e = self.plan.enrollments
        self.bulk.insert(
            Enrollment,
            [
                "sync_config",
                "source_id",
                "section",
                "person",
                "role",
                "primary",
                "archived_at",
                "last_seen_run",
                "created_at",
                "updated_at",
            ],
            [
                (
                    config_id,
                    enrollment_source_id(r.class_id, r.person_id),
                    self.class_pk[r.class_id],
                    self.person_pk[r.person_id],
                    r.role,
                    r.primary,
                    None,
                    run_id,
                    now,
                    now,
                )
                for r in e.create
            ],
        )
        self.bulk.update(
            Enrollment,
            ENROLLMENT_FIELDS,
            [(pk, r.role, r.primary, None, run_id, now) for pk, r in e.update],
        )

    def _guardianships(self) -> None:
        now, run_id, config_id = self.now, self.run.pk, self.config.pk
        g = self.plan.guardianships
        self.bulk.insert(
            Guardianship,
            [
                "sync_config",
                "source_id",
                "parent",
                "student",
                "archived_at",
                "last_seen_run",
                "created_at",
                "updated_at",
            ],
            [
                (
                    config_id,
                    guardianship_source_id(parent, student),
                    self.person_pk[parent],
                    self.person_pk[student],
                    None,
                    run_id,
                    now,
                    now,
                )
                for parent, student in g.create
            ],
        )
        self.bulk.update(
            Guardianship, LINK_FIELDS, [(pk, None, run_id, now) for pk, _p in g.update]
        )

    # -- archives, devices, bookkeeping ---------------------------------------------

    def _archive_sets(self) -> tuple[tuple[str, Archivable, list[int]], ...]:
        plan = self.plan
        return (
            ("people", Person, plan.people.archive),
            ("classes", Class, plan.classes.archive),
            ("enrollments", Enrollment, plan.enrollments.archive),
            ("guardianships", Guardianship, plan.guardianships.archive),
        )

    def archive(self) -> None:
        archived: dict[str, list[int]] = {}
        for kind, model, pks in self._archive_sets():
            held = self.held.get(kind)
            archived[kind] = [pk for pk in pks if pk not in held] if held else pks
            if archived[kind]:
                filter_in(model.objects.all(), "id", archived[kind]).update(archived_at=self.now)
        by_pk = {row.pk: row for row in self.mirror.people.values()}
        accounts = [by_pk[pk].account_id for pk in archived["people"] if by_pk[pk].account_id]
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
        self.bulk.insert(
            ContactDevice,
            ["account", "kind", "value", "created_at"],
            [(a, k, v, self.now) for a, k, v in sorted(desired - current.keys())],
        )

    def stamp_missing(
        self, previous_run_id: int | None, still_missing: dict[str, set[int]]
    ) -> None:
        """Records missing from this run were last seen by the previous applied run,
        unless they were already missing then (their stamp is already right)."""
        if previous_run_id is None:
            return
        for kind, model, pks in self._archive_sets():
            newly = [pk for pk in pks if pk not in still_missing.get(kind, ())]
            if newly:
                filter_in(model.objects.all(), "id", newly).update(last_seen_run=previous_run_id)

    def stamp_schools(self) -> None:
        """Schools are few: every run stamps the ones it saw."""
        if self.roster.schools:
            filter_in(
                School.objects.filter(organization_id=self.org_id),
                "sis_id",
                list(self.roster.schools),
            ).update(last_seen_run=self.run)
