"""Who may see and do what: the one permission model every surface enforces (DESIGN §7).

The admin, the REST API and the sync tab all start from `reach(user)`, then
- read through the scoped querysets below: an object outside them does not exist for
  the caller, so it answers 404, never 403;
- act only after `allowed(...)` says yes: an object the caller can see but not change
  answers 403.

Three kinds of caller:
- support staff (`is_staff`) act through Django permissions: view_* to see every
  organization, and run_sync, approve_archives, test_connection, manage_credentials and
  change_syncconfig to act (the "Support" group holds them all);
- a district admin (Membership without a school) sees their organization and may queue
  runs, upload, download, approve its latest blocked archives and change a config's
  threshold, window and enabled flag, never its source or credentials;
- a school admin (Membership with a school) sees their school's summaries, issues and
  planned archives, and changes nothing.
A read-only API token makes any caller read-only.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from django.db.models import Q, QuerySet

from accounts.models import Membership, MembershipRole
from rostering.models import Organization, School
from syncs.models import Issue, PlannedArchive, SchoolSummary, SyncConfig, SyncRun


class Action(StrEnum):
    """What a caller may do to an organization's syncs, beyond seeing them."""

    RUN = "run_sync"  # queue a run or dry run, upload files
    APPROVE = "approve_archives"  # rule T5
    TEST_CONNECTION = "test_connection"
    CHANGE_CONFIG = "change_config"  # threshold, window, enabled
    MANAGE_CREDENTIALS = "manage_credentials"  # source kind, credentials, school IDs


# The Django permission each action takes for support staff.
STAFF_PERMISSIONS = {
    Action.RUN: "syncs.run_sync",
    Action.APPROVE: "syncs.approve_archives",
    Action.TEST_CONNECTION: "syncs.test_connection",
    Action.CHANGE_CONFIG: "syncs.change_syncconfig",
    Action.MANAGE_CREDENTIALS: "syncs.manage_credentials",
}
# What a district admin may do in their own organization.
DISTRICT_ADMIN_ACTIONS = frozenset({Action.RUN, Action.APPROVE, Action.CHANGE_CONFIG})
# The config fields a district admin may change; the rest need manage_credentials.
DISTRICT_ADMIN_CONFIG_FIELDS = frozenset(
    {
        "deletion_threshold",
        "school_threshold",
        "update_threshold",
        "drop_alert_percent",
        "window_start",
        "window_end",
        "enabled",
    }
)
# ... and support staff with change_syncconfig but not manage_credentials: a district
# admin's fields, plus the config's name and time zone.
STAFF_CONFIG_FIELDS = DISTRICT_ADMIN_CONFIG_FIELDS | {"name", "time_zone"}
# Staff need one of these to see any organization's syncs at all.
STAFF_VIEW_PERMISSIONS = ("syncs.view_syncconfig", "syncs.view_syncrun")


@dataclass(frozen=True)
class Reach:
    """What one caller can reach. Built once per request by `reach(user)`."""

    user_id: int | None
    staff_all: bool = False  # staff who may view every organization
    district_orgs: frozenset[int] = frozenset()
    # organization id -> the schools a school admin has there (no district membership)
    school_orgs: dict[int, frozenset[int]] = field(default_factory=dict)
    read_only: bool = False
    staff_perms: frozenset[str] = frozenset()

    @property
    def org_ids(self) -> frozenset[int]:
        return self.district_orgs | frozenset(self.school_orgs)

    @property
    def anonymous(self) -> bool:
        return self.user_id is None

    def schools_in(self, org_id: int) -> frozenset[int] | None:
        """The schools the caller is limited to in an organization; None means all."""
        if self.staff_all or org_id in self.district_orgs:
            return None
        return self.school_orgs.get(org_id, frozenset())

    def read_only_token(self) -> Reach:
        return replace(self, read_only=True)


NOBODY = Reach(user_id=None)


def reach(user) -> Reach:
    """The caller's reach: one query for memberships (staff: their permissions, cached
    on the user by Django)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return NOBODY
    if user.is_staff:
        perms = frozenset(user.get_all_permissions())
        sees_all = user.is_superuser or any(p in perms for p in STAFF_VIEW_PERMISSIONS)
        return Reach(user_id=user.pk, staff_all=sees_all, staff_perms=perms)
    district: set[int] = set()
    schools: dict[int, set[int]] = {}
    for org_id, role, school_id in Membership.objects.filter(user=user).values_list(
        "organization_id", "role", "school_id"
    ):
        if role == MembershipRole.DISTRICT_ADMIN and school_id is None:
            district.add(org_id)
        elif school_id is not None:
            schools.setdefault(org_id, set()).add(school_id)
    return Reach(
        user_id=user.pk,
        district_orgs=frozenset(district),
        school_orgs={org: frozenset(ids) for org, ids in schools.items() if org not in district},
    )


def allowed(r: Reach, action: Action, org_id: int) -> bool:
    """May the caller do `action` in this organization (which they can already see)?"""
    if r.read_only or r.anonymous:
        return False
    if r.staff_all:
        return staff_allowed(r, action)
    return org_id in r.district_orgs and action in DISTRICT_ADMIN_ACTIONS


def staff_allowed(r: Reach, action: Action) -> bool:
    """Support staff's answer, the same in every organization: what the admin (staff only)
    asks before any object is chosen, for its actions, pages and read-only fields."""
    if r.read_only or not r.staff_all:
        return False
    return STAFF_PERMISSIONS[action] in r.staff_perms  # a superuser holds them all


def config_fields_allowed(r: Reach, org_id: int, fields: set[str]) -> bool:
    """A config change touches only fields the caller may change."""
    if not allowed(r, Action.CHANGE_CONFIG, org_id):
        return False
    if fields <= (STAFF_CONFIG_FIELDS if r.staff_all else DISTRICT_ADMIN_CONFIG_FIELDS):
        return True
    return allowed(r, Action.MANAGE_CREDENTIALS, org_id)


def sees_diagnostics(r: Reach, org_id: int) -> bool:
    """Diagnostics and explanations name every school: not for a school admin."""
    return r.schools_in(org_id) is None


# Scoped querysets: everything any surface reads about a tenant starts here.


def organizations(r: Reach) -> QuerySet[Organization]:
    qs = Organization.objects.all()
    return qs if r.staff_all else qs.filter(pk__in=r.org_ids)


def schools(r: Reach) -> QuerySet[School]:
    qs = School.objects.all()
    if r.staff_all:
        return qs
    school_ids = [s for ids in r.school_orgs.values() for s in ids]
    return qs.filter(Q(organization_id__in=r.district_orgs) | Q(pk__in=school_ids))


def configs(r: Reach) -> QuerySet[SyncConfig]:
    qs = SyncConfig.objects.all()
    return qs if r.staff_all else qs.filter(organization_id__in=r.org_ids)


def runs(r: Reach) -> QuerySet[SyncRun]:
    qs = SyncRun.objects.all()
    return qs if r.staff_all else qs.filter(config__organization_id__in=r.org_ids)


def _school_filter(r: Reach, run: SyncRun, qs: QuerySet, sis_field: str) -> QuerySet:
    limit = r.schools_in(run.config.organization_id)
    if limit is None:
        return qs
    sis_ids = School.objects.filter(pk__in=limit).values_list("sis_id", flat=True)
    return qs.filter(**{f"{sis_field}__in": list(sis_ids)})


def run_summaries(r: Reach, run: SyncRun) -> QuerySet[SchoolSummary]:
    return _school_filter(r, run, SchoolSummary.objects.filter(run=run), "sis_id")


def run_issues(r: Reach, run: SyncRun) -> QuerySet[Issue]:
    from syncs.selectors import run_issue_queryset

    return _school_filter(r, run, run_issue_queryset(run), "school_sis_id")


def run_planned_archives(r: Reach, run: SyncRun) -> QuerySet[PlannedArchive]:
    return _school_filter(r, run, PlannedArchive.objects.filter(run=run), "school_sis_id")
