"""Who may do what in the admin (issue 12): every action declares its permission, the
upload page takes run_sync, a config's source and credentials take manage_credentials,
the "Support" group holds what support staff need, and no admin page, log line or run
diagnostic ever shows a stored secret.

The incident: a staff user holding only view_* permissions approved the blocked archives
of another district's threshold-failed run (7,252 records archived) and queued runs.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import uuid
from html.parser import HTMLParser
from io import StringIO

import pytest
from django.contrib import admin
from django.contrib.auth import get_permission_codename
from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import NoReverseMatch, reverse
from django_q.models import OrmQ, Schedule, Task
from pytest_httpserver import HTTPServer

from accounts.models import Membership, User
from rostering.models import Person
from syncs import access
from syncs.clients import sftp as sftp_client
from syncs.models import Issue, PlannedArchive, SourceKind, SyncConfig, SyncRun
from syncs.selectors import run_issue_queryset
from syncs.services import sync_run_create, sync_run_execute
from syncs.services.preflight import sync_configs_preflight
from syncs.services.support import GROUP_NAME, support_group_setup
from syncs.sources import ConnectionReport
from tests import factories as f
from tests.helpers import NOW, local
from tests.sftp_stub import new_key

VIEW_ONLY = "view-only-staff"
SUPPORT = "support-staff"
SUPERUSER = "superuser"
ROLES = (VIEW_ONLY, SUPPORT, SUPERUSER)
# Staff who may change a config (threshold, window...) but not manage its credentials.
CHANGE_ONLY = "change-only-staff"

SECRETS = ("sftp_password", "sftp_private_key", "api_token", "oauth_client_secret")


def staff(role: str, **fields) -> User:
    if role == SUPERUSER:
        return f.UserFactory(is_staff=True, is_superuser=True, **fields)
    user = f.UserFactory(is_staff=True, **fields)
    if role == SUPPORT:
        support_group_setup()
        user.groups.add(Group.objects.get(name=GROUP_NAME))
        return user
    # Every view permission there is: Rollcall's models, the task queue's, auth's.
    user.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    if role == CHANGE_ONLY:
        user.user_permissions.add(Permission.objects.get(codename="change_syncconfig"))
    return user


def logged_in(client, user: User):
    client.force_login(user)
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


# The admin-action matrix: every action of every registered ModelAdmin, found from the
# registry so a new action is covered without touching this file.


def registered_actions() -> list[tuple[type, str]]:
    found = []
    for model, model_admin in admin.site._registry.items():
        for _func, name, _description in model_admin._get_base_actions():
            found.append((model, name))
    return found


def action_func(model_admin, name: str):
    return {n: func for func, n, _description in model_admin._get_base_actions()}[name]


def action_key(model, name: str) -> str:
    return f"{model._meta.label_lower}:{name}"


def declared_permissions(model_admin, func, key: str) -> set[str] | None:
    """The permissions an action declares, as "app_label.codename" (None: undeclared)."""
    declared = getattr(func, "allowed_permissions", None)
    if declared is None:
        return None
    opts = model_admin.opts
    return {
        f"{opts.app_label}.{get_permission_codename(p, opts)}"
        if p in ("add", "change", "delete", "view")
        else f"{opts.app_label}.{p}"
        for p in declared
    }


def request_as(user: User):
    request = RequestFactory().post("/")
    request.user = user
    return request


@pytest.fixture
def one_of_each(db):
    """A row of every registered model, so every action has something to act on."""
    run = f.SyncRunFactory(status="failed", failure_reason="threshold")
    f.SchoolSummaryFactory(run=run)
    f.IssueFactory(run=run)
    f.PlannedArchiveFactory(run=run)
    f.EnrollmentFactory()
    f.GuardianshipFactory()
    f.ContactDeviceFactory()
    f.MembershipFactory()
    Group.objects.get_or_create(name="Someone's group")
    Schedule.objects.create(name="someone's schedule", func="math.floor")
    for success in (True, False):
        Task.objects.create(
            id=uuid.uuid4().hex,
            name=f"task {success}",
            func="math.floor",
            started=NOW,
            stopped=NOW,
            success=success,
        )
    OrmQ.objects.create(key="default", payload="x")


def test_every_action_declares_the_permission_it_needs():
    undeclared = [
        action_key(model, name)
        for model, name in registered_actions()
        for func in [action_func(admin.site._registry[model], name)]
        if getattr(func, "allowed_permissions", None) is None
    ]
    assert undeclared == []


@pytest.mark.django_db
def test_view_only_staff_are_offered_no_admin_action_at_all():
    """Issue 12: view-only staff can run none of the actions. Downloads are links and
    approving is a page of its own, so no action asks for a view permission alone."""
    request = request_as(staff(VIEW_ONLY))
    offered = [
        action_key(model, name)
        for model, model_admin in admin.site._registry.items()
        for name in model_admin.get_actions(request)
    ]
    assert offered == []
    view_only = [
        action_key(model, name)
        for model, name in registered_actions()
        for model_admin in [admin.site._registry[model]]
        if all(
            p.split(".")[1].startswith("view_")
            for p in declared_permissions(
                model_admin, action_func(model_admin, name), action_key(model, name)
            )
        )
    ]
    assert view_only == []


def test_rollcall_actions_declare_the_permissions_of_the_one_model():
    expected = {
        "syncs.syncconfig:run_now": {"syncs.run_sync"},
        "syncs.syncconfig:dry_run_now": {"syncs.run_sync"},
        "syncs.syncconfig:test_connection": {"syncs.test_connection"},
    }
    found = {}
    for model, name in registered_actions():
        key = action_key(model, name)
        if key in expected:
            model_admin = admin.site._registry[model]
            found[key] = declared_permissions(model_admin, action_func(model_admin, name), key)
    assert found == expected


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("model", "name"), registered_actions(), ids=[action_key(*a) for a in registered_actions()]
)
def test_admin_action_matrix(client, monkeypatch, one_of_each, model, name, role):
    """Posting the action to the changelist runs it only for a caller holding every
    permission it declares; otherwise Django refuses it as it refuses an unknown action."""
    model_admin = admin.site._registry[model]
    key = action_key(model, name)
    func = action_func(model_admin, name)
    required = declared_permissions(model_admin, func, key)
    assert required is not None, f"{key} declares no allowed_permissions"

    user = staff(role)
    superuser_offered = name in model_admin.get_actions(request_as(staff(SUPERUSER)))
    if role == SUPERUSER:
        expected = superuser_offered
    else:  # a read-only admin refuses some actions (delete) to everyone
        expected = superuser_offered and all(user.has_perm(p) for p in required)
    as_user = request_as(User.objects.get(pk=user.pk))
    users_actions = model_admin.get_actions(as_user)
    sees_the_list = model_admin.has_view_or_change_permission(as_user)
    selected = model_admin.get_queryset(request_as(user)).order_by("pk").first()
    made = selected is None
    if made:  # a model added since one_of_each was written: its factory
        factory = getattr(f, f"{model.__name__}Factory", None)
        assert factory is not None, f"tests/factories.py has no {model.__name__}Factory"
        selected = factory()

    ran = []
    original = type(model_admin).get_actions

    def spying(self, request):
        # Wrap what Django offers after its own permission filtering: whatever runs is
        # seen, and nothing is changed, queued or downloaded by the matrix itself.
        def spy_on(action_name, description):
            def spy(modeladmin, request, queryset):
                ran.append((action_name, [obj.pk for obj in queryset]))

            spy.short_description = description
            return spy

        return {
            n: (spy_on(n, desc), n, desc) for n, (_f, _n, desc) in original(self, request).items()
        }

    monkeypatch.setattr(type(model_admin), "get_actions", spying)
    url = admin_url(model, "changelist")
    response = logged_in(client, user).post(
        url, {"action": name, "_selected_action": [selected.pk]}
    )

    if expected:  # on the selected row (a factory's row may be outside the user's list)
        assert [n for n, _pks in ran] == [name]
        assert set(ran[0][1]) <= {selected.pk} if made else ran[0][1] == [selected.pk]
        assert response.status_code == 302 and response["Location"] == url
        return
    assert ran == []
    if not sees_the_list:  # not even their changelist
        assert response.status_code == 403
    elif users_actions:  # the action is not among the user's choices
        assert response.status_code == 302 and response["Location"] == url
        assert messages_of(response) == ["No action selected."]
    else:  # no actions at all for this user: the POST is the changelist page itself
        assert response.status_code == 200
        assert "admin/change_list.html" in [t.name for t in response.templates]
        assert "action-toggle" not in response.content.decode()
        assert messages_of(response) == []


# What the actions really do, refused and allowed.


@pytest.fixture
def blocked(sync, district, org):
    """A threshold-failed run in district B (`org`), its archives blocked; and district A,
    where the view-only staff user of the incident was a district admin."""
    sync(district)
    run = sync(district.drop_user("s1"), threshold=0)
    assert run.failure_reason == "threshold" and PlannedArchive.objects.filter(run=run).exists()
    return run


def _still_active(run: SyncRun) -> bool:
    planned = PlannedArchive.objects.filter(run=run, kind__in=["students", "teachers"])
    ids = list(planned.values_list("record_id", flat=True))
    return bool(ids) and not Person.objects.filter(pk__in=ids, archived_at__isnull=False).exists()


@pytest.mark.django_db
def test_view_only_staff_cannot_approve_another_districts_blocked_archives(client, blocked):
    """The incident, replayed against what replaced the bulk action: the approval page
    answers 403 to GET and POST (with the right number typed), and the old action name
    is no action at all."""
    district_a = f.OrganizationFactory(name="District A")
    user = staff(VIEW_ONLY)
    f.MembershipFactory(user=user, organization=district_a)  # theirs, not B's
    counts = blocked.counts
    total = PlannedArchive.objects.filter(run=blocked).count()
    client = logged_in(client, user)
    url = reverse("admin:syncs_syncrun_approve", args=[blocked.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"count": str(total)}).status_code == 403
    old = client.post(
        admin_url(SyncRun, "changelist"),
        {"action": "approve_archives", "_selected_action": [blocked.pk]},
    )
    assert old.status_code == 200 and messages_of(old) == []  # just the list again
    page = client.get(admin_url(SyncRun, "change", blocked.pk)).content.decode()
    assert url not in page  # no link to a page that refuses
    blocked.refresh_from_db()
    assert blocked.archives_approved_at is None and blocked.archives_approved_by is None
    assert blocked.counts == counts
    assert _still_active(blocked)


@pytest.mark.django_db
def test_support_staff_approve_blocked_archives(client, blocked):
    user = staff(SUPPORT)
    total = PlannedArchive.objects.filter(run=blocked).count()
    client = logged_in(client, user)
    url = reverse("admin:syncs_syncrun_approve", args=[blocked.pk])
    assert url in client.get(admin_url(SyncRun, "change", blocked.pk)).content.decode()
    response = client.post(url, {"count": str(total)})
    assert response.status_code == 302
    assert messages_of(response) == [
        f"Run #{blocked.pk}: approved; {total} record{'s' if total != 1 else ''} archived."
    ]
    blocked.refresh_from_db()
    assert blocked.archives_approved_by == user and blocked.archives_approved_at is not None
    assert not _still_active(blocked)


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["run_now", "dry_run_now"])
@pytest.mark.parametrize(("role", "queued"), [(VIEW_ONLY, False), (SUPPORT, True)])
def test_only_run_sync_queues_a_run(client, config, action, role, queued):
    response = logged_in(client, staff(role)).post(
        admin_url(SyncConfig, "changelist"), {"action": action, "_selected_action": [config.pk]}
    )
    assert response.status_code in (200, 302)
    assert SyncRun.objects.filter(config=config).exists() == queued
    if queued:
        assert "queued on the worker" in messages_of(response)[0]


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "tested"), [(VIEW_ONLY, False), (SUPPORT, True)])
def test_only_test_connection_tests_a_connection(client, config, monkeypatch, role, tested):
    calls = []

    def connect(*, config):
        calls.append(config)
        return ConnectionReport(ok=True, message="fine")

    monkeypatch.setattr("syncs.admin_config.sync_config_test_connection", connect)
    response = logged_in(client, staff(role)).post(
        admin_url(SyncConfig, "changelist"),
        {"action": "test_connection", "_selected_action": [config.pk]},
    )
    assert calls == ([config] if tested else [])
    assert messages_of(response) == ([f"{config}: fine"] if tested else [])


@pytest.mark.django_db
@pytest.mark.parametrize("download", ["planned-archives", "issues"])
def test_downloads_are_links_that_take_the_view_permission_only(client, blocked, download):
    """View permission is what the map asks of a download: view-only staff get the CSV
    from a plain link; staff without it get a 403 and no body."""
    f.IssueFactory(run=blocked)
    if download == "planned-archives":
        url = reverse("admin:syncs_syncrun_planned_archives_csv", args=[blocked.pk])
        page = admin_url(SyncRun, "change", blocked.pk)
    else:
        url = reverse("admin:syncs_issue_csv") + f"?run={blocked.pk}"
        page = admin_url(Issue, "changelist") + f"?run={blocked.pk}"
    client = logged_in(client, staff(VIEW_ONLY))
    assert url.replace("&", "&amp;") in client.get(page).content.decode()
    response = client.get(url)
    assert response["Content-Type"].startswith("text/csv")
    assert b"".join(response.streaming_content).count(b"\n") >= 2

    other = f.UserFactory(is_staff=True)
    other.user_permissions.set(Permission.objects.filter(codename="view_syncconfig"))
    response = logged_in(client, other).get(url)
    assert response.status_code == 403
    assert response.get("Content-Type", "").startswith("text/html")


# The upload page.


@pytest.fixture
def _var(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"


def _files(district, tmp_path):
    folder = district.write(tmp_path / "export")
    return [SimpleUploadedFile(p.name, p.read_bytes()) for p in sorted(folder.glob("*.csv"))]


@pytest.mark.django_db
@pytest.mark.parametrize("role", [VIEW_ONLY, CHANGE_ONLY])
def test_upload_page_refuses_staff_without_run_sync(client, config, district, tmp_path, _var, role):
    url = reverse("admin:syncs_syncconfig_upload", args=[config.pk])
    client = logged_in(client, staff(role))
    assert client.get(url).status_code == 403
    assert client.post(url, {"files": _files(district, tmp_path)}).status_code == 403
    assert not SyncRun.objects.exists()
    assert not (tmp_path / "var").exists() or not any((tmp_path / "var").rglob("*.csv"))
    # ... nor does a missing config answer otherwise: nothing is looked up first
    assert client.get(reverse("admin:syncs_syncconfig_upload", args=[999999])).status_code == 403
    change = client.get(admin_url(SyncConfig, "change", config.pk)).content.decode()
    assert url not in change  # no link to a page that refuses


@pytest.mark.django_db
def test_support_staff_upload_and_see_the_link(
    client, config, district, tmp_path, _var, django_capture_on_commit_callbacks
):
    url = reverse("admin:syncs_syncconfig_upload", args=[config.pk])
    client = logged_in(client, staff(SUPPORT))
    assert url in client.get(admin_url(SyncConfig, "change", config.pk)).content.decode()
    assert client.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"files": _files(district, tmp_path)})
    run = SyncRun.objects.get()
    assert response.status_code == 302 and run.status == "succeeded"


# The config's change form.


class _FormFields(HTMLParser):
    """The fields a browser would send from an admin change form, as it renders them."""

    def __init__(self, form_id: str):
        super().__init__()
        self.form_id, self.inside, self.data = form_id, False, {}
        self.select = self.textarea = None

    def _add(self, name, value):
        self.data.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside or "name" not in a and tag in ("input", "select", "textarea"):
            return
        if tag == "input":
            kind = a.get("type", "text")
            if kind in ("submit", "button", "file", "image", "reset"):
                return
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self._add(a["name"], a.get("value", "on"))
                return
            self._add(a["name"], a.get("value", ""))
        elif tag == "textarea":
            self.textarea = a["name"]
            self._add(self.textarea, "")
        elif tag == "select":
            self.select = (a["name"], "multiple" in a, [])
        elif tag == "option" and self.select and "selected" in a:
            self.select[2].append(a.get("value", ""))

    def handle_data(self, data):
        if self.textarea:
            self.data[self.textarea][-1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "textarea" and self.textarea:
            value = self.data[self.textarea][-1]
            self.data[self.textarea][-1] = value[1:] if value.startswith("\n") else value
            self.textarea = None
        elif tag == "select" and self.select:
            name, _multiple, chosen = self.select
            for value in chosen:
                self._add(name, value)
            self.select = None


# The management form of the config page's recent-runs inline: read-only, it is not
# part of what a save posts (SyncConfigAdmin.get_inlines).
READ_ONLY_INLINE = re.compile(r"^runs-(TOTAL|INITIAL|MIN_NUM|MAX_NUM)_FORMS$")


def form_fields(response, model) -> dict[str, list[str]]:
    parser = _FormFields(f"{model._meta.model_name}_form")
    parser.feed(response.content.decode())
    return {k: v for k, v in parser.data.items() if not READ_ONLY_INLINE.match(k)}


def post_form(client, url, model, **changes):
    data = form_fields(client.get(url), model)
    data.update({k: v if isinstance(v, list) else [v] for k, v in changes.items()})
    data = {k: v for k, v in data.items() if v != [None]}
    return client.post(url, {**data, "_save": "Save"})


# What only those who manage credentials change, on an SFTP config's page: the page
# holds its own source kind's fields only (syncs.sources.REGISTRY).
LOCKED = {
    "organization",
    "source_kind",
    "format",
    "sftp_host",
    "sftp_port",
    "sftp_username",
    "sftp_remote_dir",
    "sftp_host_key",
    "school_ids",
}
SFTP_SECRETS = {"sftp_password", "sftp_private_key"}
# What staff who may change a config (but not manage credentials) change.
FREE = set(access.STAFF_CONFIG_FIELDS)


@pytest.fixture
def sftp_like(config):
    config.source_kind = SourceKind.SFTP
    config.sftp_host, config.sftp_username = "sftp.district.example", "district"
    config.sftp_password = "s3cret-password"
    config.sftp_host_key = sftp_client.fingerprint(new_key()[0])
    config.school_ids = ["0001"]
    config.save()
    return config


@pytest.mark.django_db
def test_view_only_staff_cannot_change_a_config(client, sftp_like):
    url = admin_url(SyncConfig, "change", sftp_like.pk)
    client = logged_in(client, staff(VIEW_ONLY))
    page = client.get(url)
    assert page.status_code == 200 and form_fields(page, SyncConfig).keys() <= {
        "csrfmiddlewaretoken"
    }
    response = client.post(url, {"name": "renamed", "deletion_threshold": "99", "_save": "Save"})
    assert response.status_code == 403
    sftp_like.refresh_from_db()
    assert (sftp_like.name, sftp_like.deletion_threshold) == ("Local files", 10)


@pytest.mark.django_db
def test_change_only_staff_change_the_schedule_but_never_the_source_or_credentials(
    client, sftp_like
):
    url = admin_url(SyncConfig, "change", sftp_like.pk)
    client = logged_in(client, staff(CHANGE_ONLY))
    page = client.get(url)
    fields = {n for n in form_fields(page, SyncConfig) if not n.startswith("initial-")}
    fields -= {"csrfmiddlewaretoken"}
    assert fields == FREE
    text = page.content.decode()
    assert "SFTP password: set; SFTP private key: not set" in text
    assert "s3cret-password" not in text

    other_org = f.OrganizationFactory()
    response = post_form(
        client,
        url,
        SyncConfig,
        name="Renamed",
        deletion_threshold="25",
        time_zone="America/Chicago",
        # none of these are on the form: a crafted POST changes nothing
        organization=str(other_org.pk),
        source_kind="local_files",
        path="/etc",
        sftp_host="evil.example",
        sftp_password="attacker",
        clear_sftp_password="on",
        api_token="attacker",
        school_ids='["9999"]',
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    sftp_like.refresh_from_db()
    assert (sftp_like.name, sftp_like.deletion_threshold, sftp_like.time_zone) == (
        "Renamed",
        25,
        "America/Chicago",
    )
    assert sftp_like.organization_id != other_org.pk
    assert (sftp_like.source_kind, sftp_like.path, sftp_like.sftp_host) == (
        "sftp",
        sftp_like.path,
        "sftp.district.example",
    )
    assert sftp_like.path != "/etc"
    assert (sftp_like.sftp_password, sftp_like.api_token) == ("s3cret-password", "")
    assert sftp_like.school_ids == ["0001"]


@pytest.mark.django_db
def test_support_staff_manage_source_and_credentials(client, sftp_like):
    url = admin_url(SyncConfig, "change", sftp_like.pk)
    client = logged_in(client, staff(SUPPORT))
    page = client.get(url)
    fields = {n for n in form_fields(page, SyncConfig) if not n.startswith("initial-")}
    assert fields - {"csrfmiddlewaretoken"} == LOCKED | FREE | SFTP_SECRETS
    assert all(f'name="clear_{name}"' in page.content.decode() for name in SFTP_SECRETS)
    response = post_form(
        client, url, SyncConfig, sftp_host="sftp2.district.example", sftp_password="new one"
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    sftp_like.refresh_from_db()
    assert (sftp_like.sftp_host, sftp_like.sftp_password) == ("sftp2.district.example", "new one")


@pytest.mark.django_db
def test_only_those_who_manage_credentials_add_a_config(client, org):
    url = admin_url(SyncConfig, "add")
    assert logged_in(client, staff(CHANGE_ONLY)).get(url).status_code == 403
    user = staff(CHANGE_ONLY)
    user.user_permissions.add(Permission.objects.get(codename="add_syncconfig"))
    assert logged_in(client, user).get(url).status_code == 403
    assert logged_in(client, staff(SUPERUSER)).get(url).status_code == 200


# Accounts: support staff look after district users, never staff accounts.


@pytest.mark.django_db
def test_support_staff_cannot_make_anyone_staff_or_superuser(client):
    support = staff(SUPPORT)
    district_user = f.UserFactory(first_name="Ann")
    client = logged_in(client, support)
    url = admin_url(User, "change", district_user.pk)
    response = post_form(
        client, url, User, first_name="Anne", is_staff="on", is_superuser="on", groups=["1"]
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    district_user.refresh_from_db()
    assert district_user.first_name == "Anne"
    assert not (district_user.is_staff or district_user.is_superuser)
    assert not district_user.groups.exists()

    own = admin_url(User, "change", support.pk)
    assert client.post(own, {"is_superuser": "on", "username": support.username}).status_code == 403
    root = staff(SUPERUSER)
    password = reverse("admin:auth_user_password_change", args=[root.pk])
    assert client.get(password).status_code == 403
    support.refresh_from_db()
    assert not support.is_superuser


@pytest.mark.django_db
def test_support_staff_add_and_remove_memberships(client, org):
    district_user = f.UserFactory()
    client = logged_in(client, staff(SUPPORT))
    response = post_form(
        client,
        admin_url(Membership, "add"),
        Membership,
        user=str(district_user.pk),
        organization=str(org.pk),
        role="district_admin",
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert district_user.memberships.get().organization == org


# The Support group.


def call(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def _group_permissions() -> list[tuple[str, str]]:
    group = Group.objects.get(name=GROUP_NAME)
    return sorted(group.permissions.values_list("content_type__app_label", "codename"))


def _wanted() -> set[str]:
    from django.apps import apps

    views = {
        f"{label}.view_{model._meta.model_name}"
        for label in ("accounts", "rostering", "syncs", "notify")
        for model in apps.get_app_config(label).get_models()
    }
    return views | {
        "syncs.change_syncconfig",
        "syncs.run_sync",
        "syncs.approve_archives",
        "syncs.test_connection",
        "syncs.manage_credentials",
        "accounts.add_membership",
        "accounts.change_membership",
        "accounts.delete_membership",
        "accounts.add_user",
        "accounts.change_user",
        "notify.add_webhookendpoint",
        "notify.change_webhookendpoint",
        "notify.delete_webhookendpoint",
        "notify.send_test_event",
        "notify.add_configwatch",
        "notify.change_configwatch",
    }


@pytest.mark.django_db
def test_setup_support_group_twice_changes_nothing():
    first = call("setup_support_group")
    held = _group_permissions()
    assert first.strip() == f"Support group: created with {len(held)} permission(s)"
    assert {f"{a}.{c}" for a, c in held} == _wanted()
    rows = Group.permissions.through.objects.count()

    second = call("setup_support_group")
    assert second.strip() == f"Support group: already holds its {len(held)} permission(s)"
    assert _group_permissions() == held
    assert Group.objects.filter(name=GROUP_NAME).count() == 1
    assert Group.permissions.through.objects.count() == rows


@pytest.mark.django_db
def test_setup_support_group_adds_what_a_later_release_lists_and_keeps_hand_grants():
    support_group_setup()
    group = Group.objects.get(name=GROUP_NAME)
    # As if set up by an older release, then given a permission by hand.
    group.permissions.remove(Permission.objects.get(codename="approve_archives"))
    group.permissions.add(Permission.objects.get(codename="add_organization"))
    out = json.loads(call("setup_support_group", "--json"))["support_group"]
    assert (out["created"], out["added"]) == (False, ["syncs.approve_archives"])
    assert out["extra"] == ["rostering.add_organization"]
    held = {f"{a}.{c}" for a, c in _group_permissions()}
    assert held == _wanted() | {"rostering.add_organization"}


@pytest.mark.django_db
def test_setup_schedules_sets_up_the_support_group_too():
    out = call("setup_schedules")
    assert "Support group: created with" in out
    assert {f"{a}.{c}" for a, c in _group_permissions()} == _wanted()
    again = json.loads(call("setup_schedules", "--json"))
    assert again["support_group"]["added"] == [] and not again["support_group"]["created"]


# Canaries: no stored secret ever comes back, on any page, in any log line or diagnostic.


def _canary(field: str) -> str:
    return f"CANARY-{field}-{uuid.uuid4().hex}"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def canaries(config) -> dict[str, str]:
    values = {name: _canary(name) for name in SECRETS}
    values["sftp_private_key"] = (
        "-----BEGIN OPENSSH PRIVATE KEY-----\n"
        f"{values['sftp_private_key']}\n"
        "-----END OPENSSH PRIVATE KEY-----\n"
    )
    return values


def _leaks(text: str, canaries: dict[str, str]) -> list[str]:
    found = []
    for name, value in canaries.items():
        needles = [line for line in value.splitlines() if "CANARY" in line] or [value]
        found += [name for needle in needles if needle in text]
    return found


@pytest.fixture
def all_logs(caplog):
    """Every log record at DEBUG, from loggers that do not propagate too."""
    caplog.set_level(logging.DEBUG)
    loggers = [
        lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    for lg in loggers:
        if lg.level > logging.DEBUG:
            caplog.set_level(logging.DEBUG, logger=lg.name)
    lonely = [lg for lg in loggers if not lg.propagate]
    for lg in lonely:
        lg.addHandler(caplog.handler)
    yield caplog
    for lg in lonely:
        lg.removeHandler(caplog.handler)


def _logged(caplog) -> str:
    return caplog.text + "\n".join(repr(vars(r)) for r in caplog.records)


@pytest.fixture
def http_rejecting():
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.expect_request(re.compile(r"^/")).respond_with_data(
        '{"error": "invalid_client"}', status=401, content_type="application/json"
    )
    server.start()
    try:
        yield server
    finally:
        server.clear()
        if server.is_running():
            server.stop()


SOURCES = {
    # every secret set: the key is read (and refused) before connecting
    "sftp-every-secret": {},
    # the password, to a closed port
    "sftp-password-closed-port": {"sftp_private_key": ""},
    # the password and a real key, to an SFTP server that refuses both
    "sftp-rejected": {"sftp_private_key": "REAL"},
    "clever-api-rejected": {"source_kind": SourceKind.CLEVER_API},
    "oneroster-oauth1-rejected": {"source_kind": SourceKind.ONEROSTER_API, "oauth_version": "1"},
    "oneroster-oauth2-rejected": {"source_kind": SourceKind.ONEROSTER_API, "oauth_version": "2"},
}


@pytest.fixture(params=list(SOURCES))
def canary_config(request, config, canaries, tmp_path):
    changes = dict(SOURCES[request.param])
    secrets = dict(canaries)
    if changes.get("sftp_private_key") == "REAL":
        key_text = new_key("ed25519")[1]
        secrets["sftp_private_key"] = key_text  # a real key this server never accepted
        canaries["sftp_private_key"] = "\n".join(key_text.splitlines()[1:-1])
        changes.pop("sftp_private_key")
    elif "sftp_private_key" in changes:
        secrets["sftp_private_key"] = changes.pop("sftp_private_key")
        canaries.pop("sftp_private_key")
    config.source_kind = changes.pop("source_kind", SourceKind.SFTP)
    for name, value in {**secrets, **changes}.items():
        setattr(config, name, value)
    config.oauth_client_id = "rollcall"
    config.sftp_username = "district"
    if request.param == "sftp-rejected":
        stub = request.getfixturevalue("server")
        config.sftp_port = stub.port
        config.sftp_host_key = sftp_client.fingerprint(request.getfixturevalue("host_key"))
    else:
        config.sftp_port = _closed_port()
        config.sftp_host_key = sftp_client.fingerprint(new_key()[0])
    config.sftp_host = "127.0.0.1"
    if config.source_kind != SourceKind.SFTP:
        server = request.getfixturevalue("http_rejecting")
        config.api_url = f"http://127.0.0.1:{server.port}"
        config.oauth_token_url = f"http://127.0.0.1:{server.port}/token"
    config.save()
    return config


@pytest.mark.django_db
def test_no_log_line_message_or_diagnostic_holds_a_secret(
    client, canary_config, canaries, all_logs, django_capture_on_commit_callbacks
):
    client = logged_in(client, staff(SUPPORT))
    changelist = admin_url(SyncConfig, "changelist")
    tested = client.post(
        changelist,
        {"action": "test_connection", "_selected_action": [canary_config.pk]},
        follow=True,
    )
    shown = messages_of(tested)
    assert len(shown) == 1 and "error" in [m.level_tag for m in tested.context["messages"]]
    with django_capture_on_commit_callbacks(execute=True):
        queued = client.post(
            changelist, {"action": "run_now", "_selected_action": [canary_config.pk]}, follow=True
        )
    run = SyncRun.objects.get(config=canary_config)
    assert run.status == "failed", run.message
    # ... and the nightly pre-flight, whose verdict the config list shows
    assert sync_configs_preflight(now=local(2026, 11, 24, 20, 0)) == [canary_config.pk]
    canary_config.refresh_from_db()
    assert canary_config.preflight_ok is False and canary_config.preflight_message
    pages = [
        tested.content.decode(),
        queued.content.decode(),
        client.get(admin_url(SyncRun, "change", run.pk)).content.decode(),
        client.get(admin_url(SyncConfig, "change", canary_config.pk)).content.decode(),
        client.get(admin_url(SyncRun, "changelist")).content.decode(),
        client.get(admin_url(SyncConfig, "changelist")).content.decode(),
        client.get(admin_url(Issue, "changelist")).content.decode(),
    ]
    records = [
        run.message,
        json.dumps(run.diagnostics),
        canary_config.preflight_message,
        *run_issue_queryset(run).values_list("message", flat=True),
        *(json.dumps(v, default=str) for v in run_issue_queryset(run).values()),
    ]
    assert _leaks(_logged(all_logs), canaries) == []
    assert _leaks("\n".join(shown + records), canaries) == []
    assert _leaks("\n".join(pages), canaries) == []
    assert all_logs.records  # the capture did capture


def _pages(client, user: User, config: SyncConfig, run: SyncRun) -> list[str]:
    """Every admin page `user` can open: the index and app pages, every registered model's
    list, change, history and add pages, the config's upload page and the run's page."""
    request = request_as(user)
    urls = [reverse("admin:index")]
    for model, model_admin in admin.site._registry.items():
        if not model_admin.has_module_permission(request):
            continue
        urls.append(reverse("admin:app_list", args=[model._meta.app_label]))
        if not model_admin.has_view_or_change_permission(request):
            continue
        urls.append(admin_url(model, "changelist"))
        if model_admin.has_add_permission(request):
            urls.append(admin_url(model, "add"))
        objects = list(model_admin.get_queryset(request).order_by("pk")[:3])
        if model is SyncConfig:
            objects.append(config)
        elif model is SyncRun:
            objects.append(run)
        for obj in objects:
            urls += [admin_url(model, "change", obj.pk), admin_url(model, "history", obj.pk)]
            if model_admin.has_delete_permission(request, obj):
                urls.append(admin_url(model, "delete", obj.pk))
    urls.append(reverse("admin:syncs_syncconfig_upload", args=[config.pk]))
    try:
        urls.append(reverse("admin:syncs_syncrun_change", args=[run.pk]))
    except NoReverseMatch:
        pass
    bodies = []
    for url in dict.fromkeys(urls):
        response = client.get(url)
        assert response.status_code in (200, 403), (url, response.status_code)
        bodies.append(response.content.decode())
    return bodies


@pytest.mark.django_db
@pytest.mark.parametrize("role", [VIEW_ONLY, CHANGE_ONLY, SUPPORT, SUPERUSER])
def test_no_admin_page_shows_a_stored_secret(client, config, canaries, one_of_each, role):
    # The secrets are set as support staff set them: through the change form, which
    # holds one source kind's fields at a time (choose the kind, save, then fill it in).
    manager = logged_in(client, staff(SUPPORT))
    url = admin_url(SyncConfig, "change", config.pk)
    steps = [
        {"source_kind": "clever_api"},
        {"api_token": canaries["api_token"]},
        {"source_kind": "oneroster_api"},
        {"oauth_client_secret": canaries["oauth_client_secret"]},
        {"source_kind": "sftp"},
        {
            "sftp_host": "127.0.0.1",
            "sftp_port": str(_closed_port()),
            "sftp_username": "district",
            "sftp_host_key": sftp_client.fingerprint(new_key()[0]),
            "sftp_password": canaries["sftp_password"],
        },
    ]
    for changes in steps:
        response = post_form(manager, url, SyncConfig, **changes)
        assert response.status_code == 302, response.content.decode()[:3000]
    # The form refuses a key it cannot read, so the canary key is stored directly.
    config.refresh_from_db()
    config.sftp_private_key = canaries["sftp_private_key"]
    config.save()
    assert {name: getattr(config, name) for name in SECRETS} == canaries
    run = sync_run_execute(run=sync_run_create(config=config), now=NOW)
    assert run.status == "failed"

    user = staff(role)
    bodies = _pages(logged_in(client, user), user, config, run)
    assert len(bodies) > 20
    assert _leaks("\n".join(bodies), canaries) == []
