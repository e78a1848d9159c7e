"""Runs: list and poll (ETag), their schools, issues and planned archives (JSON and CSV),
and approving a blocked run's archives (rule T5)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.cache import patch_vary_headers
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, status
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.response import Response
from rest_framework.viewsets import ReadOnlyModelViewSet

from api import etags
from api.errors import ApiError
from api.filters import IssueFilter, PlannedArchiveFilter, SyncRunFilter
from api.pagination import IssueCursorPagination, RunCursorPagination
from api.schema import COMMON_ERRORS, CSV_ERRORS, CSV_RESPONSE, READ_ERRORS, error
from api.serializers import (
    ISSUE_FIELDS,
    ApproveArchivesSerializer,
    ApprovedSerializer,
    IssueSerializer,
    PlannedArchiveSerializer,
    SchoolSummarySerializer,
    SyncRunDetailSerializer,
    SyncRunSerializer,
)
from api.throttles import ScopedThrottle
from api.views.base import (
    CSVViewMixin,
    csv_response,
    filename_part,
    reach_of,
    require,
    run_in_reach,
    run_queryset,
)
from syncs import access
from syncs.errors import SyncFailure
from syncs.exports import PLANNED_ARCHIVE_HEADER
from syncs.models import FailureReason, PlannedArchive, SyncRun
from syncs.services import sync_run_approve_archives
from syncs.services.approvals import held_archives

# Approving one held school's archives (rule T6) changes a run's counts, message and
# diagnostics but none of etags.VERSION_FIELDS (archives_approved_at waits for the last
# school): the counts are part of a run's version too, so a poller sees the approval.
RUN_VERSION_FIELDS = (*etags.VERSION_FIELDS, "counts")
# A run's body gained `held` and `held_updates`: ETags from before it no longer match.
HELD_REPRESENTATION = "held-v1"

IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="The ETag of the run as last fetched: 304 while it has not changed.",
)


@extend_schema_view(
    list=extend_schema(
        summary="Runs you can see, newest first",
        responses={200: SyncRunSerializer, **READ_ERRORS},
    ),
)
class SyncRunViewSet(ReadOnlyModelViewSet):
    queryset = SyncRun.objects.none()
    serializer_class = SyncRunSerializer
    filterset_class = SyncRunFilter
    pagination_class = RunCursorPagination
    lookup_value_converter = "int"

    def get_queryset(self):
        return run_queryset(reach_of(self.request))

    def get_serializer_class(self):
        return SyncRunDetailSerializer if self.action == "retrieve" else SyncRunSerializer

    @extend_schema(
        summary="A run: status, stage, progress, counts, diagnostics",
        description="Sends an ETag. Poll with If-None-Match: 304 with no body while "
        "nothing you would see has changed (one small query). `diagnostics` is null for a "
        "school admin.",
        parameters=[IF_NONE_MATCH],
        responses={
            200: SyncRunDetailSerializer,
            304: OpenApiResponse(description="Not modified since the ETag sent."),
            **READ_ERRORS,
        },
    )
    def retrieve(self, request, pk=None):
        reach = reach_of(request)
        if_none_match = request.headers.get("If-None-Match")
        if if_none_match:
            # The cheap path: one query of the version fields, nothing rendered.
            row = (
                access.runs(reach)
                .filter(pk=pk)
                .values_list(*RUN_VERSION_FIELDS, "config__organization_id")[:1]
            )
            found = list(row)
            if not found:
                raise exceptions.NotFound()
            *version, org_id = found[0]
            version.append(HELD_REPRESENTATION)
            etag = etags.run_etag(pk, version, diagnostics=access.sees_diagnostics(reach, org_id))
            if etags.matches(if_none_match, etag):
                return _not_modified(etag)
        run = self.get_object()
        run.planned_archives_count = run.planned_archives.count()
        etag = etags.run_etag(
            run.pk,
            (*etags.etag_of(run), run.counts, HELD_REPRESENTATION),
            diagnostics=access.sees_diagnostics(reach, run.organization_id),
        )
        response = Response(self.get_serializer(run).data)
        _cache_headers(response, etag)
        return response


def _not_modified(etag: str) -> Response:
    response = Response(status=status.HTTP_304_NOT_MODIFIED)
    _cache_headers(response, etag)
    return response


def _cache_headers(response: Response, etag: str) -> None:
    response["ETag"] = etag
    # Per caller (token or session), and always revalidated.
    response["Cache-Control"] = "private, no-cache"
    patch_vary_headers(response, ("Authorization", "Cookie"))


class RunChildMixin:
    """Views below one run: the run is looked up in reach first (404 otherwise)."""

    def run(self) -> SyncRun:
        if not hasattr(self, "_run"):
            self._run = run_in_reach(self.request, self.kwargs["pk"])
        return self._run


@extend_schema_view(
    get=extend_schema(
        summary="A run's school summaries (a school admin: only theirs)",
        responses={200: SchoolSummarySerializer(many=True), **READ_ERRORS},
    )
)
class SyncRunSchoolsView(RunChildMixin, ListAPIView):
    serializer_class = SchoolSummarySerializer
    pagination_class = None
    filter_backends: list = []

    def get_queryset(self):
        return access.run_summaries(reach_of(self.request), self.run()).order_by("sis_id")


def _issue_rows(view) -> QuerySet:
    """The run's issues in reach, filtered by the query string (400 on a bad filter)."""
    issues = access.run_issues(reach_of(view.request), view.run())
    filters = IssueFilter(view.request.query_params, queryset=issues)
    if not filters.is_valid():
        raise exceptions.ValidationError(filters.errors)
    return filters.qs


@extend_schema_view(
    get=extend_schema(
        summary="A run's issues (a school admin: only their school's)",
        description="Filter by `school` (SIS ID), `code`, `severity` and `new`. Cursor "
        "pages in the order the run found them.",
        responses={200: IssueSerializer(many=True), **READ_ERRORS},
    )
)
class SyncRunIssuesView(RunChildMixin, ListAPIView):
    serializer_class = IssueSerializer
    pagination_class = IssueCursorPagination
    filterset_class = IssueFilter
    filter_backends: list = []  # filtered in get_queryset, which the CSV shares

    def get_queryset(self):
        return _issue_rows(self).values("id", *ISSUE_FIELDS.values())


@extend_schema_view(
    get=extend_schema(
        summary="A run's issues as a CSV file",
        description="The same rows and filters as the JSON list. Named after the "
        "organization, the run and the filters.",
        parameters=[
            OpenApiParameter("school", OpenApiTypes.STR),
            OpenApiParameter("code", OpenApiTypes.STR),
            OpenApiParameter("severity", OpenApiTypes.STR, enum=["error", "alert"]),
            OpenApiParameter("new", OpenApiTypes.BOOL),
        ],
        responses={**CSV_RESPONSE, **CSV_ERRORS},
    )
)
class SyncRunIssuesCSVView(CSVViewMixin, RunChildMixin, GenericAPIView):
    throttle_classes = [ScopedThrottle]
    throttle_scope = "downloads"
    pagination_class = None
    filter_backends: list = []

    def get(self, request, pk: int):
        run = self.run()
        rows = _issue_rows(self).order_by("id").values_list(*ISSUE_FIELDS.values())
        name = f"{run.config.organization.slug}-run-{run.pk}-issues"
        for key in ("school", "code", "severity", "new"):
            value = request.query_params.get(key)
            if value:
                name += f"-{key}-{filename_part(value)}"
        return csv_response(list(ISSUE_FIELDS), _csv_issue_rows(rows.iterator()), f"{name}.csv")


def _csv_issue_rows(rows):
    new_at = list(ISSUE_FIELDS).index("new")
    seen_at = new_at + 1
    for row in rows:
        row = list(row)
        row[new_at] = "yes" if row[new_at] else "no"
        row[seen_at] = row[seen_at].isoformat() if row[seen_at] else ""
        yield row


def _planned_rows(view) -> QuerySet[PlannedArchive]:
    archives = access.run_planned_archives(reach_of(view.request), view.run())
    filters = PlannedArchiveFilter(view.request.query_params, queryset=archives)
    if not filters.is_valid():
        raise exceptions.ValidationError(filters.errors)
    return filters.qs.order_by("kind", "source_id", "id")


@extend_schema_view(
    get=extend_schema(
        summary="The records a run planned to archive",
        description="Every kind, enrollments and guardian links included, each with a name "
        "and a school. Review this before approving a blocked run's archives.",
        responses={200: PlannedArchiveSerializer(many=True), **READ_ERRORS},
    )
)
class SyncRunPlannedArchivesView(RunChildMixin, ListAPIView):
    serializer_class = PlannedArchiveSerializer
    filterset_class = PlannedArchiveFilter
    filter_backends: list = []

    def get_queryset(self):
        return _planned_rows(self)


@extend_schema_view(
    get=extend_schema(
        summary="The records a run planned to archive, as a CSV file",
        parameters=[
            OpenApiParameter("kind", OpenApiTypes.STR),
            OpenApiParameter("school", OpenApiTypes.STR),
        ],
        responses={**CSV_RESPONSE, **CSV_ERRORS},
    )
)
class SyncRunPlannedArchivesCSVView(CSVViewMixin, RunChildMixin, GenericAPIView):
    throttle_classes = [ScopedThrottle]
    throttle_scope = "downloads"
    pagination_class = None
    filter_backends: list = []

    def get(self, request, pk: int):
        run = self.run()
        rows = _planned_rows(self).values_list("kind", "source_id", "name", "school_sis_id")
        name = f"{run.config.organization.slug}-run-{run.pk}-planned-archives"
        for key in ("kind", "school"):
            value = request.query_params.get(key)
            if value:
                name += f"-{key}-{filename_part(value)}"
        return csv_response(PLANNED_ARCHIVE_HEADER, rows.iterator(), f"{name}.csv")


class SyncRunApproveArchivesView(RunChildMixin, GenericAPIView):
    """Rule T5: archive, once, what a threshold-blocked run planned to archive."""

    serializer_class = ApproveArchivesSerializer
    throttle_classes = [ScopedThrottle]
    throttle_scope = "triggers"

    @extend_schema(
        summary="Approve a blocked run's archives (once), or one held school's",
        description="Only the latest real run of its config that failed on the deletion "
        "threshold, and only once; recorded with who and when. With `school` (a held "
        "school's SIS ID, rule T6) only that school's held archives are approved; without "
        "it, every archive still held. `expected_count` is how many records you reviewed "
        "(GET …/planned-archives/, `?school=` for one school): it must equal the count "
        "held (of that school).",
        request=ApproveArchivesSerializer,
        responses={
            200: ApprovedSerializer,
            400: error("Invalid body (code `invalid`)."),
            409: error(
                "Refused: `count_mismatch` (details: expected_count, planned_count), "
                "`already_approved`, `not_blocked` (not a real run blocked by the threshold), "
                "`not_held` (the school holds nothing, or was approved already), "
                "`not_latest` (a later run of the config exists)."
            ),
            **COMMON_ERRORS,
        },
    )
    def post(self, request, pk: int):
        run = self.run()
        require(request, access.Action.APPROVE, run.config.organization_id)
        body = ApproveArchivesSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        refusal = _refusal(run)
        if refusal:
            raise refusal
        school = body.validated_data.get("school")
        planned = held_archives(run, school=school).count()
        if school is not None and not planned:
            raise ApiError(
                "not_held",
                f"Run #{run.pk} holds no archives of school {school} (not held, or "
                "already approved).",
                {"school": school},
            )
        expected = body.validated_data["expected_count"]
        if expected != planned:
            where = f" of school {school}" if school is not None else ""
            raise ApiError(
                "count_mismatch",
                f"Run #{run.pk} holds {planned} record(s){where} for approval, not "
                f"{expected}: review the list again (GET …/planned-archives/).",
                {"expected_count": expected, "planned_count": planned},
            )
        try:
            archived = sync_run_approve_archives(run=run, user=request.user, school=school)
        except SyncFailure as exc:
            run.refresh_from_db()
            refusal = _refusal(run)
            code = "not_held" if exc.reason == "not_held" else None
            raise ApiError(
                code or (refusal.code if refusal else "not_latest"), exc.message
            ) from exc
        fresh = run_queryset(reach_of(request)).get(pk=run.pk)
        fresh.planned_archives_count = PlannedArchive.objects.filter(run=run).count()
        data = ApprovedSerializer(
            {"archived": archived, "run": fresh}, context={"request": request}
        ).data
        return Response(data, status=status.HTTP_200_OK)


def _refusal(run: SyncRun) -> ApiError | None:
    """Why a run's archives cannot be approved, as far as the run itself says (the
    service also refuses a run that is no longer its config's latest)."""
    if run.dry_run or run.failure_reason != FailureReason.THRESHOLD:
        return ApiError(
            "not_blocked",
            "Only a real run blocked by the deletion threshold can be approved.",
            {"status": run.status, "failure_reason": run.failure_reason or None},
        )
    if run.archives_approved_at:
        by = run.archives_approved_by.get_username() if run.archives_approved_by else None
        return ApiError(
            "already_approved",
            f"Run #{run.pk}'s archives were already approved"
            + (f" by {by}" if by else "")
            + f" at {run.archives_approved_at:%Y-%m-%d %H:%M} UTC.",
            {"archives_approved_by": by, "archives_approved_at": run.archives_approved_at},
        )
    return None
