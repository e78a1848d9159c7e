"""A run carries the failed-run explainer (issue 13: one component for the tab, the
admin and the API), and a config its health (issue 14: stale, paused)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from tests.api.worlds import make_world

pytestmark = pytest.mark.django_db


def as_user(username: str) -> APIClient:
    client = APIClient()
    client.force_login(User.objects.get(username=username))
    return client


def test_a_threshold_run_explains_itself_naming_the_school_that_dropped_out(tmp_path):
    world = make_world(tmp_path)
    body = as_user("alpha-admin").get(f"/api/v1/sync-runs/{world['run'].pk}/").json()
    explanation = body["explanation"]
    assert explanation["reason"] == "threshold"
    assert "alpha-0456" in explanation["headline"] + " ".join(
        e["text"] for e in explanation["evidence"]
    )
    assert explanation["next_steps"]
    assert explanation["help_url"].startswith("/help/")


def test_a_school_admin_gets_no_explanation_it_names_every_school(tmp_path):
    world = make_world(tmp_path)
    body = as_user("alpha-school-admin").get(f"/api/v1/sync-runs/{world['run'].pk}/").json()
    assert body["explanation"] is None


def test_a_config_says_whether_it_is_stale_or_paused(tmp_path):
    world = make_world(tmp_path)
    body = as_user("alpha-admin").get(f"/api/v1/sync-configs/{world['config'].pk}/").json()
    assert body["health"]["state"] in {"ok", "stale", "paused", "disabled"}
    listed = as_user("alpha-admin").get("/api/v1/sync-configs/").json()
    assert all("health" in c for c in listed["results"])
