"""Throttles beyond DRF's ScopedRateThrottle (whose scopes and rates are in settings)."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle


class LiveRates:
    """Rates read from settings when a request comes, not when DRF was imported (its
    THROTTLE_RATES is a class attribute fixed at import)."""

    scope: str | None

    def get_rate(self) -> str | None:
        try:
            return api_settings.DEFAULT_THROTTLE_RATES[self.scope]
        except KeyError:
            raise ImproperlyConfigured(
                f"No throttle rate for scope {self.scope!r} in REST_FRAMEWORK"
                "['DEFAULT_THROTTLE_RATES']."
            ) from None


class ScopedThrottle(LiveRates, ScopedRateThrottle):
    """DRF's ScopedRateThrottle (per user and the view's `throttle_scope`)."""


class LoginFailureThrottle(LiveRates, SimpleRateThrottle):
    """Counts failed logins per client address (`login_failures` rate): once a client
    has failed that often in the period, every login from it is refused (429) until
    the oldest failure ages out, right password or not. Successful logins cost nothing.
    """

    scope = "login_failures"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        if len(self.history) >= self.num_requests:
            return self.throttle_failure()
        return True

    def record_failure(self, request) -> None:
        if self.rate is None:
            return
        self.allow_request(request, None)
        self.history.insert(0, self.now)
        self.cache.set(self.key, self.history, self.duration)
