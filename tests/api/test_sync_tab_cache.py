"""The sync tab answers from the shared cache while nothing it shows has changed: one
query for its version instead of building it again (make bench's API load polls it)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import User
from tests.api.worlds import make_world

pytestmark = pytest.mark.django_db


def as_user(username: str) -> APIClient:
    client = APIClient()
    client.force_login(User.objects.get(username=username))
    return client


def test_a_second_poll_costs_two_queries_beyond_who_is_asking(tmp_path):
    world = make_world(tmp_path)
    client = as_user("alpha-admin")
    url = f"/api/v1/organizations/{world['org'].pk}/sync-tab/"
    with CaptureQueriesContext(connection) as built:
        first = client.get(url)
    with CaptureQueriesContext(connection) as cached:
        second = client.get(url)
    assert first.json() == second.json()
    tab_queries = [q["sql"] for q in cached.captured_queries if "syncs_syncconfig" in q["sql"]]
    assert len(tab_queries) == 2, "the version, and the active runs' live progress"
    assert not [q for q in cached.captured_queries if "syncs_issue" in q["sql"]]
    assert len(cached) < len(built) - 4, (len(cached), len(built))


def test_a_queued_run_shows_at_once(tmp_path):
    world = make_world(tmp_path)
    client = as_user("alpha-admin")
    url = f"/api/v1/organizations/{world['org'].pk}/sync-tab/"
    before = client.get(url).json()
    assert all(c["active_run"] is None for c in before["configs"])
    assert (
        client.post(
            f"/api/v1/sync-configs/{world['config'].pk}/runs/", {}, format="json"
        ).status_code
        == 202
    )
    after = client.get(url).json()
    assert any(c["active_run"] for c in after["configs"])


def test_a_school_admin_never_gets_the_district_admins_cached_tab(tmp_path):
    world = make_world(tmp_path)
    url = f"/api/v1/organizations/{world['org'].pk}/sync-tab/"
    district = as_user("alpha-admin").get(url).json()
    school = as_user("alpha-school-admin").get(url).json()
    assert {s["sis_id"] for s in district["schools"]} == {"alpha-0123", "alpha-0456"}
    assert {s["sis_id"] for s in school["schools"]} == {"alpha-0123"}


def test_progress_is_live_while_the_tab_comes_from_the_cache(tmp_path):
    """A running sync's heartbeat must not rebuild the tab for every poller, yet each
    poll shows the run's current stage and percent."""
    from syncs.models import SyncRun

    world = make_world(tmp_path)
    client = as_user("alpha-admin")
    url = f"/api/v1/organizations/{world['org'].pk}/sync-tab/"
    client.post(f"/api/v1/sync-configs/{world['config'].pk}/runs/", {}, format="json")
    run = SyncRun.objects.get(config=world["config"], status="queued")
    client.get(url)  # builds and caches the tab
    SyncRun.objects.filter(pk=run.pk).update(
        status="running", stage="validate", progress_done=5, progress_total=10
    )
    client.get(url)  # running now: the version changed once, rebuilt
    SyncRun.objects.filter(pk=run.pk).update(stage="apply", progress_done=9)
    with CaptureQueriesContext(connection) as polled:
        body = client.get(url).json()
    active = next(c["active_run"] for c in body["configs"] if c["id"] == world["config"].pk)
    assert active["stage"] == "apply"
    assert not [q for q in polled.captured_queries if "syncs_issue" in q["sql"]], "not rebuilt"
