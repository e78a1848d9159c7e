"""The API's gate: every request gets its caller's reach once (syncs.access)."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission

from api.auth import token_is_read_only
from syncs import access


class HasReach(BasePermission):
    """An authenticated caller, whose reach is set on the request as `request.reach`.

    Anonymous callers are refused (401, since the bearer scheme is named). A read-only
    token turns the reach read-only, and then any unsafe method is refused (403) before
    the view looks anything up. What the caller may see and do beyond that is the
    views' business, through the scoped querysets and `access.allowed`.
    """

    message = "Authentication credentials were not provided."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if user is None or not user.is_authenticated:
            return False
        reach = access.reach(user)
        if token_is_read_only(request.auth):
            reach = reach.read_only_token()
        request.reach = reach
        if request.method not in SAFE_METHODS and reach.read_only:
            raise exceptions.PermissionDenied(
                "This token is read-only: it cannot change anything.", code="read_only_token"
            )
        return True
