"""The nightly schedule: queue each config once inside its window; pre-flight checks."""

from __future__ import annotations

from datetime import datetime


def sync_configs_dispatch(*, now: datetime | None = None) -> list[int]:
    """Placeholder replaced below."""
    raise NotImplementedError


def sync_configs_preflight(*, now: datetime | None = None) -> list[int]:
    raise NotImplementedError
