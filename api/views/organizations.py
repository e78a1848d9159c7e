"""Organizations the caller can see, and each one's sync tab in one response."""

from __future__ import annotations

from django.core.cache import cache
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.viewsets import ReadOnlyModelViewSet

from api import selectors
from api.schema import READ_ERRORS
from api.serializers import (
    OrganizationSerializer,
    SyncTabSerializer,
    api_url,
    school_issue_links,
)
from api.views.base import reach_of
from rostering.models import Organization
from syncs import access

_stamp = serializers.DateTimeField().to_representation
# A cached tab is keyed by everything it shows (its version includes the minute), so
# this only bounds how long unused entries stay.
TAB_CACHE_SECONDS = 120


@extend_schema_view(
    list=extend_schema(
        summary="Organizations you can see", responses={200: OrganizationSerializer, **READ_ERRORS}
    ),
    retrieve=extend_schema(
        summary="An organization", responses={200: OrganizationSerializer, **READ_ERRORS}
    ),
)
class OrganizationViewSet(ReadOnlyModelViewSet):
    queryset = Organization.objects.none()
    serializer_class = OrganizationSerializer
    lookup_value_converter = "int"

    def get_queryset(self):
        return access.organizations(reach_of(self.request)).order_by("name", "pk")

    @extend_schema(
        summary="The sync tab: every config and school of the organization in one response",
        description="Per config: the last finished run, the active run (with its progress) "
        "and the next scheduled start. Per school (a school admin sees only theirs): the "
        "status, errors and alerts by code of the latest real run that reported on it, "
        "its last successful sync, and links to its issues (JSON and CSV). A fixed number "
        "of queries, however many schools.",
        responses={200: SyncTabSerializer, **READ_ERRORS},
    )
    @action(detail=True, url_path="sync-tab", filter_backends=[], pagination_class=None)
    def sync_tab(self, request, pk=None):
        organization = self.get_object()
        reach, now = reach_of(request), timezone.now()
        # Dozens of admins and dashboards poll this page: answer from the shared cache
        # while nothing it shows has changed (one query), build it only when it has.
        version = selectors.sync_tab_version(reach=reach, organization=organization, now=now)
        key = f"{version}:{request.get_host()}:{request.is_secure()}"
        data = cache.get(key)
        if data is None:
            tab = selectors.sync_tab(reach=reach, organization=organization, now=now)
            data = render_sync_tab(request, tab)
            cache.set(key, data, TAB_CACHE_SECONDS)
        else:
            # The live part, fresh on every request: each active run's stage and percent.
            active = selectors.active_runs(reach=reach, organization=organization)
            for config in data["configs"]:
                run = active.get(config["id"])
                config["active_run"] = None if run is None else _active(request, run)
        return Response(data)


def render_sync_tab(request, tab: selectors.SyncTab) -> dict:
    """The sync tab as JSON (the shape SyncTabSerializer documents)."""
    return {
        "organization": OrganizationSerializer(tab.organization, context={"request": request}).data,
        "configs": [_config(request, row) for row in tab.configs],
        "schools": [_school(request, row) for row in tab.schools],
    }


def _config(request, row: selectors.ConfigRow) -> dict:
    last, active = row.last_run, row.active_run
    return {
        "id": row.config.pk,
        "name": row.config.name,
        "source_kind": row.config.source_kind,
        "enabled": row.config.enabled,
        "url": api_url(request, "syncconfig-detail", pk=row.config.pk),
        "last_run": None
        if last is None
        else {
            "id": last.pk,
            "status": last.status,
            "failure_reason": last.failure_reason or None,
            "dry_run": last.dry_run,
            "finished_at": _stamp(last.finished_at),
            "url": api_url(request, "syncrun-detail", pk=last.pk),
        },
        "next_run_at": _stamp(row.next_run_at),
        "active_run": None if active is None else _active(request, active),
    }


def _active(request, run) -> dict:
    return {
        "id": run.pk,
        "status": run.status,
        "stage": run.stage,
        "percent": run.percent,
        "url": api_url(request, "syncrun-detail", pk=run.pk),
    }


def _school(request, row: selectors.SchoolRow) -> dict:
    issues, issues_csv = (
        school_issue_links(request, row.run_id, row.sis_id) if row.run_id else (None, None)
    )
    return {
        "sis_id": row.sis_id,
        "name": row.name,
        "status": row.status,
        "run": row.run_id,
        "last_success_at": _stamp(row.last_success_at),
        "errors": row.errors,
        "alerts": row.alerts,
        "new_errors": row.new_errors,
        "new_alerts": row.new_alerts,
        "errors_by_code": row.errors_by_code,
        "alerts_by_code": row.alerts_by_code,
        "issues_url": issues,
        "issues_csv_url": issues_csv,
    }
