"""One world for the page tests, healthchecks style: two districts and every caller.

- `demo` (the root conftest's organization and local-files config) is synced for real:
  two schools, Lincoln (0123) and Roosevelt (0456). Lincoln has two records with errors:
  a student without a birth date and a teacher without an email whose name looks like a
  spreadsheet formula. `blocked` then syncs it again without Roosevelt at a threshold of
  10%, so that run fails `threshold` with archives to approve.
- `other` is a second district with a run of its own: nobody of `demo` may see it.

Callers: a district admin and a school admin (Lincoln) of `demo`, a district admin of
`other`, staff who may only view, and support staff (every sync permission).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.test import Client

from accounts.models import MembershipRole, User
from rostering.models import Organization, School
from syncs.models import SyncConfig, SyncRun
from tests.builders import District, small_district
from tests.factories import (
    IssueFactory,
    MembershipFactory,
    OrganizationFactory,
    SchoolFactory,
    SchoolSummaryFactory,
    SyncConfigFactory,
    SyncRunFactory,
    UserFactory,
)

PASSWORD = "password"  # tests.factories.UserFactory's
FORMULA_NAME = '=HYPERLINK("http://x")'
STAFF_PERMISSIONS = (
    "syncs.view_syncconfig",
    "syncs.view_syncrun",
    "syncs.run_sync",
    "syncs.approve_archives",
    "syncs.test_connection",
    "syncs.change_syncconfig",
    "syncs.manage_credentials",
)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The sign-in throttle counts in the cache (LocMem in tests)."""
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


def demo_district() -> District:
    d = small_district()
    d.student("s5", "0123", dob="", given="Dana", family="Nodob")
    d.teacher("t3", "0123", email="", given=FORMULA_NAME, family="Teacher")
    return d


def without_roosevelt(d: District) -> District:
    d.schools = [s for s in d.schools if s["sourcedId"] != "0456"]
    d.users = [u for u in d.users if u["orgSourcedIds"] != "0456"]
    d.classes = [c for c in d.classes if c["schoolSourcedId"] != "0456"]
    d.enrollments = [e for e in d.enrollments if e["classSourcedId"] != "c2"]
    d.birth_dates = {k: v for k, v in d.birth_dates.items() if k != "s3"}
    return d


@dataclass
class World:
    org: Organization
    config: SyncConfig
    first_run: SyncRun
    other_org: Organization
    other_config: SyncConfig
    other_run: SyncRun
    district_admin: User
    school_admin: User
    other_admin: User
    staff_viewer: User
    support: User
    lincoln: School
    roosevelt: School
    files: District


@pytest.fixture
def world(db, org, config, sync) -> World:
    files = demo_district()
    first = sync(files)
    assert first.status == "succeeded", first.message

    other_org = OrganizationFactory(slug="other", name="Other District")
    other_config = SyncConfigFactory(organization=other_org, name="Other nightly")
    other_run = SyncRunFactory(config=other_config, status="failed", failure_reason="threshold")
    SchoolFactory(organization=other_org, sis_id="9000", name="Hidden Valley High")
    SchoolSummaryFactory(run=other_run, sis_id="9000", name="Hidden Valley High")
    IssueFactory(run=other_run, school_sis_id="9000", code="student_dob")

    lincoln = School.objects.get(organization=org, sis_id="0123")
    district_admin = MembershipFactory(organization=org, user__username="dana-district").user
    school_admin = MembershipFactory(
        organization=org,
        school=lincoln,
        role=MembershipRole.SCHOOL_ADMIN,
        user__username="sam-school",
    ).user
    other_admin = MembershipFactory(organization=other_org, user__username="olga-other").user
    staff_viewer = grant(
        UserFactory(is_staff=True, username="vic-viewer"),
        "syncs.view_syncconfig",
        "syncs.view_syncrun",
    )
    support = grant(UserFactory(is_staff=True, username="sue-support"), *STAFF_PERMISSIONS)
    return World(
        org=org,
        config=config,
        first_run=first,
        other_org=other_org,
        other_config=other_config,
        other_run=other_run,
        district_admin=district_admin,
        school_admin=school_admin,
        other_admin=other_admin,
        staff_viewer=staff_viewer,
        support=support,
        lincoln=lincoln,
        roosevelt=School.objects.get(organization=org, sis_id="0456"),
        files=files,
    )


@pytest.fixture
def blocked(world, sync) -> SyncRun:
    """The demo district synced again without Roosevelt: held by the 10% threshold."""
    run = sync(without_roosevelt(world.files), threshold=10)
    assert run.failure_reason == "threshold", run.message
    return run


def client_for(user: User | None, *, csrf: bool = False) -> Client:
    """A browser-like client signed in as `user` (None: anonymous). With `csrf`, CSRF is
    enforced as in a browser: use `post_form` to send the token."""
    client = Client(enforce_csrf_checks=csrf)
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def as_user():
    return client_for


def csrf_token(client: Client, url: str) -> str:
    """The token a page's form carries (GET the page first, as a browser does)."""
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert found, "no CSRF token on the page"
    return found[1]


def text(response) -> str:
    """A page's visible text, whitespace squeezed (for `in` checks)."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()
