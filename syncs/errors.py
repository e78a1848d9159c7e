"""The one exception a pipeline stage raises to fail a run for a known reason."""

from __future__ import annotations

from typing import Any


class SyncFailure(Exception):
    """Fails the run with a failure reason, a message for people, and details.

    Raised before apply, it leaves the mirror untouched.
    """

    def __init__(self, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.details = details or {}
