"""An HTTP client for a OneRoster 1.1 REST server (ClassLink's among them): OAuth 1.0a
request signing or OAuth 2 client credentials, and `limit`/`offset` paging.

OAuth 1.0a requests carry a one-time nonce: every retry is signed afresh (the session
never replays one, see `syncs.clients.http`). OAuth 2 tokens are cached until 60 s
before they expire and fetched again on expiry or on a 401. Secrets travel in headers
only and never appear in logs, messages or diagnostics.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth1

from syncs.clients import http
from syncs.clients.http import (
    RETRY_STATUSES,
    NotFound,
    check_url,
    get_json,
    new_session,
    pause_before_retry,
)
from syncs.errors import SyncFailure
from syncs.models import FailureReason, SyncConfig

logger = logging.getLogger(__name__)

VERSION_PATH = "/ims/oneroster/v1p1"
# A base URL that already names a OneRoster version path is used as given.
_VERSIONED = re.compile(r"/v\d+p\d+$")
SCOPE = "https://purl.imsglobal.org/spec/or/v1p1/scope/roster.readonly"
PAGE_SIZE = 1000
TOKEN_MARGIN = 60  # seconds before a token's expiry at which it is no longer used
# Retries of one GET (429 and 5xx); tests lower the backoff.
RETRIES = http.RETRIES
BACKOFF = 0.5


def _now() -> float:
    return time.monotonic()


# ---------------------------------------------------------------- configuration


def base_url(config: SyncConfig) -> str:
    """The collections' base: the configured URL plus `/ims/oneroster/v1p1`, unless the
    URL already ends with a version path."""
    if not config.api_url.strip():
        raise SyncFailure(
            FailureReason.SOURCE_UNAVAILABLE,
            "No OneRoster server URL is set on this sync config.",
        )
    base = check_url(config.api_url)
    return base if _VERSIONED.search(base) else base + VERSION_PATH


def server_root(config: SyncConfig) -> str:
    """The configured URL without a OneRoster version path (where `/token` lives)."""
    base = check_url(config.api_url)
    if base.endswith(VERSION_PATH):
        return base[: -len(VERSION_PATH)]
    return base


def token_url(config: SyncConfig) -> str:
    url = config.oauth_token_url.strip()
    return check_url(url) if url else server_root(config) + "/token"


def page_size() -> int:
    size = int(getattr(settings, "ROLLCALL", {}).get("ONEROSTER_PAGE_SIZE", PAGE_SIZE))
    return max(1, size)


# ---------------------------------------------------------------- auth


@dataclass
class _Token:
    value: str
    valid_until: float


_tokens: dict[tuple[str, str, str], _Token] = {}
_tokens_lock = threading.Lock()


def clear_token_cache() -> None:
    with _tokens_lock:
        _tokens.clear()


def _lifetime(expires_in: Any) -> float:
    """How long to use a token: its lifetime less a margin (half of a very short one)."""
    try:
        seconds = float(expires_in)
    except (TypeError, ValueError):
        seconds = 3600.0  # RFC 6749: expires_in is recommended, not required
    if seconds <= 0:
        return 0.0
    return seconds - TOKEN_MARGIN if seconds > 2 * TOKEN_MARGIN else seconds / 2


class Auth:
    """Puts credentials on a session: OAuth 1 signs each request; OAuth 2 adds a bearer
    token, fetched (and cached) from the token endpoint."""

    def __init__(self, config: SyncConfig, session: requests.Session) -> None:
        self.config = config
        self.session = session
        self.client_id = config.oauth_client_id.strip()
        secret = config.oauth_client_secret
        if not self.client_id or not secret:
            raise SyncFailure(
                FailureReason.CREDENTIALS,
                "The OneRoster client ID or secret is missing on this sync config.",
            )
        self.oauth2 = config.oauth_version.strip() == "2"
        if self.oauth2:
            self.token_url = token_url(config)
            # The cache key holds a digest of the secret, never the secret: a changed
            # secret never reuses a token fetched with the old one.
            self.key = (
                self.token_url,
                self.client_id,
                hashlib.sha256(secret.encode()).hexdigest(),
            )
        else:
            method = (config.oauth_signature or "HMAC-SHA256").strip().upper()
            if method not in ("HMAC-SHA256", "HMAC-SHA1"):
                raise SyncFailure(
                    FailureReason.CREDENTIALS,
                    f"OAuth 1 signature method {method!r} is not supported "
                    "(HMAC-SHA256 or HMAC-SHA1).",
                )
            session.auth = OAuth1(
                self.client_id,
                client_secret=secret,
                signature_method=method,
                signature_type="AUTH_HEADER",
            )

    def prepare(self) -> None:
        """Make sure the next request carries valid credentials."""
        if self.oauth2:
            self.session.headers["Authorization"] = f"Bearer {self._token()}"

    def renew(self) -> bool:
        """After a 401: fetch a new token. False when there is nothing to renew (OAuth 1)."""
        if not self.oauth2:
            return False
        with _tokens_lock:
            _tokens.pop(self.key, None)
        self.prepare()
        return True

    def _token(self) -> str:
        with _tokens_lock:
            cached = _tokens.get(self.key)
        if cached is not None and _now() < cached.valid_until:
            return cached.value
        token = self._fetch_token()
        with _tokens_lock:
            _tokens[self.key] = token
        return token.value

    def _fetch_token(self) -> _Token:
        url = self.token_url
        what = "The OneRoster token endpoint"
        try:
            # POST: never retried by the session (a token request is not idempotent).
            response = self.session.post(
                url,
                data={"grant_type": "client_credentials", "scope": SCOPE},
                auth=HTTPBasicAuth(self.client_id, self.config.oauth_client_secret),
                headers={"Accept": "application/json", "Authorization": None},
            )
        except requests.RequestException as exc:
            raise SyncFailure(
                FailureReason.SOURCE_UNAVAILABLE,
                f"{what} could not be reached ({type(exc).__name__}).",
                {"url": url, "error": type(exc).__name__},
            ) from exc
        status = response.status_code
        if status in (400, 401, 403):
            # invalid_client / unauthorized_client / invalid_scope: the credentials.
            error = _oauth_error(response)
            raise SyncFailure(
                FailureReason.CREDENTIALS,
                f"{what} refused the client ID and secret (HTTP {status}"
                + (f", {error}" if error else "")
                + "). Check them, and that the district still shares its data.",
                {"url": url, "status": status, "error": error},
            )
        if status >= 400:
            raise SyncFailure(
                FailureReason.SOURCE_UNAVAILABLE,
                f"{what} answered HTTP {status}; nothing was changed.",
                {"url": url, "status": status},
            )
        try:
            body = response.json()
            value = body["access_token"]
        except (ValueError, KeyError, TypeError) as exc:
            raise SyncFailure(
                FailureReason.SOURCE_UNAVAILABLE,
                f"{what} did not answer with an access token; nothing was changed.",
                {"url": url, "status": status},
            ) from exc
        if not isinstance(value, str) or not value:
            raise SyncFailure(
                FailureReason.SOURCE_UNAVAILABLE,
                f"{what} answered with an empty access token; nothing was changed.",
                {"url": url},
            )
        logger.info("OneRoster: fetched an OAuth 2 token from %s", url)
        return _Token(value, _now() + _lifetime(body.get("expires_in")))


def _oauth_error(response: requests.Response) -> str:
    """The OAuth `error` code of a refusal (a fixed vocabulary: safe to show)."""
    try:
        error = response.json().get("error", "")
    except (ValueError, AttributeError):
        return ""
    return error if isinstance(error, str) and re.fullmatch(r"[a-z_]{1,40}", error) else ""


# ---------------------------------------------------------------- paging


class Client:
    def __init__(self, config: SyncConfig) -> None:
        self.base = base_url(config)
        # OAuth 1.0a requests carry a one-time nonce: they are retried here, re-signed.
        self.resign = (config.oauth_version or "1").strip() != "2"
        self.session = new_session(retries=RETRIES, backoff=BACKOFF, replay_safe=not self.resign)
        self.session.headers["Accept"] = "application/json"
        self.auth = Auth(config, self.session)
        self.requests = 0

    def close(self) -> None:
        self.session.close()

    def get_page(
        self, collection: str, offset: int, limit: int
    ) -> tuple[Any, requests.Response | None]:
        """One page, decoded, and the response it came in (for its bytes and headers)."""
        url = f"{self.base}/{collection}"
        params = {"limit": limit, "offset": offset, "sort": "sourcedId"}
        what = f"OneRoster {collection} (offset {offset})"
        kept: dict[str, requests.Response] = {}

        def keep(response, *_args, **_kwargs):
            kept["response"] = response
            return response

        self.auth.prepare()
        renewed = False
        attempt = 0
        while True:
            self.requests += 1
            try:
                data = get_json(
                    self.session, url, what=what, params=params, hooks={"response": keep}
                )
                return data, kept.get("response")
            except NotFound:
                raise
            except SyncFailure as failure:
                expired = (
                    failure.reason == FailureReason.CREDENTIALS
                    and failure.details.get("status") == 401
                )
                transient = failure.details.get("status") in RETRY_STATUSES or (
                    failure.reason == FailureReason.SOURCE_UNAVAILABLE
                    and "error" in failure.details
                )
                if self.resign and transient and attempt < RETRIES:
                    attempt += 1
                    time.sleep(
                        pause_before_retry(attempt, kept.pop("response", None), backoff=BACKOFF)
                    )
                    continue
                # A token that expired early (or was revoked) is fetched again once.
                if expired and not renewed and self.auth.renew():
                    renewed = True
                    logger.info("OneRoster: %s answered 401; fetched a new token", what)
                    continue
                raise

    def collection(self, name: str, limit: int, on_page) -> int:
        """Read every page of `name`; `on_page(index, response, records)` keeps each.
        Returns the number of records read."""
        offset = 0
        index = 0
        first_ids: set[str] = set()
        total: int | None = None
        while True:
            data, response = self.get_page(name, offset, limit)
            records = data.get(name) if isinstance(data, dict) else None
            if not isinstance(records, list):
                raise SyncFailure(
                    FailureReason.SOURCE_UNAVAILABLE,
                    f"OneRoster {name} (offset {offset}): the page has no {name!r} list "
                    "(a malformed page); nothing was changed.",
                    {"url": f"{self.base}/{name}", "offset": offset},
                )
            header = response.headers.get("X-Total-Count") if response is not None else None
            if header is not None:
                try:
                    total = int(header)
                except ValueError:
                    total = None
            if records:
                first = records[0].get("sourcedId") if isinstance(records[0], dict) else None
                if first is not None and index and str(first) in first_ids:
                    # A server that ignores `offset` would otherwise be paged forever.
                    raise SyncFailure(
                        FailureReason.SOURCE_UNAVAILABLE,
                        f"OneRoster {name}: the page at offset {offset} repeats an earlier "
                        "page; the server does not page with limit/offset. Nothing was "
                        "changed.",
                        {"url": f"{self.base}/{name}", "offset": offset},
                    )
                if first is not None:
                    first_ids.add(str(first))
            on_page(index, response, records)
            index += 1
            offset += len(records)
            # Only an empty page (or the server's own total) ends a collection: many
            # servers cap `limit` below what was asked, so a short page proves nothing.
            if not records or (total is not None and offset >= total):
                break
        if total is not None and offset < total:
            raise SyncFailure(
                FailureReason.SOURCE_UNAVAILABLE,
                f"OneRoster {name}: read {offset} of the {total} records the server counts "
                "(X-Total-Count); a partial download is not synced. Nothing was changed.",
                {"url": f"{self.base}/{name}", "read": offset, "total": total},
            )
        return offset
