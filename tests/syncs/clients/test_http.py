"""The HTTP client's retries (syncs.clients.http). No network."""

from __future__ import annotations

import time

from syncs.clients.http import RateLimitRetry


def test_x_ratelimit_reset_stands_in_for_missing_retry_after():
    class Resp:
        headers = {"X-RateLimit-Reset": str(time.time() + 7)}

    retry = RateLimitRetry(total=1, retry_after_max=120)
    assert 5.5 < retry.get_retry_after(Resp()) <= 7.0
    Resp.headers = {"X-RateLimit-Reset": str(time.time() + 10_000)}
    assert retry.get_retry_after(Resp()) == 120  # capped
    Resp.headers = {"Retry-After": "2", "X-RateLimit-Reset": str(time.time() + 50)}
    assert retry.get_retry_after(Resp()) == 2  # Retry-After wins when given
