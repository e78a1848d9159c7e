"""The API's notification endpoints (mounted under /api/v1/ by notify/urls.py).

- `organizations/{id}/watch/`: support staff follow an organization (GET, PUT, DELETE).
- `organizations/{id}/notification-preference/`: the caller's mode (GET, PUT).
- `webhook-endpoints/`: district admins manage their organization's; staff, with the
  notify permissions, any and the global ones. Secrets are write-only.
- `webhook-endpoints/{id}/deliveries/` and `POST webhook-endpoints/{id}/test/`.
- `sync-configs/{id}/health/`: ok, stale, paused or disabled.

Scoping as everywhere (syncs.access): an object out of reach is a 404, an action the
caller may not take on one they can see a 403, and a read-only token may only read.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from api.schema import COMMON_ERRORS, READ_ERRORS, error
from api.throttles import ScopedThrottle
from api.views.base import reach_of
from notify import selectors
from notify.content import SECRET_FIELDS
from notify.models import Watch, WebhookEndpoint
from notify.serializers import (
    HealthSerializer,
    PreferenceInputSerializer,
    PreferenceSerializer,
    TestEventSerializer,
    WatchSerializer,
    WebhookDeliverySerializer,
    WebhookEndpointInputSerializer,
    WebhookEndpointSerializer,
    health_representation,
)
from notify.services.watches import preference_set, watch_set, watch_unset
from notify.services.webhooks import webhook_endpoint_save, webhook_test_send
from rostering.models import Organization
from syncs import access

INVALID = {400: error("Invalid body (code `invalid`, field messages in details).")}


def organization_in_reach(request, pk: int) -> Organization:
    return get_object_or_404(access.organizations(reach_of(request)), pk=pk)


# ---------------------------------------------------------------- watch


class OrganizationWatchView(GenericAPIView):
    """Support staff watch an organization to get its notifications (district admins
    get their own organization's by their role)."""

    serializer_class = WatchSerializer

    def _watch(self, request, pk: int) -> tuple[Organization, Watch | None]:
        organization = organization_in_reach(request, pk)
        if not reach_of(request).staff_all:
            raise exceptions.PermissionDenied(
                "Only support staff watch organizations; district admins hear about their "
                "own organization by their role."
            )
        return organization, Watch.objects.filter(
            user=request.user, organization=organization
        ).first()

    @staticmethod
    def _body(organization: Organization, watch: Watch | None) -> dict:
        return WatchSerializer(
            {
                "organization": organization.pk,
                "watching": watch is not None,
                "since": watch.created_at if watch else None,
            }
        ).data

    @extend_schema(
        summary="Whether you watch the organization (staff)",
        responses={200: WatchSerializer, **COMMON_ERRORS},
    )
    def get(self, request, pk: int):
        return Response(self._body(*self._watch(request, pk)))

    @extend_schema(
        summary="Watch the organization (staff): get its notifications",
        request=None,
        responses={200: WatchSerializer, **COMMON_ERRORS},
    )
    def put(self, request, pk: int):
        organization, _ = self._watch(request, pk)
        watch = watch_set(user=request.user, organization=organization)
        return Response(self._body(organization, watch))

    @extend_schema(
        summary="Stop watching the organization (staff)",
        responses={204: OpenApiResponse(description="Not watching (any more)."), **COMMON_ERRORS},
    )
    def delete(self, request, pk: int):
        organization, _ = self._watch(request, pk)
        watch_unset(user=request.user, organization=organization)
        return Response(status=status.HTTP_204_NO_CONTENT)


# ---------------------------------------------------------------- preference


class NotificationPreferenceView(GenericAPIView):
    """How the caller hears about an organization: immediately, a daily digest, or off."""

    serializer_class = PreferenceSerializer

    @extend_schema(
        summary="Your notification mode for the organization",
        responses={200: PreferenceSerializer, **READ_ERRORS},
    )
    def get(self, request, pk: int):
        organization = organization_in_reach(request, pk)
        return Response(
            PreferenceSerializer(selectors.preference_of(request.user, organization.pk)).data
        )

    @extend_schema(
        summary="Set your notification mode for the organization",
        description="`immediate` (an email per event), `daily` (one digest a day) or `off`.",
        request=PreferenceInputSerializer,
        responses={200: PreferenceSerializer, **INVALID, **COMMON_ERRORS},
    )
    def put(self, request, pk: int):
        organization = organization_in_reach(request, pk)
        body = PreferenceInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        preference_set(
            user=request.user, organization=organization, mode=body.validated_data["mode"]
        )
        return Response(
            PreferenceSerializer(selectors.preference_of(request.user, organization.pk)).data
        )


# ---------------------------------------------------------------- webhook endpoints


def _require(request, organization_id: int | None, action: str) -> None:
    if not selectors.may_manage_endpoint(reach_of(request), organization_id, action):
        raise exceptions.PermissionDenied(f"You may not {action} webhook endpoints here.")


def _save(endpoint: WebhookEndpoint, values: dict, user) -> WebhookEndpoint:
    try:
        return webhook_endpoint_save(endpoint=endpoint, values=values, user=user)
    except DjangoValidationError as exc:
        raise exceptions.ValidationError(exc.message_dict) from exc


@extend_schema_view(
    list=extend_schema(
        summary="Webhook endpoints you can see",
        responses={200: WebhookEndpointSerializer, **READ_ERRORS},
    ),
    retrieve=extend_schema(
        summary="A webhook endpoint", responses={200: WebhookEndpointSerializer, **READ_ERRORS}
    ),
    destroy=extend_schema(
        summary="Delete a webhook endpoint (and its delivery log)",
        responses={204: OpenApiResponse(description="Deleted."), **COMMON_ERRORS},
    ),
)
class WebhookEndpointViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    GenericViewSet,
):
    """Signed webhooks: each event the endpoint subscribes to is POSTed as JSON with
    `Rollcall-Timestamp` and `Rollcall-Signature: v1=<hex HMAC-SHA256(secret,
    "{timestamp}.{body}")>`, retried with backoff; every attempt is logged."""

    queryset = WebhookEndpoint.objects.none()
    serializer_class = WebhookEndpointSerializer
    lookup_value_converter = "int"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.webhook_endpoints(reach_of(self.request)).order_by("pk")

    @extend_schema(
        summary="Add a webhook endpoint",
        description="A district admin adds endpoints for their organization; support "
        "staff with add_webhookendpoint for any organization, or a global one "
        "(`organization: null`, every organization's events). The URL must be https:// "
        "and resolve to public addresses only. The secret is write-only.",
        request=WebhookEndpointInputSerializer,
        responses={201: WebhookEndpointSerializer, **INVALID, **COMMON_ERRORS},
    )
    def create(self, request):
        body = WebhookEndpointInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        values = dict(body.validated_data)
        organization_id = values.pop("organization", None)
        if organization_id is not None and not (
            access.organizations(reach_of(request)).filter(pk=organization_id).exists()
        ):
            raise exceptions.ValidationError({"organization": ["No such organization."]})
        _require(request, organization_id, "add")
        endpoint = _save(WebhookEndpoint(organization_id=organization_id), values, request.user)
        return Response(
            self.get_serializer(self.get_queryset().get(pk=endpoint.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary="Change a webhook endpoint",
        description="Any field but the organization. A secret left out keeps the stored one.",
        request=WebhookEndpointInputSerializer(partial=True),
        responses={200: WebhookEndpointSerializer, **INVALID, **COMMON_ERRORS},
    )
    def partial_update(self, request, pk=None):
        endpoint = self.get_object()
        _require(request, endpoint.organization_id, "change")
        body = WebhookEndpointInputSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        values = dict(body.validated_data)
        if "organization" in values and values.pop("organization") != endpoint.organization_id:
            raise exceptions.ValidationError(
                {"organization": ["An endpoint's organization cannot be changed."]}
            )
        _save(endpoint, values, request.user)
        return Response(self.get_serializer(self.get_queryset().get(pk=endpoint.pk)).data)

    def destroy(self, request, *args, **kwargs):
        endpoint = self.get_object()
        _require(request, endpoint.organization_id, "delete")
        endpoint.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


def endpoint_in_reach(request, pk: int) -> WebhookEndpoint:
    return get_object_or_404(selectors.webhook_endpoints(reach_of(request)), pk=pk)


class WebhookDeliveriesView(ListAPIView):
    """Every attempt to deliver to the endpoint, newest first."""

    serializer_class = WebhookDeliverySerializer
    filter_backends: list = []

    def get_queryset(self):
        endpoint = endpoint_in_reach(self.request, self.kwargs["pk"])
        return selectors.deliveries_of(endpoint).order_by("-created_at", "-pk")

    @extend_schema(
        summary="A webhook endpoint's delivery log (every attempt)",
        responses={200: WebhookDeliverySerializer(many=True), **READ_ERRORS},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class WebhookTestView(GenericAPIView):
    """Queue a `test` event to this endpoint only (the worker delivers it)."""

    serializer_class = TestEventSerializer
    throttle_classes = [ScopedThrottle]
    throttle_scope = "triggers"

    @extend_schema(
        summary="Send a test event to the endpoint",
        description="Queued for the worker; follow it in the endpoint's deliveries.",
        request=None,
        responses={202: TestEventSerializer, **COMMON_ERRORS},
    )
    def post(self, request, pk: int):
        endpoint = endpoint_in_reach(request, pk)
        _require(request, endpoint.organization_id, "test")
        delivery = webhook_test_send(endpoint=endpoint, user=request.user)
        body = {
            "event_id": delivery.event.public_id,
            "delivery": delivery.pk,
            "status": delivery.status,
        }
        return Response(TestEventSerializer(body).data, status=status.HTTP_202_ACCEPTED)


# ---------------------------------------------------------------- health


class SyncConfigHealthView(GenericAPIView):
    """Whether a config is syncing: ok, stale, paused or disabled."""

    serializer_class = HealthSerializer

    @extend_schema(
        summary="A sync config's health",
        description="`stale` after `stale_after_hours` (default 36) without a successful "
        "run; `paused` between `paused_from` and `paused_until` (the config's time zone); "
        "`disabled` when disabled. Paused and disabled configs are never stale.",
        responses={200: HealthSerializer, **READ_ERRORS},
    )
    def get(self, request, pk: int):
        configs = selectors.configs_with_health_facts(
            access.configs(reach_of(request)).defer(*SECRET_FIELDS)
        )
        config = get_object_or_404(configs, pk=pk)
        return Response(health_representation(selectors.config_health(config, timezone.now())))
