"""Sync configs: read, change (PATCH, as the caller's role allows), queue a run, upload."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from api.errors import ApiError
from api.schema import COMMON_ERRORS, READ_ERRORS, error
from api.serializers import (
    SECRET_FIELDS,
    RunRequestSerializer,
    SyncConfigPatchSerializer,
    SyncConfigSerializer,
    SyncRunRequestedSerializer,
    UploadSerializer,
)
from api.services import sync_config_update
from api.throttles import ScopedThrottle
from api.views.base import reach_of, require, run_queryset
from notify.selectors import configs_with_health_facts
from syncs import access
from syncs.errors import SyncFailure
from syncs.models import SourceKind, SyncConfig, SyncRun, Trigger
from syncs.services import sync_run_active, sync_run_request
from syncs.uploads import sync_run_upload


def config_queryset(reach: access.Reach) -> QuerySet[SyncConfig]:
    """Configs in reach, their secrets never loaded: only whether each is set."""
    flags = {
        f"has_{name}": ExpressionWrapper(~Q(**{name: ""}), output_field=BooleanField())
        for name in SECRET_FIELDS
    }
    # With what its health (stale, paused) reads: no query per config.
    return configs_with_health_facts(access.configs(reach).defer(*SECRET_FIELDS).annotate(**flags))


def config_in_reach(request, pk: int) -> SyncConfig:
    return get_object_or_404(config_queryset(reach_of(request)), pk=pk)


@extend_schema_view(
    list=extend_schema(
        summary="Sync configs you can see", responses={200: SyncConfigSerializer, **READ_ERRORS}
    ),
    retrieve=extend_schema(
        summary="A sync config", responses={200: SyncConfigSerializer, **READ_ERRORS}
    ),
)
class SyncConfigViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet):
    queryset = SyncConfig.objects.none()
    serializer_class = SyncConfigSerializer
    lookup_value_converter = "int"
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self):
        return config_queryset(reach_of(self.request)).order_by("organization__name", "name", "pk")

    @extend_schema(
        summary="Change a sync config",
        description="A district admin may set deletion_threshold, window_start, window_end "
        "and enabled; support staff with change_syncconfig also name and time_zone, and "
        "with manage_credentials the source and its credentials. Secrets are write-only "
        '(responses show only whether each is set; "" removes one). The whole config is '
        "validated; an invalid change saves nothing (400, field messages in details).",
        request=SyncConfigPatchSerializer,
        responses={
            200: SyncConfigSerializer,
            400: error("Invalid values, or fields that cannot be set (code `invalid`)."),
            **COMMON_ERRORS,
        },
    )
    def partial_update(self, request, pk=None):
        config = self.get_object()
        reach = reach_of(request)
        require(request, access.Action.CHANGE_CONFIG, config.organization_id)
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError({"non_field_errors": ["Send a JSON object."]})
        serializer = SyncConfigPatchSerializer(config, data=request.data, partial=True)
        unknown = sorted(set(request.data) - set(serializer.fields))
        if unknown:
            raise exceptions.ValidationError(
                {name: ["This field does not exist or cannot be changed."] for name in unknown}
            )
        if not access.config_fields_allowed(reach, config.organization_id, set(request.data)):
            raise exceptions.PermissionDenied(
                "You may not change some of these fields: " + ", ".join(sorted(request.data)) + "."
            )
        serializer.is_valid(raise_exception=True)
        try:
            sync_config_update(config=config, values=serializer.validated_data)
        except DjangoValidationError as exc:
            raise exceptions.ValidationError(exc.message_dict) from exc
        return Response(self.get_serializer(self.get_object()).data)


def _run_response(request, run: SyncRun, *, existing: bool) -> Response:
    run = run_queryset(reach_of(request)).get(pk=run.pk)
    run.planned_archives_count = run.planned_archives.count()
    run.existing = existing
    data = SyncRunRequestedSerializer(run, context={"request": request}).data
    return Response(data, status=status.HTTP_200_OK if existing else status.HTTP_202_ACCEPTED)


class SyncConfigRunsView(GenericAPIView):
    """Queue a run of the config now (DESIGN §6: at most one queued or running)."""

    serializer_class = RunRequestSerializer
    throttle_classes = [ScopedThrottle]
    throttle_scope = "triggers"

    @extend_schema(
        summary="Queue a run (or a dry run) now",
        description="202 with the run queued now (`existing: false`). When the config "
        "already has a run queued or running, that run comes back instead, with 200 and "
        "`existing: true`; nothing new is queued (whatever `dry_run` said).",
        request=RunRequestSerializer,
        responses={
            202: OpenApiResponse(SyncRunRequestedSerializer, description="Queued now."),
            200: OpenApiResponse(
                SyncRunRequestedSerializer, description="The run already queued or running."
            ),
            400: error("Invalid body (code `invalid`)."),
            **COMMON_ERRORS,
        },
    )
    def post(self, request, pk: int):
        config = config_in_reach(request, pk)
        require(request, access.Action.RUN, config.organization_id)
        body = RunRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        run, created = sync_run_request(
            config=config, trigger=Trigger.API, dry_run=body.validated_data["dry_run"]
        )
        return _run_response(request, run, existing=not created)


class SyncConfigUploadsView(GenericAPIView):
    """Upload a roster export (one zip, or its CSV files) and queue its run."""

    serializer_class = UploadSerializer
    # JSON too, so a body without files gets a 400 that says so rather than a 415.
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    throttle_classes = [ScopedThrottle]
    throttle_scope = "uploads"

    @extend_schema(
        summary="Upload files and queue their run",
        description="multipart/form-data: `files` (one zip, or the CSV files; repeat the "
        "field) and `dry_run`. The same checks and limits as the admin's upload (size, "
        "zip paths and bombs, file kinds). Only for configs whose source is `upload`.",
        request={"multipart/form-data": UploadSerializer},
        responses={
            202: OpenApiResponse(SyncRunRequestedSerializer, description="Stored and queued."),
            400: error("Files refused (code `invalid_files` or `invalid`)."),
            409: error(
                "Not an upload config (`not_upload_config`), or a run is already queued or "
                "running (`run_active`, details.run)."
            ),
            413: error("Larger than the upload limit (code `too_large`)."),
            **COMMON_ERRORS,
        },
    )
    def post(self, request, pk: int):
        config = config_in_reach(request, pk)
        require(request, access.Action.RUN, config.organization_id)
        limit = settings.ROLLCALL["MAX_UPLOAD_BYTES"]
        if int(request.META.get("CONTENT_LENGTH") or 0) > limit + 1024**2:
            raise ApiError(
                "too_large",
                f"The upload is larger than the limit of {limit:,} bytes.",
                {"limit": limit},
                status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        if config.source_kind != SourceKind.UPLOAD:
            raise ApiError(
                "not_upload_config",
                f"This sync's source is {config.get_source_kind_display()}, not uploaded "
                "files: queue a run instead (POST …/runs/).",
                {"source_kind": config.source_kind},
            )
        active = sync_run_active(config=config)
        if active is not None:
            raise _run_active(active)
        body = UploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            run = sync_run_upload(
                config=config,
                files=body.validated_data["files"],
                dry_run=body.validated_data["dry_run"],
            )
        except SyncFailure as exc:
            if "run" in exc.details:  # a run was queued meanwhile
                raise ApiError("run_active", exc.message, exc.details) from exc
            raise ApiError(
                exc.reason, exc.message, exc.details, status_code=status.HTTP_400_BAD_REQUEST
            ) from exc
        return _run_response(request, run, existing=False)


def _run_active(run: SyncRun) -> ApiError:
    return ApiError(
        "run_active",
        f"Run #{run.pk} of this sync is {run.get_status_display().lower()}; upload again "
        "when it has finished.",
        {"run": run.pk},
    )
