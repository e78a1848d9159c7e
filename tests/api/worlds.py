"""Two districts for API tests: A, whose latest run failed `threshold` with archives
to approve, and B; with every kind of caller (DESIGN §7)."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.models import Group, Permission

from accounts.models import ApiToken, Membership, MembershipRole, User
from rostering.models import Organization, School
from syncs.models import SourceKind, SyncConfig, SyncRun
from syncs.services import sync_run_create, sync_run_execute
from syncs.services.support import support_group_setup
from tests.builders import District
from tests.helpers import NOW

CANARY = "canary-password-never-shown"


def district(prefix: str, names: tuple[str, str]) -> District:
    """Two schools with IDs and names no other tenant shares."""
    s1, s2 = f"{prefix}-0123", f"{prefix}-0456"
    d = District().school(s1, names[0]).school(s2, names[1])
    d.teacher(f"{prefix}-t1", s1).teacher(f"{prefix}-t2", s2)
    d.student(f"{prefix}-s1", s1, agentSourcedIds=f"{prefix}-p1")
    d.student(f"{prefix}-s2", s1).student(f"{prefix}-s3", s2).student(f"{prefix}-s4", s2)
    d.parent(f"{prefix}-p1", s1, f"{prefix}-s1")
    d.klass(f"{prefix}-c1", s1, teacher=f"{prefix}-t1", students=(f"{prefix}-s1", f"{prefix}-s2"))
    d.klass(f"{prefix}-c2", s2, teacher=f"{prefix}-t2", students=(f"{prefix}-s3", f"{prefix}-s4"))
    return d


def synced(slug: str, d: District, tmp_path, *, then: District | None = None) -> SyncConfig:
    org = Organization.objects.create(name=f"{slug.title()} District", slug=slug)
    folder = tmp_path / slug
    config = SyncConfig.objects.create(
        organization=org,
        name="Nightly",
        source_kind=SourceKind.LOCAL_FILES,
        path=str(folder),
        deletion_threshold=Decimal("10"),
        # Every credential field holds the canary: none may ever come back.
        sftp_password=CANARY,
        sftp_private_key=CANARY,
        api_token=CANARY,
        oauth_client_secret=CANARY,
    )
    for files in (d, then) if then else (d,):
        files.write(folder)
        sync_run_execute(run=sync_run_create(config=config), now=NOW)
    return config


def make_world(tmp_path) -> dict:
    a_files = district("alpha", ("Alpha Lincoln Elementary", "Alpha Roosevelt Middle"))
    dropped = district("alpha", ("Alpha Lincoln Elementary", "Alpha Roosevelt Middle"))
    for sid in ("alpha-t2", "alpha-s3", "alpha-s4"):
        dropped.drop_user(sid)
    config_a = synced("alpha", a_files, tmp_path, then=dropped)
    run_a = SyncRun.objects.filter(config=config_a).order_by("-created_at").first()
    assert run_a.failure_reason == "threshold", run_a.message
    upload_a = SyncConfig.objects.create(
        organization=config_a.organization, name="Uploads", source_kind=SourceKind.UPLOAD
    )
    config_b = synced("beta", district("beta", ("Beta Harbor High", "Beta Hill Middle")), tmp_path)
    run_b = config_b.runs.get()

    users = {}
    da = User.objects.create_user("alpha-admin", password="pw")
    Membership.objects.create(
        user=da, organization=config_a.organization, role=MembershipRole.DISTRICT_ADMIN
    )
    users["district_admin"] = da
    sa = User.objects.create_user("alpha-school-admin", password="pw")
    Membership.objects.create(
        user=sa,
        organization=config_a.organization,
        role=MembershipRole.SCHOOL_ADMIN,
        school=School.objects.get(sis_id="alpha-0123"),
    )
    users["school_admin"] = sa
    db = User.objects.create_user("beta-admin", password="pw")
    Membership.objects.create(
        user=db, organization=config_b.organization, role=MembershipRole.DISTRICT_ADMIN
    )
    users["other_district_admin"] = db
    view = User.objects.create_user("staff-view", password="pw", is_staff=True)
    view.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    users["staff_view_only"] = view
    support_group_setup()
    support = User.objects.create_user("support", password="pw", is_staff=True)
    support.groups.add(Group.objects.get(name="Support"))
    users["support_staff"] = support
    tokens = {
        "district_admin_token": ApiToken.objects.issue(user=da)[1],
        "read_only_token": ApiToken.objects.issue(user=da, read_only=True)[1],
    }
    from notify.models import WebhookEndpoint

    endpoint_a = WebhookEndpoint.objects.create(
        organization=config_a.organization,
        name="Alpha SIS dashboard",
        url="http://127.0.0.1:9/rollcall",  # loopback: allowed in tests only
        secret=CANARY,
        events=["run.failed", "run.held"],
    )
    return {
        "endpoint": endpoint_a,
        "org": config_a.organization,
        "config": config_a,
        "upload": upload_a,
        "run": run_a,
        "org_b": config_b.organization,
        "run_b": run_b,
        "users": users,
        "tokens": tokens,
    }
