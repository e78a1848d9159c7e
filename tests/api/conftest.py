"""One world for the API tests, healthchecks style: two districts and every role.

- `demo` (the root conftest's organization and local-files config) is synced for real:
  a first run that succeeds, then one that loses school 0456 and fails on the deletion
  threshold (10%), so it has issues, school summaries and planned archives of every kind.
- `other` is a second district with a run of its own: nobody of `demo` may see it.

Callers: a district admin and a school admin (school 0123) of `demo`, a district admin
of `other`, staff who may only view, and support staff (the Support group's permissions).
Each caller can be used by session or by bearer token (`client_for`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.middleware.csrf import _get_new_csrf_string
from rest_framework.test import APIClient

from accounts.models import ApiToken, MembershipRole, User
from rostering.models import Organization, School
from syncs.models import SyncConfig, SyncRun
from tests.builders import District, small_district
from tests.factories import (
    IssueFactory,
    MembershipFactory,
    OrganizationFactory,
    PlannedArchiveFactory,
    SchoolFactory,
    SchoolSummaryFactory,
    SyncConfigFactory,
    SyncRunFactory,
    UserFactory,
)

SUPPORT_PERMISSIONS = (
    "syncs.view_syncconfig",
    "syncs.view_syncrun",
    "syncs.run_sync",
    "syncs.approve_archives",
    "syncs.test_connection",
    "syncs.change_syncconfig",
    "syncs.manage_credentials",
)


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Throttles count in the cache (LocMem in tests): each test starts from zero."""
    cache.clear()
    yield
    cache.clear()


def grant(user: User, *names: str) -> User:
    for name in names:
        app, codename = name.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app, codename=codename)
        )
    return User.objects.get(pk=user.pk)  # permissions are cached on the instance


def support_user(**fields) -> User:
    """Support staff: in the "Support" group when the project has one, else granted the
    same permissions directly."""
    user = UserFactory(is_staff=True, **fields)
    try:
        from syncs.services.support import GROUP_NAME, support_group_setup
    except ImportError:
        return grant(user, *SUPPORT_PERMISSIONS)
    from django.contrib.auth.models import Group

    support_group_setup()
    user.groups.add(Group.objects.get(name=GROUP_NAME))
    return User.objects.get(pk=user.pk)


def threshold_district() -> District:
    """Two schools; school 0456 has a class with a teacher, students and a guardian.
    Student s5 of school 0123 has no birth date (a `student_dob` error every run)."""
    d = small_district()
    d.student("s4", "0456", agentSourcedIds="p3")
    d.enroll("c2", "s4", "student", "0456")
    d.student("s5", "0123", dob="", given="Dana", family="Nodob")
    return d


@dataclass
class World:
    org: Organization
    config: SyncConfig
    first_run: SyncRun
    blocked_run: SyncRun
    other_org: Organization
    other_config: SyncConfig
    other_run: SyncRun
    district_admin: User
    school_admin: User
    other_admin: User
    staff_viewer: User
    support: User
    school_0123: School


@pytest.fixture
def world(db, org, config, sync) -> World:
    d = threshold_district()
    first = sync(d)
    assert first.status == "succeeded", first.message
    # The next export lost school 0456: more than 10% of each kind would be archived.
    d.schools = [s for s in d.schools if s["sourcedId"] != "0456"]
    d.users = [u for u in d.users if u["orgSourcedIds"] != "0456"]
    d.classes = [c for c in d.classes if c["schoolSourcedId"] != "0456"]
    d.enrollments = [e for e in d.enrollments if e["classSourcedId"] != "c2"]
    blocked = sync(d, threshold=10)
    assert blocked.failure_reason == "threshold", blocked.message
    # An issue of the school that left, so school scoping has something to hide.
    IssueFactory(run=blocked, school_sis_id="0456", severity="alert", code="unsupported_phone")

    other_org = OrganizationFactory(slug="other")
    other_config = SyncConfigFactory(organization=other_org)
    other_run = SyncRunFactory(config=other_config, status="failed", failure_reason="threshold")
    SchoolFactory(organization=other_org, sis_id="9000")
    SchoolSummaryFactory(run=other_run, sis_id="9000")
    IssueFactory(run=other_run, school_sis_id="9000", code="student_dob")
    PlannedArchiveFactory(run=other_run, kind="students")

    school = School.objects.get(organization=org, sis_id="0123")
    district_admin = MembershipFactory(organization=org).user
    school_admin = MembershipFactory(
        organization=org, school=school, role=MembershipRole.SCHOOL_ADMIN
    ).user
    other_admin = MembershipFactory(organization=other_org).user
    staff_viewer = grant(UserFactory(is_staff=True), "syncs.view_syncconfig", "syncs.view_syncrun")
    return World(
        org=org,
        config=config,
        first_run=first,
        blocked_run=blocked,
        other_org=other_org,
        other_config=other_config,
        other_run=other_run,
        district_admin=district_admin,
        school_admin=school_admin,
        other_admin=other_admin,
        staff_viewer=staff_viewer,
        support=support_user(),
        school_0123=school,
    )


def token_for(user: User, *, read_only: bool = False) -> str:
    return ApiToken.objects.issue(user=user, read_only=read_only, name="test")[1]


def client_for(user: User | None, *, auth: str = "token", read_only: bool = False) -> APIClient:
    """An API client acting as `user`: by bearer token ("token") or by session
    ("session", CSRF enforced as in a browser). None: anonymous."""
    client = APIClient(enforce_csrf_checks=True)
    if user is None:
        return client
    if auth == "token":
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user, read_only=read_only)}")
    else:
        client.force_login(user)
        # What a page does: the CSRF cookie, sent back in the X-CSRFToken header.
        secret = _get_new_csrf_string()
        client.cookies["csrftoken"] = secret
        client.defaults["HTTP_X_CSRFTOKEN"] = secret
    return client


@pytest.fixture
def as_user():
    return client_for
