"""HTTP for the API sources (Clever, OneRoster REST).

One session factory: every request has connect and read timeouts (requests has none by
default), GETs are retried a bounded number of times on 429 and 5xx with backoff,
`Retry-After` is honoured but capped below the worker's timeout, and Clever's
`X-RateLimit-Reset` stands in when `Retry-After` is missing. A replay-unsafe session (OAuth
1.0a) never resends a request that may have reached the server, nor follows a redirect: its
caller retries, signing each attempt afresh. Failures become the run's failure reasons:
401/403 `credentials`, anything else that stops a pull `source_unavailable`. Tokens travel
in headers, never in URLs, so URLs may be logged.
"""

from __future__ import annotations

import ipaddress
import time
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import RequestHistory, Retry

from syncs.errors import SyncFailure

TIMEOUT = (3.05, 60)  # connect, read (seconds)
RETRY_AFTER_MAX = 120  # seconds: a server must not park a sync for hours
RETRIES = 5
USER_AGENT = "Rollcall roster sync"


class RateLimitRetry(Retry):
    """Retry that also understands Clever's `X-RateLimit-Reset` (epoch seconds)."""

    def get_retry_after(self, response) -> float | None:
        seconds = super().get_retry_after(response)
        if seconds is None:
            reset = response.headers.get("X-RateLimit-Reset")
            if reset:
                try:
                    seconds = max(0.0, float(reset) - time.time())
                except ValueError:
                    seconds = None
        if seconds is not None:
            seconds = min(seconds, self.retry_after_max or RETRY_AFTER_MAX)
        return seconds


class ConnectOnlyRetry(RateLimitRetry):
    """Retries only a connection that could not be made (nothing reached the server).

    For signed requests that must not be replayed: urllib3 must never resend one that was
    sent, whatever answer or error followed. `status_forcelist` empty is not enough on its
    own: `Retry.is_retry` also retries 413/429/503 carrying `Retry-After` whenever
    `respect_retry_after_header` is set and `total` is left, so that is switched off, and
    `is_retry` is refused outright besides. Read errors (a timeout or a broken connection
    after sending) are raised at once (`read=False`), as are other errors (`other=0`).
    """

    def __init__(self, retries: int = RETRIES, **kwargs: Any) -> None:
        # Counts are defaults only: `Retry.new` passes the decremented ones back in.
        for name, value in (
            ("total", retries),
            ("connect", retries),
            ("read", False),
            ("status", 0),
            ("other", 0),
            ("redirect", 0),
        ):
            kwargs.setdefault(name, value)
        kwargs.update(status_forcelist=(), respect_retry_after_header=False, raise_on_status=False)
        super().__init__(**kwargs)

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        return False


class _TimeoutSession(requests.Session):
    # False: a redirect is returned as it came, never followed with the same request
    # (requests would resend its signed Authorization header, nonce and all).
    follow_redirects = True

    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", TIMEOUT)
        if not self.follow_redirects:
            kwargs["allow_redirects"] = False
        return super().request(method, url, **kwargs)


RETRY_STATUSES = (429, 500, 502, 503, 504)


def new_session(
    *, retries: int = RETRIES, backoff: float = 0.5, replay_safe: bool = True
) -> requests.Session:
    """A session with timeouts and bounded retries.

    `replay_safe=False` is for OAuth 1.0a, where each request is signed once with a
    nonce the server may remember: resending it after a 429, a 5xx, a read timeout or a
    redirect would be refused as a replay. Only connection failures (nothing reached the
    server) are retried here; every response comes back to the caller as it was, redirects
    included, and the caller retries, signing each attempt afresh (see
    `pause_before_retry`).
    """
    common: dict[str, Any] = {
        "backoff_factor": backoff,
        "backoff_jitter": 0.5,
        "allowed_methods": frozenset({"GET"}),
        "retry_after_max": RETRY_AFTER_MAX,
    }
    if replay_safe:
        retry: Retry = RateLimitRetry(
            total=retries,
            read=retries,
            status_forcelist=RETRY_STATUSES,
            respect_retry_after_header=True,
            raise_on_status=False,
            **common,
        )
    else:
        retry = ConnectOnlyRetry(retries, **common)
    session = _TimeoutSession()
    session.follow_redirects = replay_safe
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session


def pause_before_retry(attempt: int, response, *, backoff: float) -> float:
    """Seconds to wait before retry number `attempt` (1 for the first) of a request the
    caller repeats itself: the server's Retry-After or X-RateLimit-Reset when sent
    (capped), else the same exponential backoff the sessions use."""
    retry = RateLimitRetry(
        total=RETRIES,
        backoff_factor=backoff,
        backoff_jitter=0.5,
        retry_after_max=RETRY_AFTER_MAX,
        history=tuple(RequestHistory("GET", None, None, None, None) for _ in range(attempt)),
    )
    if response is not None:
        after = retry.get_retry_after(response)
        if after is not None:
            return after
    return retry.get_backoff_time()


def check_url(url: str) -> str:
    """The base URL, or fail: HTTPS everywhere except loopback (tests and local fakes)."""
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        raise SyncFailure("source_unavailable", f"{url!r} is not an http(s) URL.", {"url": url})
    if parts.scheme == "http" and not _loopback(host):
        raise SyncFailure(
            "source_unavailable",
            f"{url} uses plain HTTP; only https:// is allowed (plain HTTP only to 127.0.0.1).",
            {"url": url},
        )
    return url.strip().rstrip("/")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class NotFound(SyncFailure):
    """A 404: fatal for a required collection, skippable for an optional one."""


def get_json(session: requests.Session, url: str, *, what: str, **kwargs: Any) -> Any:
    """GET `url` and decode its JSON, or fail the run saying what could not be read."""
    try:
        response = session.get(url, **kwargs)
    except requests.Timeout as exc:
        raise SyncFailure(
            "source_unavailable",
            f"{what}: the server did not answer in time.",
            {"url": url, "error": type(exc).__name__},
        ) from exc
    except requests.RequestException as exc:
        raise SyncFailure(
            "source_unavailable",
            f"{what}: the server could not be reached ({type(exc).__name__}).",
            {"url": url},
        ) from exc
    status = response.status_code
    if status in (401, 403):
        raise SyncFailure(
            "credentials",
            f"{what}: the server refused the credentials (HTTP {status}). Check the token or "
            "client ID and secret, and that the district still shares its data.",
            {"url": url, "status": status},
        )
    if status == 404:
        raise NotFound("source_unavailable", f"{what}: not found (HTTP 404).", {"url": url})
    if response.is_redirect:  # only from a session that does not follow redirects
        # Where it points, without its query (which a server could fill with anything).
        target = urlsplit(urljoin(url, response.headers.get("Location", "")))
        host = target.netloc.rpartition("@")[2]  # never a user:password it may carry
        location = f"{target.scheme}://{host}{target.path}"
        raise SyncFailure(
            "source_unavailable",
            f"{what}: the server redirected (HTTP {status}) to {location}; signed requests "
            "are not resent elsewhere. Check the server URL. Nothing was changed.",
            {"url": url, "status": status, "location": location},
        )
    if status >= 400:
        raise SyncFailure(
            "source_unavailable",
            f"{what}: the server answered HTTP {status}"
            + (" after retries" if status == 429 or status >= 500 else "")
            + "; nothing was changed.",
            {"url": url, "status": status},
        )
    try:
        return response.json()
    except ValueError as exc:
        raise SyncFailure(
            "source_unavailable",
            f"{what}: the answer is not JSON (a malformed page); nothing was changed.",
            {"url": url},
        ) from exc
