"""Fixtures of the OneRoster REST tests: the fake server with the small district, small
pages, and no backoff, insecure-transport refusal or cached token between tests."""

from __future__ import annotations

import pytest
from urllib3.util.retry import Retry

from syncs.sources import oneroster_api
from tests.syncs.sources.oneroster_api.fake_oneroster import FakeOneRoster, csv_to_json


@pytest.fixture(autouse=True)
def fast_and_clean(monkeypatch):
    """No backoff sleeps between retries (Retry-After is still honoured), plain HTTP to
    127.0.0.1 allowed for oauthlib, and no token cached across tests."""
    monkeypatch.setattr(Retry, "get_backoff_time", lambda self: 0)
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    oneroster_api.clear_token_cache()
    yield
    oneroster_api.clear_token_cache()


@pytest.fixture
def page_size(settings):
    def set_size(size: int) -> None:
        settings.ROLLCALL = {**settings.ROLLCALL, "ONEROSTER_PAGE_SIZE": size}

    set_size(2)
    return set_size


@pytest.fixture
def district_json(district, tmp_path) -> dict[str, list[dict]]:
    data = csv_to_json(district.write(tmp_path / "csv"))
    data["academicSessions"] = []  # the builder writes none; the server has an empty list
    return data


@pytest.fixture
def server(httpserver, district_json) -> FakeOneRoster:
    return FakeOneRoster(httpserver, district_json)


@pytest.fixture
def oauth2_server(server) -> FakeOneRoster:
    server.auth = "oauth2"
    return server
