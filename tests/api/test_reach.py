"""One permission model (syncs.access) behind every endpoint: what each caller sees
(404 outside their reach, indistinguishable from a missing id) and may do (403)."""

from __future__ import annotations

import pytest

from tests.api.conftest import client_for
from tests.api.test_auth import endpoints


def body(response):
    return response.json() if response["Content-Type"].startswith("application/json") else None


@pytest.mark.parametrize("auth", ["token", "session"])
def test_a_district_admin_of_another_org_gets_404_everywhere(world, auth):
    client = client_for(world.other_admin, auth=auth)
    for method, url in endpoints(world):
        if url.endswith(("/organizations/", "/sync-configs/", "/sync-runs/", "/logout/")):
            continue
        response = getattr(client, method)(url, {"expected_count": 1}, format="json")
        assert response.status_code == 404, (method, url)
        assert body(response) == {"code": "not_found", "message": "Not found.", "details": {}}


def test_out_of_reach_reads_exactly_like_a_missing_id(world):
    client = client_for(world.other_admin)
    for method, url in endpoints(world):
        if f"/{world.blocked_run.pk}/" not in url and f"/{world.config.pk}/" not in url:
            continue
        missing_url = url.replace(f"/{world.blocked_run.pk}/", "/999999/").replace(
            f"/{world.config.pk}/", "/999999/"
        )
        hidden = getattr(client, method)(url, {}, format="json")
        missing = getattr(client, method)(missing_url, {}, format="json")
        assert (hidden.status_code, hidden.content) == (missing.status_code, missing.content)
        assert {k: v for k, v in hidden.items() if k != "Allow"} == {
            k: v for k, v in missing.items() if k != "Allow"
        }


@pytest.mark.parametrize("auth", ["token", "session"])
def test_lists_show_only_the_callers_organization(world, auth):
    client = client_for(world.district_admin, auth=auth)
    orgs = client.get("/api/v1/organizations/").json()["results"]
    assert [o["slug"] for o in orgs] == ["demo"]
    configs = client.get("/api/v1/sync-configs/").json()["results"]
    assert [c["id"] for c in configs] == [world.config.pk]
    runs = client.get("/api/v1/sync-runs/").json()["results"]
    assert {r["id"] for r in runs} == {world.first_run.pk, world.blocked_run.pk}
    # ... and the other district sees only theirs.
    other = client_for(world.other_admin, auth=auth)
    assert [r["id"] for r in other.get("/api/v1/sync-runs/").json()["results"]] == [
        world.other_run.pk
    ]


def test_a_school_admin_sees_only_their_schools_rows(world):
    client = client_for(world.school_admin)
    run = world.blocked_run.pk
    tab = client.get(f"/api/v1/organizations/{world.org.pk}/sync-tab/").json()
    assert [s["sis_id"] for s in tab["schools"]] == ["0123"]
    schools = client.get(f"/api/v1/sync-runs/{run}/schools/").json()
    assert [s["sis_id"] for s in schools] == ["0123"]
    issues = client.get(f"/api/v1/sync-runs/{run}/issues/").json()["results"]
    assert issues and {i["school"] for i in issues} == {"0123"}
    # Asking for another school's issues finds none rather than leaking them.
    other = client.get(f"/api/v1/sync-runs/{run}/issues/?school=0456").json()["results"]
    assert other == []
    csv_text = b"".join(client.get(f"/api/v1/sync-runs/{run}/issues.csv").streaming_content)
    assert b'"0123"' in csv_text and b'"0456"' not in csv_text
    # Every planned archive of the blocked run is in school 0456.
    assert client.get(f"/api/v1/sync-runs/{run}/planned-archives/").json()["results"] == []
    csv_text = b"".join(
        client.get(f"/api/v1/sync-runs/{run}/planned-archives.csv").streaming_content
    )
    assert csv_text.count(b"\n") == 1  # the header only


def test_diagnostics_are_null_for_a_school_admin_only(world):
    url = f"/api/v1/sync-runs/{world.blocked_run.pk}/"
    assert client_for(world.school_admin).get(url).json()["diagnostics"] is None
    for user in (world.district_admin, world.staff_viewer, world.support):
        diagnostics = client_for(user).get(url).json()["diagnostics"]
        assert diagnostics["threshold"]["kinds"]["students"]["exceeded"] is True


@pytest.mark.parametrize("who", ["school_admin", "staff_viewer"])
def test_callers_who_only_read_get_403_on_every_action(world, who):
    client = client_for(getattr(world, who))
    config, run = world.config.pk, world.blocked_run.pk
    actions = [
        ("post", f"/api/v1/sync-configs/{config}/runs/", {}),
        ("post", f"/api/v1/sync-configs/{config}/uploads/", {}),
        ("patch", f"/api/v1/sync-configs/{config}/", {"enabled": False}),
        ("post", f"/api/v1/sync-runs/{run}/approve-archives/", {"expected_count": 9}),
    ]
    for method, url, data in actions:
        response = getattr(client, method)(url, data, format="json")
        assert response.status_code == 403, url
        assert response.json()["code"] == "permission_denied"
    world.config.refresh_from_db()
    assert world.config.enabled and world.config.runs.count() == 2


def test_staff_with_view_permissions_see_every_organization(world):
    client = client_for(world.staff_viewer)
    slugs = {o["slug"] for o in client.get("/api/v1/organizations/").json()["results"]}
    assert slugs == {"demo", "other"}
    assert client.get(f"/api/v1/sync-runs/{world.other_run.pk}/").status_code == 200


def test_staff_without_view_permissions_see_nothing(world):
    from tests.factories import UserFactory

    client = client_for(UserFactory(is_staff=True))
    assert client.get("/api/v1/organizations/").json()["results"] == []
    assert client.get(f"/api/v1/sync-runs/{world.blocked_run.pk}/").status_code == 404


def test_support_staff_may_queue_runs_anywhere(world):
    client = client_for(world.support)
    response = client.post(f"/api/v1/sync-configs/{world.other_config.pk}/runs/", {})
    assert response.status_code == 202
    assert response.json()["existing"] is False
