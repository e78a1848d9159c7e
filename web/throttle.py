"""Failed sign-ins, counted per username and client address in the shared cache.

After FAILURES failed attempts within WINDOW seconds, every sign-in for that username
from that address is refused, right password or not, until the oldest failure ages out.
A successful sign-in clears the count. The cache is shared by the web processes of a
machine (files) or of every machine (Redis), so the limit holds across processes.
"""

from __future__ import annotations

import hashlib
import time

from django.core.cache import cache

FAILURES = 5
WINDOW = 15 * 60


def _key(username: str, address: str) -> str:
    ident = f"{username.strip().lower()}|{address}".encode()
    return "web-login-failures:" + hashlib.sha256(ident).hexdigest()


def _recent(key: str, now: float) -> list[float]:
    return [t for t in cache.get(key, []) if t > now - WINDOW]


def wait_seconds(username: str, address: str, *, now: float | None = None) -> int:
    """0 when a sign-in may be tried; else the seconds until one may."""
    now = time.time() if now is None else now
    failures = _recent(_key(username, address), now)
    if len(failures) < FAILURES:
        return 0
    return max(1, int(min(failures) + WINDOW - now))


def record_failure(username: str, address: str, *, now: float | None = None) -> None:
    now = time.time() if now is None else now
    key = _key(username, address)
    cache.set(key, [*_recent(key, now), now], WINDOW)


def clear(username: str, address: str) -> None:
    cache.delete(_key(username, address))
