"""What the API's views share: the caller's reach, runs in reach, CSV responses."""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.db.models import F, QuerySet
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from rest_framework import exceptions
from rest_framework.renderers import BaseRenderer, JSONRenderer

from syncs import access
from syncs.exports import csv_lines
from syncs.models import SyncRun


def reach_of(request) -> access.Reach:
    """The caller's reach, set once per request by api.permissions.HasReach."""
    return request.reach


def require(request, action: access.Action, org_id: int) -> None:
    """403 unless the caller may do `action` in the organization (they can see it)."""
    if not access.allowed(reach_of(request), action, org_id):
        raise exceptions.PermissionDenied(f"You may not {action.value.replace('_', ' ')} here.")


def run_queryset(reach: access.Reach) -> QuerySet[SyncRun]:
    """Runs in reach, with what their serializer shows of related rows annotated (no
    query per row, and the config's secrets are never loaded)."""
    return access.runs(reach).annotate(
        organization_id=F("config__organization_id"),
        approved_by_username=F("archives_approved_by__username"),
    )


def run_in_reach(request, pk: int) -> SyncRun:
    """The run, with its config and organization, or 404 (missing or out of reach)."""
    return get_object_or_404(
        run_queryset(reach_of(request)).select_related("config__organization"), pk=pk
    )


class CSVRenderer(BaseRenderer):
    """Lets a client ask for text/csv; the CSV views answer with a streaming response,
    which no renderer touches. Errors still render as JSON (see CSVViewMixin)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):  # pragma: no cover
        return JSONRenderer().render(data)


class CSVViewMixin:
    """A view whose success is a streamed CSV file and whose errors are JSON."""

    renderer_classes = [JSONRenderer, CSVRenderer]

    def finalize_response(self, request, response, *args, **kwargs):
        if not isinstance(response, StreamingHttpResponse):
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


def filename_part(value: str) -> str:
    """A filter value as it may appear in a file name."""
    return re.sub(r"[^A-Za-z0-9_.]+", "_", value).strip("._")[:40] or "_"


def csv_response(
    header: list[str], rows: Iterable[Iterable[object]], filename: str
) -> StreamingHttpResponse:
    """A formula-safe CSV (syncs.exports), streamed row by row as an attachment."""
    response = StreamingHttpResponse(
        csv_lines(header, rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
