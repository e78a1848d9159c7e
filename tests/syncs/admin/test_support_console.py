"""The support console (issue 13, item 5): the run page opens with the explainer, rule T5
is approved once through a preview, downloads are links, and the config page holds its
own source kind's fields, its school IDs as a list, its recent runs and Test connection.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from html import unescape

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rostering.models import Person
from syncs import access
from syncs.admin_forms import SchoolIdsField
from syncs.models import PlannedArchive, SourceKind, SyncConfig, SyncRun
from syncs.services.support import GROUP_NAME, support_group_setup
from syncs.sources import ConnectionReport, source_for
from tests import factories as f
from tests.api.worlds import make_world
from tests.syncs.admin.test_permissions import VIEW_ONLY, form_fields, staff


@pytest.fixture
def world(db, tmp_path):
    """Alpha synced, then synced without Roosevelt Middle's people at 10%: the latest run
    failed `threshold` with 3 archives held (2 students, 1 teacher, all at alpha-0456)."""
    return make_world(tmp_path)


@pytest.fixture
def support(db):
    support_group_setup()
    user = f.UserFactory(is_staff=True, first_name="Ana", last_name="Ruiz")
    user.groups.add(Group.objects.get(name=GROUP_NAME))
    return user


def text_of(response) -> str:
    """The page's text as a reader sees it: no tags, runs of spaces as one."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def run_page(client, run) -> str:
    response = client.get(reverse("admin:syncs_syncrun_change", args=[run.pk]))
    assert response.status_code == 200
    return response.content.decode()


def archived(run) -> int:
    ids = PlannedArchive.objects.filter(run=run).values_list("record_id", flat=True)
    return Person.objects.filter(pk__in=list(ids), archived_at__isnull=False).count()


# ---------------------------------------------------------------- the run page


@pytest.mark.django_db
def test_run_page_opens_with_the_explainer_and_the_dropped_school_first(client, world, support):
    page = run_page(_as(client, support), world["run"])
    explainer = page.index('id="explainer"')
    schools = page.index('id="schools"')
    issues = page.index('id="issues"')
    planned = page.index('id="planned"')
    figures = page.index("Figures")
    assert explainer < schools < issues < planned < figures

    box = page[explainer:schools]
    headline = unescape(re.search(r'<p class="headline">(.*?)</p>', box).group(1))
    assert headline.startswith("School alpha-0456 (Alpha Roosevelt Middle)")
    # for a threshold failure the concentration per school comes before the rest
    assert box.index('id="explainer-schools"') < box.index("What happened")
    rows = re.findall(r"<tr><td>(.*?)</td>", box[box.index('id="explainer-schools"') :])
    assert rows[0] == "alpha-0456 · Alpha Roosevelt Middle"
    assert "Evidence" in box and "What to do next" in box
    assert 'href="/help/threshold/"' in box

    # the schools: the one whose records would go first, though its ID sorts second
    summaries = page[schools:issues]
    order = re.findall(r"<tr><td>(alpha-\d+)", summaries)
    assert order == ["alpha-0456", "alpha-0123"]
    status = re.search(r'<strong id="run-status">(.*?)</strong>', page).group(1)
    assert status.startswith("Failed: deletion threshold exceeded")
    # started at the tests' fixed clock, in the config's zone, to the minute
    assert "2026-11-23 19:00 PST" in page


@pytest.mark.django_db
def test_run_page_shows_timings_as_a_table_and_messages_without_backticks(client, support):
    config = f.SyncConfigFactory(time_zone="America/New_York")
    message = "users.csv: unknown header `frist_name`: did you mean `first_name`?"
    run = f.SyncRunFactory(
        config=config,
        status="failed",
        failure_reason="invalid_files",
        message=message,
        started_at=datetime(2026, 11, 24, 4, 5, tzinfo=UTC),
        finished_at=datetime(2026, 11, 24, 4, 6, tzinfo=UTC),
        timings={"parse": 1.25, "fetch": 0.5, "apply.people": 0.01, "apply": 0.2},
        diagnostics={
            "failure": {"file": "users.csv", "header": "frist_name", "suggestion": "first_name"}
        },
    )
    f.IssueFactory(run=run, message="Header `Email ` was read as `email`.", hint="Rename `Email `.")
    client = _as(client, support)
    page = run_page(client, run)
    assert "`" not in page
    assert "<code>frist_name</code>" in page and "<code>first_name</code>" in page
    timings = re.search(r"<th scope=\"col\">stage</th>.*?</table>", page, re.S).group(0)
    stages = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td></tr>", timings)
    assert stages == [
        ("fetch", "0.500"),
        ("parse", "1.250"),
        ("apply", "0.200"),
        ("apply › people", "0.010"),
    ]
    assert '"parse"' not in page  # no JSON
    assert "2026-11-23 23:05 EST" in page and "2026-11-23 23:06 EST" in page

    issues = client.get(reverse("admin:syncs_issue_changelist") + f"?run={run.pk}")
    assert "`" not in issues.content.decode()
    assert "<code>Email </code>" in issues.content.decode()


@pytest.mark.django_db
def test_raw_diagnostics_are_a_link_for_those_who_may_view_runs(client, support):
    run = f.SyncRunFactory(diagnostics={"files": {"users.csv": 12}})
    url = reverse("admin:syncs_syncrun_diagnostics", args=[run.pk])
    assert url in run_page(_as(client, support), run)
    response = client.get(url)
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"files": {"users.csv": 12}}
    nobody = f.UserFactory(is_staff=True)
    assert _as(client, nobody).get(url).status_code == 403


# ---------------------------------------------------------------- rule T5


@pytest.mark.django_db
def test_T5_preview_refuses_a_wrong_count_and_approves_once_with_the_right_one(
    client, world, support
):
    run = world["run"]
    client = _as(client, support)
    url = reverse("admin:syncs_syncrun_approve", args=[run.pk])
    assert url in run_page(client, run)

    preview = client.get(url)
    assert preview.status_code == 200
    shown = text_of(preview)
    assert "students 2 teachers 1 All 3" in shown  # by kind
    assert "alpha-0456 · Alpha Roosevelt Middle" in shown  # by school
    csv_url = reverse("admin:syncs_syncrun_planned_archives_csv", args=[run.pk])
    assert csv_url in preview.content.decode()

    for wrong in ("2", "30", "three", ""):
        refused = client.post(url, {"count": wrong})
        assert refused.status_code == 400
        assert "Nothing was archived" in text_of(refused) or wrong == ""
        run.refresh_from_db()
        assert run.archives_approved_at is None and archived(run) == 0

    done = client.post(url, {"count": "3"})
    assert done.status_code == 302 and done["Location"].endswith(f"/syncrun/{run.pk}/change/")
    run.refresh_from_db()
    assert run.archives_approved_by == support and archived(run) == 3

    again = client.post(url, {"count": "3"})
    assert again.status_code == 409 and "Nothing was archived" in text_of(again)
    run.refresh_from_db()
    assert run.archives_approved_by == support and archived(run) == 3

    page = run_page(client, run)
    status = re.search(r'id="run-status">(.*?)<', page).group(1)
    assert re.fullmatch(
        r"Approved by Ana Ruiz at 2\d{3}-\d\d-\d\d \d\d:\d\d P[SD]T: 3 archived", status
    )
    assert url not in page  # nothing left to approve


@pytest.mark.django_db
def test_T5_preview_lists_the_planned_archives_a_page_at_a_time(client, support):
    run = f.SyncRunFactory(status="failed", failure_reason="threshold")
    f.PlannedArchiveFactory.create_batch(60, run=run, kind="students", school_sis_id="0123")
    client = _as(client, support)
    url = reverse("admin:syncs_syncrun_approve", args=[run.pk])
    first, second = client.get(url), client.get(url + "?p=2")
    rows = [
        len(re.findall(r"<tr><td>students</td><td><code>", r.content.decode()))
        for r in (first, second)
    ]
    assert rows == [50, 10]
    assert "Page 1 of 2" in text_of(first)


@pytest.mark.django_db
def test_T6_preview_approves_one_held_school_and_leaves_the_others_held(client, support):
    run = f.SyncRunFactory(status="failed", failure_reason="threshold")
    f.PlannedArchiveFactory.create_batch(3, run=run, kind="students", school_sis_id="0123")
    f.PlannedArchiveFactory.create_batch(2, run=run, kind="teachers", school_sis_id="0456")
    client = _as(client, support)
    url = reverse("admin:syncs_syncrun_approve", args=[run.pk])
    assert 'href="?school=0456"' in client.get(url).content.decode()

    one = url + "?school=0456"
    assert client.post(one, {"count": "5"}).status_code == 400  # all held, not this school's
    assert client.post(one, {"count": "2"}).status_code == 302
    run.refresh_from_db()
    assert [(a["school"], a["records"]) for a in run.diagnostics["approvals"]] == [("0456", 2)]
    assert run.archives_approved_at is None  # 0123's are still held

    rest = client.get(url)
    assert "students 3 All 3" in text_of(rest) and "0456" not in text_of(rest).split("By school")[1]
    assert client.post(one, {"count": "2"}).status_code == 409  # approved already
    page = run_page(client, run)
    assert "(3 held)" in page and "(2 held)" not in page


@pytest.mark.django_db
def test_view_only_staff_reach_neither_the_approval_post_nor_test_connection(client, world):
    client = _as(client, staff(VIEW_ONLY))
    run, config = world["run"], world["config"]
    approve = reverse("admin:syncs_syncrun_approve", args=[run.pk])
    test = reverse("admin:syncs_syncconfig_test_connection", args=[config.pk])
    assert client.post(approve, {"count": "3"}).status_code == 403
    assert client.post(test).status_code == 403
    run.refresh_from_db()
    assert run.archives_approved_at is None and archived(run) == 0
    # ... and no admin action is theirs to run either
    changelist = client.get(reverse("admin:syncs_syncrun_changelist")).content.decode()
    assert 'name="action"' not in changelist


# ---------------------------------------------------------------- the issue list


@pytest.mark.django_db
def test_issue_list_csv_holds_exactly_the_filtered_rows_formula_safe(client, support):
    org = f.OrganizationFactory(slug="alpha")
    run = f.SyncRunFactory(config=f.SyncConfigFactory(organization=org))
    other = f.SyncRunFactory(config=run.config)
    kept = [
        f.IssueFactory(run=run, severity="error", name='=HYPERLINK("http://x")'),
        f.IssueFactory(run=run, severity="error", school_sis_id="0123"),
    ]
    f.IssueFactory(run=run, severity="alert")  # filtered out by severity
    f.IssueFactory(run=other, severity="error")  # another run
    client = _as(client, support)
    query = f"?run={run.pk}&severity__exact=error"

    listing = client.get(reverse("admin:syncs_issue_changelist") + query)
    shown = text_of(listing)
    assert re.search(rf"Showing only:.*Severity: Error.*Run: Run #{run.pk}", shown, re.S)
    csv_url = reverse("admin:syncs_issue_csv") + query
    assert csv_url.replace("&", "&amp;") in listing.content.decode()
    assert "Hint" in shown and "School" in shown and "First seen" in shown

    response = client.get(csv_url)
    assert response["Content-Disposition"] == (
        f'attachment; filename="issues-alpha-run-{run.pk}-error.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert sorted(r["source_id"] for r in rows) == sorted(i.source_id for i in kept)
    assert {r["name"] for r in rows} >= {'\'=HYPERLINK("http://x")'}


# ---------------------------------------------------------------- the config page


@pytest.mark.django_db
@pytest.mark.parametrize("kind", list(SourceKind))
def test_config_page_holds_only_its_source_kinds_fields(client, support, kind):
    config = f.SyncConfigFactory(source_kind=kind)
    url = reverse("admin:syncs_syncconfig_change", args=[config.pk])
    page = _as(client, support).get(url)
    fields = {n for n in form_fields(page, SyncConfig) if not n.startswith(("initial-", "clear_"))}
    source = source_for(kind)
    own = set(source.fields)
    general = {"organization", "name", "source_kind", "school_ids"}
    assert fields - {"csrfmiddlewaretoken"} == own | general | set(access.STAFF_CONFIG_FIELDS)
    every = {name for other in SourceKind for name in source_for(other).fields}
    for name in every - own:
        assert f'name="{name}"' not in page.content.decode(), name
    assert f"Source: {SourceKind(kind).label}" in text_of(page)


@pytest.mark.django_db
def test_school_ids_round_trip_as_a_list_keeping_leading_zeros(client, support):
    config = f.SyncConfigFactory(school_ids=["0123"])
    url = reverse("admin:syncs_syncconfig_change", args=[config.pk])
    client = _as(client, support)
    page = client.get(url).content.decode()
    assert re.search(r'<textarea name="school_ids"[^>]*>\s*0123</textarea>', page)

    data = form_fields(client.get(url), SyncConfig)
    data.update({"school_ids": ["0123, 0456\n007\n'0089'\n0123"], "_save": ["Save"]})
    assert client.post(url, data).status_code == 302
    config.refresh_from_db()
    assert config.school_ids == ["0123", "0456", "007", "0089"]
    again = client.get(url).content.decode()
    assert re.search(r'<textarea name="school_ids"[^>]*>\s*0123\n0456\n007\n0089</textarea>', again)

    for bad, said in (
        ("01 23", "has a space inside it"),
        ("[123]", "numbers lose their leading zeros"),
    ):
        data.update({"school_ids": [bad]})
        refused = client.post(url, data)
        assert refused.status_code == 200 and said in text_of(refused)
        config.refresh_from_db()
        assert config.school_ids == ["0123", "0456", "007", "0089"]


def test_school_ids_field_reads_lists_as_people_write_them():
    field = SchoolIdsField(required=False)
    assert field.clean("") == []
    assert field.clean("0001,0002 ,\r\n 0003") == ["0001", "0002", "0003"]
    assert field.clean('["0001", "0002"]') == ["0001", "0002"]
    assert field.prepare_value(["0001", "0002"]) == "0001\n0002"
    for bad in ("0001 0002", "[1, 2]", "{0001}", '["0001"'):
        with pytest.raises(Exception, match="school ID|space|leading zeros"):
            field.clean(bad)


@pytest.mark.django_db
def test_recent_runs_inline_shows_the_last_ten_in_a_bounded_number_of_queries(client, support):
    config = f.SyncConfigFactory()
    url = reverse("admin:syncs_syncconfig_change", args=[config.pk])
    client = _as(client, support)

    def load():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code == 200
        return len(ctx.captured_queries), response.content.decode()

    f.SyncRunFactory.create_batch(3, config=config)
    load()  # warm-up
    few, _ = load()
    runs = f.SyncRunFactory.create_batch(12, config=config)
    approved = runs[-1]
    approved.failure_reason, approved.status = "threshold", "failed"
    approved.archives_approved_by, approved.archives_approved_at = support, approved.created_at
    approved.save()
    many, page = load()
    assert few == many
    linked = re.findall(r'href="/admin/syncs/syncrun/(\d+)/change/">(?:Dry run|Run) #', page)
    newest = SyncRun.objects.filter(config=config).order_by("-created_at", "-pk")[:10]
    assert [int(pk) for pk in linked] == [r.pk for r in newest]
    assert "Approved by Ana Ruiz" in page


@pytest.mark.django_db
def test_test_connection_is_a_button_that_needs_the_permission(client, support, monkeypatch):
    calls = []

    def connect(*, config):
        calls.append(config)
        return ConnectionReport(ok=True, message="Connected; 5 files found.")

    monkeypatch.setattr("syncs.admin_config.sync_config_test_connection", connect)
    config = f.SyncConfigFactory(source_kind=SourceKind.SFTP)
    page = reverse("admin:syncs_syncconfig_change", args=[config.pk])
    url = reverse("admin:syncs_syncconfig_test_connection", args=[config.pk])

    viewer = _as(client.__class__(), staff(VIEW_ONLY))
    assert url not in viewer.get(page).content.decode()
    assert viewer.post(url).status_code == 403 and calls == []

    client = _as(client, support)
    body = client.get(page).content.decode()
    form = re.search(rf'<form method="post" action="{url}">(.*?)</form>', body, re.S)
    assert form and "csrfmiddlewaretoken" in form.group(1)
    assert client.get(url).status_code == 405 and calls == []
    done = client.post(url, follow=True)
    assert calls == [config]
    assert [m.message for m in done.context["messages"]] == [f"{config}: Connected; 5 files found."]
    assert "Last pre-flight" in text_of(done)


def _as(client, user):
    client.force_login(user)
    return client
