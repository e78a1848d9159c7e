"""Fixtures of the Clever API tests: the fake Clever on a 127.0.0.1 port, a config
pointed at it, and retries without backoff."""

from __future__ import annotations

import re

import pytest
from pytest_httpserver import HTTPServer

from syncs.clients.http import RateLimitRetry
from syncs.models import SourceKind
from syncs.sources import clever_api
from tests.syncs.sources.clever_api.fake_clever import TOKEN, FakeClever


@pytest.fixture
def fake() -> FakeClever:
    return FakeClever()


@pytest.fixture
def server(fake):
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.expect_request(re.compile(r"^/")).respond_with_handler(fake.handle)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        if server.is_running():
            server.stop()


@pytest.fixture
def fast_retries(monkeypatch):
    """No backoff between retries (Retry-After is still honoured: it is a sleep of its own)."""
    monkeypatch.setattr(RateLimitRetry, "get_backoff_time", lambda self: 0.0)


@pytest.fixture
def clever_config(config, server, monkeypatch):
    """The conftest config pointed at the fake Clever, with 250-item pages."""
    monkeypatch.setattr(clever_api, "PAGE_SIZE", 250)
    config.source_kind = SourceKind.CLEVER_API
    config.api_url = f"http://127.0.0.1:{server.port}"
    config.api_token = TOKEN
    config.deletion_threshold = 100
    config.save()
    return config
