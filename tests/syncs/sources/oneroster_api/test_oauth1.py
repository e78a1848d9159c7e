"""OAuth 1.0a against the fake OneRoster server: every request signed (RFC 5849), and
every retry signed afresh, so a nonce-checking server never sees a nonce twice."""

from __future__ import annotations

import logging
import time

import pytest
import requests
from werkzeug import Response

from rostering.models import Person
from syncs.clients import http
from syncs.clients import oneroster as oneroster_client
from tests.syncs.sources.oneroster_api.fake_oneroster import (
    FakeOneRoster,
    api_config,
    assert_no_secret,
    run_sync,
)

# ---------------------------------------------------------------- OAuth 1.0a


@pytest.mark.parametrize("method", ["HMAC-SHA256", "HMAC-SHA1"])
def test_oauth1_every_request_signed(config, server, page_size, method, caplog):
    server.signature = method
    api_config(config, server, oauth_signature=method)
    caplog.set_level(logging.DEBUG)
    run = run_sync(config)
    assert run.status == "succeeded", run.message
    assert all(status == 200 for _c, _o, status in server.log), server.log
    assert len(server.log) >= 10
    assert_no_secret(run, caplog)


def test_oauth1_signature_method_mismatch_is_refused(config, server, page_size):
    server.signature = "HMAC-SHA256"
    api_config(config, server, oauth_signature="HMAC-SHA1")
    run = run_sync(config)
    assert (run.status, run.failure_reason) == ("failed", "credentials")


def test_oauth1_wrong_secret_fails_credentials(config, server, page_size, caplog):
    caplog.set_level(logging.DEBUG)
    api_config(config, server)
    server.secret = "the-real-secret"
    run = run_sync(config)
    assert (run.status, run.failure_reason) == ("failed", "credentials")
    assert "401" in run.message
    assert not Person.objects.exists()
    assert_no_secret(run, caplog)
    assert [s for _c, _o, s in server.log] == [401]  # 401 is never retried


# ---------------------------------------------------------------- OAuth 1.0a retries


def assert_no_nonce_reused(server: FakeOneRoster) -> None:
    nonces = server.nonces()
    assert nonces and all(nonces)
    reused = sorted({n for n in nonces if nonces.count(n) > 1})
    assert not reused, f"nonces sent more than once: {reused}"


def first_attempt_fails(server: FakeOneRoster, page: tuple[str, int], response) -> None:
    server.fault = lambda c, o, a: response() if (c, o) == page and a == 1 else None


def assert_resigned_after(server: FakeOneRoster, run, page, status, *, waited: float) -> None:
    """The page failed once with `status`, then came on a request signed afresh, sent no
    sooner than `waited` seconds later; the server never saw a nonce twice."""
    assert run.status == "succeeded", run.message
    assert server.statuses(*page) == [status, 200]
    attempts = [(nonce, at) for c, o, nonce, at in server.signed if (c, o) == page]
    assert len(attempts) == 2
    (first, first_at), (second, second_at) = attempts
    assert first != second
    assert second_at - first_at >= waited
    assert not [entry for entry in server.log if entry[2] == 401], server.log
    assert_no_nonce_reused(server)
    assert Person.objects.count() == 8


def test_oauth1_server_refuses_a_reused_nonce(config, server):
    """The fake server itself: the very same signed request sent twice is refused the
    second time (what a replayed OAuth 1.0a request meets on a nonce-checking server)."""
    api_config(config, server)
    client = oneroster_client.Client(config)
    try:
        url = f"{client.base}/orgs"
        request = client.session.prepare_request(
            requests.Request("GET", url, params={"sort": "sourcedId"})
        )
        first = client.session.send(request)
        again = client.session.send(request)
    finally:
        client.close()
    assert (first.status_code, again.status_code) == (200, 401)
    assert b"oauth_nonce already used" in again.content


def test_oauth1_retry_after_429_is_resigned_with_a_fresh_nonce(config, server, page_size):
    """Issue #10 defect 9: a 429 with Retry-After used to be retried by urllib3 with the
    same signed request (same nonce), which a nonce-checking server refuses with 401."""
    page = ("users", 2)
    first_attempt_fails(server, page, lambda: Response("slow down", 429, {"Retry-After": "1"}))
    api_config(config, server)
    run = run_sync(config)
    assert_resigned_after(server, run, page, 429, waited=0.95)


def test_oauth1_retry_after_503_is_resigned_with_a_fresh_nonce(config, server, page_size):
    page = ("classes", 0)
    first_attempt_fails(server, page, lambda: Response("maintenance", 503, {"Retry-After": "1"}))
    api_config(config, server)
    run = run_sync(config)
    assert_resigned_after(server, run, page, 503, waited=0.95)


def test_oauth1_500_without_retry_after_is_resigned_with_a_fresh_nonce(config, server, page_size):
    page = ("enrollments", 2)
    first_attempt_fails(server, page, lambda: Response("oops", 500))
    api_config(config, server)
    run = run_sync(config)
    assert_resigned_after(server, run, page, 500, waited=0)


def test_oauth1_read_timeout_is_resigned_with_a_fresh_nonce(config, server, page_size, monkeypatch):
    """A request that reached the server but got no answer in time is sent again by the
    caller, signed afresh, never resent as it was by urllib3."""
    # Every request of the sync has this read timeout, so it is generous for a busy CI
    # machine. The server answers one request at a time: the slow answer must end within
    # a timeout of the retry, which waits behind it.
    monkeypatch.setattr(http, "TIMEOUT", (3.05, 1.0))
    page = ("users", 4)

    def slow():
        time.sleep(1.3)
        return Response("too late", 200)

    first_attempt_fails(server, page, slow)
    api_config(config, server)
    run = run_sync(config)
    assert_resigned_after(server, run, page, 200, waited=1.0)


def test_oauth1_redirect_is_not_followed_with_the_same_nonce(config, server, page_size):
    """A redirect is not followed with the signed request (its nonce, and a signature for
    another URL): the run fails `source_unavailable` saying where the server points, not
    `credentials`."""
    moved = server.url + "/elsewhere" + server.prefix + "users"
    server.fault = lambda c, o, a: (
        Response("", 307, {"Location": moved + f"?offset={o}&limit=2&sort=sourcedId"})
        if c == "users"
        else None
    )
    api_config(config, server)
    run = run_sync(config)
    assert (run.status, run.failure_reason) == ("failed", "source_unavailable"), run.message
    assert "redirected" in run.message and "/elsewhere" in run.message
    assert "offset=" not in run.message
    assert [s for c, _o, s in server.log if c == "users"] == [307]
    assert_no_nonce_reused(server)
    assert not Person.objects.exists()


def test_oauth1_no_nonce_is_ever_sent_twice_in_a_sync(config, server, page_size):
    """Every page's first request fails, by every status a retry follows (429 and 503
    with and without Retry-After, 500, 502, 504): the sync completes, and across the whole
    sync the server never sees a nonce twice, nor refuses one."""
    failures = [
        (429, {"Retry-After": "0"}),
        (503, {"Retry-After": "0"}),
        (500, {}),
        (502, {}),
        (504, {}),
        (429, {}),
        (503, {}),
        (500, {"Retry-After": "0"}),
    ]
    pages: list[tuple[str, int]] = []

    def fault(collection, offset, attempt):
        if attempt > 1:
            return None
        pages.append((collection, offset))
        status, headers = failures[len(pages) % len(failures)]
        return Response("try again", status, headers)

    server.fault = fault
    api_config(config, server)
    run = run_sync(config)
    assert run.status == "succeeded", run.message
    assert len(pages) >= 10
    assert all(server.statuses(*page)[-1] in (200, 404) for page in pages)
    assert len(server.signed) == len(server.log) == 2 * len(pages)
    assert not [entry for entry in server.log if entry[2] == 401], server.log
    assert_no_nonce_reused(server)
