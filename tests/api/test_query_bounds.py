"""Bad query input is a 400 or a 404 with a message, never a 500 (found by Schemathesis)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.api.worlds import make_world

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999999"


@pytest.fixture
def client(tmp_path):
    world = make_world(tmp_path)
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {world['tokens']['district_admin_token']}")
    return c


@pytest.mark.parametrize("value", ["5.539701583633505e+36", HUGE, "-1", "x"])
def test_a_config_filter_that_is_no_database_id_is_a_400(client, value):
    response = client.get("/api/v1/sync-runs/", {"config": value})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "config" in response.json()["details"]


@pytest.mark.parametrize(
    "method, url",
    [
        ("get", f"/api/v1/sync-runs/{HUGE}/"),
        ("get", f"/api/v1/organizations/{HUGE}/sync-tab/"),
        ("post", f"/api/v1/sync-configs/{HUGE}/runs/"),
        ("get", f"/api/v1/sync-runs/{HUGE}/issues.csv"),
    ],
)
def test_an_id_too_large_for_the_database_is_a_404(client, method, url):
    assert getattr(client, method)(url).status_code == 404
