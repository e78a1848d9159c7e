"""The sync tab in one response: per config and per school, in a fixed number of queries."""

from __future__ import annotations

from datetime import UTC, datetime, time

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api.selectors import next_run_at
from syncs.models import SourceKind
from tests.api.conftest import client_for
from tests.factories import (
    IssueFactory,
    MembershipFactory,
    OrganizationFactory,
    SchoolFactory,
    SchoolSummaryFactory,
    SyncConfigFactory,
    SyncRunFactory,
)


def test_sync_tab_shows_each_config_and_school(world):
    client = client_for(world.district_admin)
    tab = client.get(f"/api/v1/organizations/{world.org.pk}/sync-tab/").json()
    assert tab["organization"]["slug"] == "demo"
    [config] = tab["configs"]
    assert config["id"] == world.config.pk and config["enabled"] is True
    assert config["last_run"]["id"] == world.blocked_run.pk
    assert config["last_run"]["status"] == "failed"
    assert config["last_run"]["failure_reason"] == "threshold"
    assert config["last_run"]["finished_at"]
    assert config["active_run"] is None
    assert config["next_run_at"]
    by_sis = {s["sis_id"]: s for s in tab["schools"]}
    lincoln = by_sis["0123"]
    # Rule T6: only the school that left the files was held; Lincoln's changes applied.
    assert lincoln["status"] == "succeeded" and lincoln["run"] == world.blocked_run.pk
    assert lincoln["errors_by_code"] == {"student_dob": 1} and lincoln["errors"] == 1
    assert lincoln["alerts_by_code"] == {}
    assert lincoln["last_success_at"] == world.blocked_run.finished_at.isoformat().replace(
        "+00:00", "Z"
    )
    assert lincoln["issues_url"].endswith(
        f"/api/v1/sync-runs/{world.blocked_run.pk}/issues/?school=0123"
    )
    assert lincoln["issues_csv_url"].endswith(
        f"/api/v1/sync-runs/{world.blocked_run.pk}/issues.csv?school=0123"
    )
    issues = client.get(lincoln["issues_url"]).json()["results"]
    assert [(i["code"], i["school"]) for i in issues] == [("student_dob", "0123")]
    # The school that left the files: its archives are held (T6), so it failed.
    gone = by_sis["0456"]
    assert (gone["status"], gone["run"]) == ("failed", world.blocked_run.pk)
    assert gone["last_success_at"] == world.first_run.finished_at.isoformat().replace("+00:00", "Z")


def test_sync_tab_shows_the_active_run_and_its_progress(world):
    SyncRunFactory(
        config=world.config, status="running", stage="apply", progress_done=5, progress_total=10
    )
    tab = client_for(world.district_admin).get(f"/api/v1/organizations/{world.org.pk}/sync-tab/")
    active = tab.json()["configs"][0]["active_run"]
    assert active["stage"] == "apply" and 0 < active["percent"] < 100


def test_next_run_at_is_the_jittered_start_inside_the_window():
    config = SyncConfigFactory.build(
        pk=7,
        source_kind=SourceKind.LOCAL_FILES,
        window_start=time(23),
        window_end=time(5),
        time_zone="America/Los_Angeles",
    )
    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)  # 04:00 in Los Angeles
    starts = next_run_at(config, now=now)
    # Tonight's window, 23:00-05:00 PST = 07:00-13:00 UTC, in its first half.
    assert (
        datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
        <= starts
        < datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    )
    config.enabled = False
    assert next_run_at(config, now=now) is None
    config.enabled, config.source_kind = True, SourceKind.UPLOAD
    assert next_run_at(config, now=now) is None


def district_with_schools(n: int):
    """A district of `n` schools whose latest run reported errors and alerts in each."""
    org = OrganizationFactory()
    config = SyncConfigFactory(organization=org)
    SyncConfigFactory(organization=org)  # a second config, never run
    success = SyncRunFactory(config=config, status="succeeded", finished_at=timezone.now())
    run = SyncRunFactory(config=config, status="failed", failure_reason="threshold")
    SyncRunFactory(config=config, status="running")
    for i in range(n):
        sis = f"{i:04d}"
        SchoolFactory(organization=org, sis_id=sis)
        SchoolSummaryFactory(run=success, sis_id=sis)
        SchoolSummaryFactory(run=run, sis_id=sis, status="failed")
        IssueFactory(run=run, school_sis_id=sis, code="student_dob")
        IssueFactory(run=run, school_sis_id=sis, code="teacher_email")
        IssueFactory(run=run, school_sis_id=sis, severity="alert", code="device_in_use")
    return org, MembershipFactory(organization=org).user


def test_sync_tab_queries_do_not_grow_with_the_number_of_schools(db):
    counts = {}
    for n in (3, 150):
        org, admin = district_with_schools(n)
        client = client_for(admin)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/api/v1/organizations/{org.pk}/sync-tab/")
        assert response.status_code == 200
        schools = response.json()["schools"]
        assert len(schools) == n
        assert schools[0]["errors_by_code"] == {"student_dob": 1, "teacher_email": 1}
        assert schools[0]["alerts_by_code"] == {"device_in_use": 1}
        assert schools[0]["last_success_at"]
        counts[n] = len(queries)
    assert counts[3] == counts[150], counts
    assert counts[3] <= 12, counts
