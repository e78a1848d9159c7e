"""The OpenAPI schema and its docs page (local files only), and errors as JSON."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from tests.api.conftest import client_for


def test_the_schema_validates_without_warnings():
    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    schema = out.getvalue()
    for path in (
        "/api/v1/organizations/{id}/sync-tab/:",
        "/api/v1/sync-configs/{id}/runs/:",
        "/api/v1/sync-configs/{id}/uploads/:",
        "/api/v1/sync-runs/{id}/issues.csv:",
        "/api/v1/sync-runs/{id}/planned-archives.csv:",
        "/api/v1/sync-runs/{id}/approve-archives/:",
    ):
        assert path in schema
    assert "text/csv" in schema and "'304':" in schema and "'409':" in schema
    assert "'202':" in schema and "bearerAuth" in schema


def test_the_schema_is_served(db):
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Rollcall API"


def test_the_docs_page_loads_swagger_ui_from_local_static_files_only(db):
    response = APIClient().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any("swagger-ui" in s for s in sources), sources
    for source in sources:
        assert source.startswith("/static/"), source
    assert "cdn" not in html.lower() and "://" not in "".join(sources)


def test_unknown_api_urls_are_json_404s(world):
    client = client_for(world.district_admin)
    for url in ("/api/v1/nothing-here/", "/api/v1/sync-runs/abc/"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.json() == {"code": "not_found", "message": "Not found.", "details": {}}


def test_a_bug_is_a_json_500_without_a_traceback(world, monkeypatch):
    from api import selectors

    def broken(**kwargs):
        raise RuntimeError("secret internals /srv/rollcall/api/selectors.py line 42")

    monkeypatch.setattr(selectors, "sync_tab", broken)
    response = client_for(world.district_admin).get(
        f"/api/v1/organizations/{world.org.pk}/sync-tab/"
    )
    assert response.status_code == 500
    assert response.json()["code"] == "server_error"
    assert b"secret internals" not in response.content and b"Traceback" not in response.content


@pytest.mark.parametrize("method", ["delete", "put"])
def test_methods_not_offered_are_405(world, method):
    response = getattr(client_for(world.support), method)(
        f"/api/v1/sync-runs/{world.blocked_run.pk}/"
    )
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
