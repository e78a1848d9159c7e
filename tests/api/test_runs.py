"""Runs over the API: polling with ETags, lists and filters, queueing, and approving a
blocked run's archives (rule T5)."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import ApiToken, Membership
from rostering.models import Person
from syncs.models import SyncRun
from tests.api.conftest import client_for
from tests.factories import SyncRunFactory

AUTH_TABLES = ("accounts_apitoken", "accounts_membership", "django_session", "accounts_user")


def test_run_detail_sends_an_etag_and_answers_304_from_one_query(world):
    client = client_for(world.district_admin)
    url = f"/api/v1/sync-runs/{world.blocked_run.pk}/"
    first = client.get(url)
    etag = first["ETag"]
    assert first.status_code == 200 and etag.startswith('"') and len(etag) == 34
    assert first["Cache-Control"] == "private, no-cache"
    assert {"Authorization", "Cookie"} <= {v.strip() for v in first["Vary"].split(",")}
    with CaptureQueriesContext(connection) as queries:
        again = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag
    # Authentication reads the token (knox) and the caller's reach reads their
    # memberships; answering the 304 itself is one query of the run's version fields.
    own = [q["sql"] for q in queries if not any(t in q["sql"] for t in AUTH_TABLES)]
    assert len(own) == 1, own
    assert "syncs_syncrun" in own[0]
    assert len(queries) == 3, [q["sql"] for q in queries]


def test_the_etag_changes_when_the_run_moves_on(world):
    client = client_for(world.district_admin)
    url = f"/api/v1/sync-runs/{world.blocked_run.pk}/"
    etag = client.get(url)["ETag"]
    SyncRun.objects.filter(pk=world.blocked_run.pk).update(heartbeat_at=timezone.now())
    changed = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert client.get(url, HTTP_IF_NONE_MATCH=changed["ETag"]).status_code == 304


def test_if_none_match_compares_weakly_and_accepts_lists_and_star(world):
    client = client_for(world.district_admin)
    url = f"/api/v1/sync-runs/{world.blocked_run.pk}/"
    etag = client.get(url)["ETag"]
    for header in (f"W/{etag}", f'"nope", {etag}', "*"):
        assert client.get(url, HTTP_IF_NONE_MATCH=header).status_code == 304, header
    assert client.get(url, HTTP_IF_NONE_MATCH='"nope"').status_code == 200


def test_a_school_admin_and_a_district_admin_get_different_etags(world):
    url = f"/api/v1/sync-runs/{world.blocked_run.pk}/"
    district = client_for(world.district_admin).get(url)["ETag"]
    school = client_for(world.school_admin)
    assert school.get(url)["ETag"] != district
    # The district admin's ETag never earns the school admin a 304 (their body differs).
    assert school.get(url, HTTP_IF_NONE_MATCH=district).status_code == 200


def test_if_none_match_on_a_run_out_of_reach_is_404(world):
    etag = client_for(world.district_admin).get(f"/api/v1/sync-runs/{world.blocked_run.pk}/")[
        "ETag"
    ]
    response = client_for(world.other_admin).get(
        f"/api/v1/sync-runs/{world.blocked_run.pk}/", HTTP_IF_NONE_MATCH=etag
    )
    assert response.status_code == 404


def test_run_detail_shows_progress_counts_and_planned_archive_count(world):
    run = client_for(world.district_admin).get(f"/api/v1/sync-runs/{world.blocked_run.pk}/")
    data = run.json()
    assert data["status"] == "failed" and data["failure_reason"] == "threshold"
    assert data["progress"] == {"done": 0, "total": 0, "percent": 100}
    assert data["planned_archives_count"] == world.blocked_run.planned_archives.count() > 0
    assert data["counts"]["students"]["archived"] == 0
    assert data["archives_approved_by"] is None and data["archives_approved_at"] is None
    assert set(data["timings"]) and data["diagnostics"]["threshold"]


def test_run_list_filters_by_config_status_and_creation(world):
    client = client_for(world.staff_viewer)

    def ids(query):
        response = client.get(f"/api/v1/sync-runs/?{query}")
        assert response.status_code == 200, response.json()
        return [r["id"] for r in response.json()["results"]]

    assert ids(f"config={world.config.pk}") == [world.blocked_run.pk, world.first_run.pk]
    assert ids(f"config={world.config.pk}&status=succeeded") == [world.first_run.pk]
    SyncRun.objects.filter(pk=world.first_run.pk).update(
        created_at=timezone.now() - timedelta(days=3)
    )
    since = (timezone.now() - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert world.first_run.pk not in ids(f"created_since={since}")
    assert world.blocked_run.pk in ids(f"created_since={since}")


def test_run_list_rejects_bad_filters_with_400(world):
    response = client_for(world.district_admin).get("/api/v1/sync-runs/?status=bogus")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "status" in response.json()["details"]


def test_run_list_pages_by_cursor_newest_first(world):
    client = client_for(world.district_admin)
    page = client.get("/api/v1/sync-runs/?page_size=1").json()
    assert [r["id"] for r in page["results"]] == [world.blocked_run.pk]
    following = client.get(page["next"]).json()
    assert [r["id"] for r in following["results"]] == [world.first_run.pk]
    assert following["next"] is None


def test_run_list_does_not_query_per_run(world, django_assert_max_num_queries):
    for _ in range(20):
        SyncRunFactory(config=world.config, status="succeeded")
    client = client_for(world.district_admin)
    with django_assert_max_num_queries(4):  # token, memberships, runs (+ nothing per row)
        response = client.get("/api/v1/sync-runs/?page_size=50")
    assert len(response.json()["results"]) == 22


# ---------------------------------------------------------------- queueing


def test_post_runs_queues_a_run_with_202_then_returns_it_with_200(world):
    client = client_for(world.district_admin)
    url = f"/api/v1/sync-configs/{world.config.pk}/runs/"
    first = client.post(url, {"dry_run": True}, format="json")
    assert first.status_code == 202
    data = first.json()
    assert data["existing"] is False and data["status"] == "queued" and data["dry_run"] is True
    run = SyncRun.objects.get(pk=data["id"])
    assert (run.trigger, run.dry_run) == ("api", True)
    second = client.post(url, {"dry_run": False}, format="json")
    assert second.status_code == 200
    assert second.json()["existing"] is True and second.json()["id"] == run.pk
    assert world.config.runs.count() == 3


def test_post_runs_validates_its_body(world):
    response = client_for(world.district_admin).post(
        f"/api/v1/sync-configs/{world.config.pk}/runs/", {"dry_run": "maybe"}, format="json"
    )
    assert response.status_code == 400 and "dry_run" in response.json()["details"]


def test_post_runs_is_throttled(world, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "triggers": "2/hour",
        },
    }
    client = client_for(world.district_admin)
    url = f"/api/v1/sync-configs/{world.config.pk}/runs/"
    assert client.post(url).status_code == 202
    assert client.post(url).status_code == 200
    response = client.post(url)
    assert response.status_code == 429
    assert response.json()["code"] == "throttled" and response.json()["details"]["wait"] > 0


# ---------------------------------------------------------------- rule T5


def approve(client, run, expected_count):
    return client.post(
        f"/api/v1/sync-runs/{run.pk}/approve-archives/",
        {"expected_count": expected_count},
        format="json",
    )


def test_T5_approving_with_the_wrong_count_is_409_and_archives_nothing(world):
    planned = world.blocked_run.planned_archives.count()
    response = approve(client_for(world.district_admin), world.blocked_run, planned - 1)
    assert response.status_code == 409
    assert response.json()["code"] == "count_mismatch"
    assert response.json()["details"] == {"expected_count": planned - 1, "planned_count": planned}
    assert not Person.objects.filter(archived_at__isnull=False).exists()


def test_T5_approving_with_the_right_count_archives_once_recording_who_and_when(world):
    client = client_for(world.district_admin)
    planned = world.blocked_run.planned_archives.count()
    response = approve(client, world.blocked_run, planned)
    assert response.status_code == 200
    data = response.json()
    assert data["archived"] == planned
    assert data["run"]["archives_approved_by"] == world.district_admin.username
    assert data["run"]["archives_approved_at"]
    assert (
        Person.objects.filter(source_id__in=["s3", "s4", "t2", "p3"])
        .exclude(archived_at=None)
        .count()
        == 4
    )
    again = approve(client, world.blocked_run, planned)
    assert again.status_code == 409
    assert again.json()["code"] == "already_approved"
    assert world.district_admin.username in again.json()["message"]


def test_T5_only_a_run_blocked_by_the_threshold_can_be_approved(world):
    response = approve(client_for(world.district_admin), world.first_run, 0)
    assert response.status_code == 409
    assert response.json()["code"] == "not_blocked"


def test_T5_only_the_configs_latest_run_can_be_approved(world):
    SyncRunFactory(config=world.config, status="succeeded")
    planned = world.blocked_run.planned_archives.count()
    response = approve(client_for(world.support), world.blocked_run, planned)
    assert response.status_code == 409
    assert response.json()["code"] == "not_latest"
    assert not Person.objects.filter(archived_at__isnull=False).exists()


def test_T5_support_staff_may_approve(world):
    planned = world.blocked_run.planned_archives.count()
    response = approve(client_for(world.support), world.blocked_run, planned)
    assert response.status_code == 200
    assert response.json()["run"]["archives_approved_by"] == world.support.username


def test_T5_a_district_admin_who_lost_their_membership_cannot_approve(world):
    client = client_for(world.district_admin)
    Membership.objects.filter(user=world.district_admin).delete()
    response = approve(client, world.blocked_run, world.blocked_run.planned_archives.count())
    assert response.status_code == 404
    assert ApiToken.objects.filter(user=world.district_admin).exists()
