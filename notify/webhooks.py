"""Webhook transport: where a webhook may go, how it is signed, and one POST.

- **Where:** https only (plain http only with ROLLCALL_WEBHOOKS_ALLOW_LOOPBACK, which the
  tests set). No user:password in the URL. The host is resolved and every address must
  be public: private, loopback, link-local, shared (CGNAT), multicast, reserved and
  unspecified addresses are refused (loopback allowed only with the setting). Checked
  when an endpoint is saved (a clear message) and again at each send. At send time the
  address actually connected to is checked too, so a name that resolves to a public
  address for the check and a private one for the connection (DNS rebinding) is refused.
- **Signing:** `Rollcall-Timestamp: <unix seconds>` and
  `Rollcall-Signature: v1=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>`.
- **Sending:** connect and read timeouts, no retries inside the request (the delivery
  service retries with backoff), redirects never followed, no proxies from the
  environment. The response body is never read beyond its status.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

SIGNATURE_VERSION = "v1"
USER_AGENT = "Rollcall webhooks"
DEFAULT_TIMEOUT = (5.0, 10.0)  # connect, read (seconds)
DEFAULT_RETRY_MINUTES = (1, 5, 25, 125)  # waits before attempts 2, 3, 4 and 5


def webhook_settings() -> dict[str, Any]:
    """Timeouts and backoff, read at use time: settings.ROLLCALL's WEBHOOK_TIMEOUT
    (connect, read) and WEBHOOK_RETRY_MINUTES (one wait per retry)."""
    rollcall = getattr(settings, "ROLLCALL", {})
    return {
        "timeout": tuple(rollcall.get("WEBHOOK_TIMEOUT", DEFAULT_TIMEOUT)),
        "retry_minutes": tuple(rollcall.get("WEBHOOK_RETRY_MINUTES", DEFAULT_RETRY_MINUTES)),
    }


def allow_loopback() -> bool:
    return bool(getattr(settings, "ROLLCALL_WEBHOOKS_ALLOW_LOOPBACK", False))


# ---------------------------------------------------------------- where a webhook may go


def address_problem(address: str, *, loopback_ok: bool) -> str | None:
    """Why a webhook may not go to this IP address, or None."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return None if loopback_ok else "a loopback address"
    if ip.is_unspecified or ip.is_multicast:
        return "not a public address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_private:
        return "a private address"
    if ip.is_reserved or not ip.is_global:
        return "not a public address"
    return None


def url_problem(url: str, *, resolve: bool = True) -> str | None:
    """Why a webhook may not be sent to `url`, in words for the person who typed it, or
    None. With `resolve`, the host's every address is checked."""
    loopback_ok = allow_loopback()
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return "This is not a valid URL."
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "Enter an https:// URL."
    if parts.scheme == "http" and not loopback_ok:
        return "Webhooks are sent over https:// only."
    if parts.username is not None or parts.password is not None:
        return "Leave user names and passwords out of the URL; deliveries are signed instead."
    if not resolve:
        return None
    host = parts.hostname
    try:
        infos = socket.getaddrinfo(
            host, port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
        )
    except (socket.gaierror, UnicodeError):
        return f"The host {host} could not be resolved."
    addresses = sorted({str(info[4][0]) for info in infos})
    for address in addresses:
        problem = address_problem(address, loopback_ok=loopback_ok)
        if problem:
            return (
                f"The host {host} resolves to {address}, {problem}; webhooks go only to "
                "public addresses."
            )
    return None


class RefusedAddress(OSError):
    """The connection reached an address webhooks may not go to."""


def _checked(sock: socket.socket) -> socket.socket:
    """The connected socket, unless it reached an address webhooks may not go to."""
    peer = str(sock.getpeername()[0])
    problem = address_problem(peer, loopback_ok=allow_loopback())
    if problem:
        sock.close()
        raise RefusedAddress(f"connected to {peer}, {problem}")
    return sock


class _CheckedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _checked(super()._new_conn())


class _CheckedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return _checked(super()._new_conn())


class _CheckedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _CheckedHTTPConnection


class _CheckedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


class _CheckedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _CheckedHTTPPool,
            "https": _CheckedHTTPSPool,
        }


def new_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxy or .netrc from the environment
    adapter = _CheckedAdapter(max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session


# ---------------------------------------------------------------- signing


def body_bytes(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent and signed: compact JSON, keys sorted."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={mac.hexdigest()}"


def signature_valid(
    secret: str, timestamp: str, body: bytes, header: str, *, now: float, tolerance: int = 300
) -> bool:
    """What a receiver checks (the README shows the same): a fresh timestamp and a
    matching signature, compared in constant time."""
    try:
        if abs(now - int(timestamp)) > tolerance:
            return False
    except ValueError:
        return False
    expected = signature(secret, int(timestamp), body)
    return any(hmac.compare_digest(expected, part.strip()) for part in header.split(","))


# ---------------------------------------------------------------- one POST


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None
    duration_ms: int
    error: str = ""


def post(
    url: str,
    *,
    secret: str,
    payload: dict[str, Any],
    headers: dict[str, str] | None = None,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
) -> Outcome:
    """POST the signed payload once. Any 2xx succeeds; everything else is a failed
    attempt with a reason that names no secret (and not the URL's query)."""
    started = time.monotonic()

    def done(ok: bool, status: int | None = None, error: str = "") -> Outcome:
        return Outcome(ok, status, int((time.monotonic() - started) * 1000), error[:500])

    problem = url_problem(url)
    if problem:
        return done(False, error=f"Refused: {problem}")
    body = body_bytes(payload)
    timestamp = int(time.time())
    sent_headers = {
        **(headers or {}),
        "Content-Type": "application/json",
        "Rollcall-Timestamp": str(timestamp),
        "Rollcall-Signature": signature(secret, timestamp, body),
    }
    try:
        with new_session() as session:
            response = session.post(
                url,
                data=body,
                headers=sent_headers,
                timeout=timeout,
                allow_redirects=False,
                stream=True,  # the status is all that matters: the body is never read
            )
            response.close()
    except requests.Timeout:
        return done(
            False,
            error=f"No answer within the timeout ({timeout[0]:g} s to connect, "
            f"{timeout[1]:g} s to answer).",
        )
    except requests.ConnectionError as exc:
        refused = _refused_in(exc)
        if refused:
            return done(False, error=f"Refused: {refused}; webhooks go only to public addresses.")
        return done(False, error=f"Could not connect ({type(exc).__name__}).")
    except requests.RequestException as exc:
        return done(False, error=f"Could not send ({type(exc).__name__}).")
    status = response.status_code
    if 200 <= status < 300:
        return done(True, status)
    if response.is_redirect or 300 <= status < 400:
        target = urlsplit(urljoin(url, response.headers.get("Location", "")))
        host = target.netloc.rpartition("@")[2]
        return done(
            False,
            status,
            f"Redirected (HTTP {status}) to {target.scheme}://{host}{target.path}; "
            "redirects are not followed: set the endpoint's URL to where it should go.",
        )
    return done(False, status, f"The endpoint answered HTTP {status}.")


def _refused_in(exc: BaseException) -> str | None:
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, RefusedAddress):
            return str(current)
        todo.extend([current.__cause__, current.__context__, *_reasons(current)])
    return None


def _reasons(exc: BaseException) -> list[BaseException]:
    found = []
    for attr in ("reason",):
        value = getattr(exc, attr, None)
        if isinstance(value, BaseException):
            found.append(value)
    for arg in getattr(exc, "args", ()):
        if isinstance(arg, BaseException):
            found.append(arg)
    return found
