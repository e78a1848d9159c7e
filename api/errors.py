"""Errors as JSON: `{"code": ..., "message": ..., "details": ...}`, with stable codes.

| status | code |
|---|---|
| 400 | `invalid` (details: field -> messages), `invalid_files` (uploads) |
| 401 | `not_authenticated` |
| 403 | `permission_denied` |
| 404 | `not_found` (the same for an object out of reach as for one that does not exist) |
| 405 | `method_not_allowed` |
| 409 | the refusal's own code: `run_active`, `not_upload_config`, `count_mismatch`, `already_approved`, `not_blocked`, `not_latest` |
| 413 | `too_large` |
| 429 | `throttled` (details: `wait`, seconds; also the Retry-After header) |
| 500 | `server_error` (never a traceback) |
"""

from __future__ import annotations

import logging
import math
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

logger = logging.getLogger(__name__)


class ApiError(exceptions.APIException):
    """A refusal with its own code, message and details (409 unless said otherwise)."""

    status_code = status.HTTP_409_CONFLICT

    def __init__(
        self,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        *,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message, code)
        self.code = code
        self.message = message
        self.details = details or {}
        if status_code is not None:
            self.status_code = status_code


NOT_FOUND = "Not found."

# DRF's exception classes -> our codes.
CODES: list[tuple[type[exceptions.APIException], str]] = [
    (exceptions.ValidationError, "invalid"),
    (exceptions.ParseError, "invalid"),
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.AuthenticationFailed, "not_authenticated"),
    (exceptions.PermissionDenied, "permission_denied"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.Throttled, "throttled"),
]


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"code": code, "message": message, "details": details or {}}


def exception_handler(exc: Exception, context: dict) -> Response:
    """DRF's EXCEPTION_HANDLER: every error the API answers goes through here."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(NOT_FOUND)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    headers: dict[str, str] = {}
    if isinstance(exc, ApiError):
        body = error_body(exc.code, exc.message, exc.details)
    elif isinstance(exc, exceptions.APIException):
        code = next((c for cls, c in CODES if isinstance(exc, cls)), "error")
        body = _describe(exc, code)
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None) is not None:
            headers["Retry-After"] = str(math.ceil(exc.wait))
    else:
        # A bug: logged with its traceback, answered without one.
        view = context.get("view")
        logger.exception("API error in %s", type(view).__name__ if view else "a view")
        set_rollback()
        body = error_body("server_error", "Something went wrong on our side; it was logged.")
        return Response(body, status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    set_rollback()
    return Response(body, status=exc.status_code, headers=headers)


def _describe(exc: exceptions.APIException, code: str) -> dict[str, Any]:
    detail = exc.detail
    if code == "not_found":
        # Never echo what was looked for: out of reach and missing must read the same.
        return error_body(code, NOT_FOUND)
    if code == "throttled":
        wait = getattr(exc, "wait", None)
        return error_body(
            code, "Too many requests; try again later.", {"wait": math.ceil(wait) if wait else None}
        )
    if isinstance(detail, dict):
        return error_body(code, "The request is not valid: see details.", detail)
    if isinstance(detail, list):
        return error_body(code, "The request is not valid: see details.", {"errors": detail})
    reason = exc.get_codes()
    if isinstance(reason, str) and reason != exc.default_code:
        return error_body(code, str(detail), {"reason": reason})
    return error_body(code, str(detail))


# Django-level handlers (config/urls.py): paths under /api/ answer JSON too.


def page_not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("not_found", NOT_FOUND), status=404)
    from django.views.defaults import page_not_found as default

    return default(request, exception)


def server_error(request):
    if request.path.startswith("/api/"):
        return JsonResponse(
            error_body("server_error", "Something went wrong on our side; it was logged."),
            status=500,
        )
    from django.views.defaults import server_error as default

    return default(request)
