"""Rules T6 and U over the API: a run shows the schools it held and the updates it held,
a held school's archives can be approved on their own, and district admins set the
per-school limit, the update guard and the drop alert."""

from __future__ import annotations

from decimal import Decimal

from rostering.models import Person
from syncs.models import PlannedArchive, SchoolSummary, SyncConfig
from tests.api.conftest import client_for


def run_json(client, run) -> dict:
    response = client.get(f"/api/v1/sync-runs/{run.pk}/")
    assert response.status_code == 200
    return response.json()


def approve(client, run, expected_count, school=None):
    body = {"expected_count": expected_count}
    if school is not None:
        body["school"] = school
    return client.post(f"/api/v1/sync-runs/{run.pk}/approve-archives/", body, format="json")


def test_T6_a_run_shows_the_school_it_held(world):
    data = run_json(client_for(world.district_admin), world.blocked_run)
    [held] = data["held"]
    records = PlannedArchive.objects.filter(run=world.blocked_run, school_sis_id="0456").count()
    assert held == {
        "sis_id": "0456",
        "name": "Roosevelt Middle",
        "kinds": held["kinds"],
        "records": records,
        "approved": False,
        "approved_by": None,
        "approved_at": None,
    }
    assert held["kinds"]["students"] == {"active": 2, "planned": 2, "allowed": 0}
    assert data["held_updates"] is None


def test_T6_a_school_admin_sees_only_their_own_held_school(world):
    data = run_json(client_for(world.school_admin), world.blocked_run)  # school 0123
    assert data["held"] == [] and data["held_updates"] is None and data["diagnostics"] is None


def test_T5_approving_one_school_counts_only_its_records(world):
    client = client_for(world.district_admin)
    records = PlannedArchive.objects.filter(run=world.blocked_run, school_sis_id="0456").count()
    wrong = approve(client, world.blocked_run, records + 1, school="0456")
    assert wrong.status_code == 409 and wrong.json()["code"] == "count_mismatch"
    assert wrong.json()["details"] == {"expected_count": records + 1, "planned_count": records}

    response = approve(client, world.blocked_run, records, school="0456")
    assert response.status_code == 200, response.json()
    assert response.json()["archived"] == records
    run = response.json()["run"]
    [held] = run["held"]
    assert held["approved"] is True and held["approved_by"] == world.district_admin.username
    # The only held school: nothing is left, so the run reads approved.
    assert run["archives_approved_by"] == world.district_admin.username
    assert "for school 0456" in run["message"]
    assert Person.objects.filter(archived_at__isnull=False).count() == 4
    summary = SchoolSummary.objects.get(run=world.blocked_run, sis_id="0456")
    assert summary.status == "succeeded" and summary.archived > 0


def test_T5_a_school_that_holds_nothing_cannot_be_approved(world):
    response = approve(client_for(world.district_admin), world.blocked_run, 0, school="0123")
    assert response.status_code == 409
    assert response.json()["code"] == "not_held"
    assert not Person.objects.filter(archived_at__isnull=False).exists()


def test_a_district_admin_sets_the_school_limit_update_guard_and_drop_alert(world):
    client = client_for(world.district_admin)
    response = client.patch(
        f"/api/v1/sync-configs/{world.config.pk}/",
        {"school_threshold": "25", "update_threshold": 75, "drop_alert_percent": 30},
        format="json",
    )
    assert response.status_code == 200, response.json()
    data = response.json()
    assert (data["school_threshold"], data["update_threshold"], data["drop_alert_percent"]) == (
        25,
        75,
        30,
    )
    config = SyncConfig.objects.get(pk=world.config.pk)
    assert config.school_threshold == Decimal("25") and config.update_threshold == Decimal("75")
    off = client.patch(
        f"/api/v1/sync-configs/{world.config.pk}/",
        {"update_threshold": None, "school_threshold": None},
        format="json",
    )
    assert off.status_code == 200 and off.json()["update_threshold"] is None
    assert SyncConfig.objects.get(pk=world.config.pk).school_threshold is None


def test_the_new_limits_are_percentages(world):
    response = client_for(world.district_admin).patch(
        f"/api/v1/sync-configs/{world.config.pk}/", {"drop_alert_percent": 120}, format="json"
    )
    assert response.status_code == 400 and "drop_alert_percent" in response.json()["details"]


def test_T5_a_poller_sees_one_schools_approval(org, sync):
    """Approving one of two held schools leaves archives_approved_at empty, yet the
    run's ETag changes: its counts are part of its version."""
    from tests.factories import MembershipFactory
    from tests.syncs.services.test_holds import ten_school_district, without_school

    d = ten_school_district(students=12)
    sync(d)
    run = sync(without_school(without_school(d, "0003"), "0007"), threshold=10)
    client = client_for(MembershipFactory(organization=org).user)
    url = f"/api/v1/sync-runs/{run.pk}/"
    etag = client.get(url)["ETag"]
    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert approve(client, run, 27, school="0003").status_code == 200
    changed = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    held = {h["sis_id"]: h["approved"] for h in changed.json()["held"]}
    assert held == {"0003": True, "0007": False}
    assert changed.json()["archives_approved_at"] is None
    assert client.get(url, HTTP_IF_NONE_MATCH=changed["ETag"]).status_code == 304
