"""Who is calling: knox bearer tokens (hashed, expiring, optionally read-only)."""

from __future__ import annotations

from django.utils import timezone
from knox.auth import TokenAuthentication


class BearerTokenAuthentication(TokenAuthentication):
    """knox's `Authorization: Bearer <token>`, with one change: an expired token is
    refused (and deleted) without first scanning the user's other tokens, which knox
    does on every request. Expired tokens of a user are purged when they log in or
    are given a new token (`accounts.ApiToken` and `api.views.auth`)."""

    def _cleanup_token(self, auth_token) -> bool:
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            auth_token.delete()
            return True
        return False


def token_is_read_only(auth) -> bool:
    """Whether the request came with a read-only API token (`request.auth`)."""
    return bool(getattr(auth, "read_only", False))
