"""What the page views share: sign-in required, the caller's reach, objects in reach
(404 otherwise) and actions allowed (403 otherwise), CSV downloads."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404

from rostering.models import Organization
from syncs import access
from syncs.exports import csv_lines
from syncs.models import SyncConfig, SyncRun


def page(view: Callable) -> Callable:
    """A page for signed-in callers: anyone else goes to the sign-in page. Sets
    `request.reach` once (syncs.access) for the view and its templates."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        request.reach = access.reach(request.user)
        return view(request, *args, **kwargs)

    return login_required(wrapped, login_url="web:login")


def organization_in_reach(request: HttpRequest, org_id: int) -> Organization:
    return get_object_or_404(access.organizations(request.reach), pk=org_id)


def config_in_reach(request: HttpRequest, organization: Organization, config_id: int) -> SyncConfig:
    """A config of the organization, never loading its secrets."""
    return get_object_or_404(
        access.configs(request.reach)
        .filter(organization=organization)
        .defer("sftp_password", "sftp_private_key", "api_token", "oauth_client_secret"),
        pk=config_id,
    )


def run_in_reach(request: HttpRequest, run_id: int, *, diagnostics: bool = False) -> SyncRun:
    """A run in reach, with its config and organization. With `diagnostics`, only for
    callers who see a whole organization (a school admin gets 404: a run's explanation
    and archive list name every school)."""
    run = get_object_or_404(
        access.runs(request.reach)
        .select_related("config__organization", "archives_approved_by")
        .defer(
            "config__sftp_password",
            "config__sftp_private_key",
            "config__api_token",
            "config__oauth_client_secret",
        ),
        pk=run_id,
    )
    if diagnostics and not access.sees_diagnostics(request.reach, run.config.organization_id):
        raise Http404("No run here.")
    return run


def require(request: HttpRequest, action: access.Action, org_id: int) -> None:
    """403 unless the caller may do `action` in an organization they can see."""
    if not access.allowed(request.reach, action, org_id):
        raise PermissionDenied(f"You may not {action.value.replace('_', ' ')} here.")


def filename_part(value: str) -> str:
    """A value as it may appear in a download's file name."""
    return re.sub(r"[^A-Za-z0-9_.]+", "_", value).strip("._")[:40] or "_"


def csv_download(
    header: list[str], rows: Iterable[Iterable[object]], filename: str
) -> StreamingHttpResponse:
    """A formula-safe CSV (syncs.exports), streamed row by row as an attachment."""
    response = StreamingHttpResponse(
        csv_lines(header, rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
