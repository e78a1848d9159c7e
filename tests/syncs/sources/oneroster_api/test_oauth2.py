"""OAuth 2 client credentials against the fake OneRoster server: one token per run,
renewed when it expires or is refused, never a loop."""

from __future__ import annotations

import logging

from rostering.models import Person
from syncs.clients import oneroster as oneroster_client
from tests.syncs.sources.oneroster_api.fake_oneroster import api_config, assert_no_secret, run_sync


def test_oauth2_client_credentials(config, oauth2_server, page_size, caplog):
    caplog.set_level(logging.DEBUG)
    api_config(config, oauth2_server)
    run = run_sync(config)
    assert run.status == "succeeded", run.message
    assert oauth2_server.token_requests == 1  # cached for the whole run
    assert_no_secret(run, caplog)


def test_oauth2_token_endpoint_refuses_wrong_secret(config, oauth2_server, page_size, caplog):
    caplog.set_level(logging.DEBUG)
    api_config(config, oauth2_server)
    oauth2_server.secret = "another"
    run = run_sync(config)
    assert (run.status, run.failure_reason) == ("failed", "credentials")
    assert "invalid_client" in run.message
    assert_no_secret(run, caplog)


def test_oauth2_expired_token_is_fetched_again(config, oauth2_server, page_size, monkeypatch):
    """expires_in=1: a token is used for half its life, then a new one is fetched."""
    clock = iter(range(0, 10_000, 2))
    monkeypatch.setattr(oneroster_client, "_now", lambda: float(next(clock)))
    oauth2_server.expires_in = 1
    api_config(config, oauth2_server)
    run = run_sync(config)
    assert run.status == "succeeded", run.message
    assert oauth2_server.token_requests > 5
    assert all(status == 200 for _c, _o, status in oauth2_server.log)


def test_oauth2_token_refused_midway_is_renewed_once(config, oauth2_server, page_size):
    """The server stops accepting a token after 3 uses (401): the page is retried with a
    new token and the run completes."""
    oauth2_server.max_uses = 3
    api_config(config, oauth2_server)
    run = run_sync(config)
    assert run.status == "succeeded", run.message
    refused = [entry for entry in oauth2_server.log if entry[2] == 401]
    assert refused
    assert oauth2_server.token_requests == len(refused) + 1
    assert Person.objects.count() == 8


def test_oauth2_token_always_refused_fails_credentials(config, oauth2_server, page_size):
    oauth2_server.max_uses = 0
    api_config(config, oauth2_server)
    run = run_sync(config)
    assert (run.status, run.failure_reason) == ("failed", "credentials")
    assert oauth2_server.token_requests == 2  # one renewal, not a loop
