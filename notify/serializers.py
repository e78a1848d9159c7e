"""API shapes for watches, notification preferences, webhook endpoints and their
deliveries, and a config's health. Input and output are separate serializers; a
webhook's secret is write-only (responses say only that one is set)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from notify.models import (
    SUBSCRIBABLE,
    DeliveryStatus,
    Mode,
    WebhookDelivery,
    WebhookEndpoint,
)
from notify.services.webhooks import MIN_SECRET_LENGTH


class WatchSerializer(serializers.Serializer):
    organization = serializers.IntegerField()
    watching = serializers.BooleanField()
    since = serializers.DateTimeField(allow_null=True)


class PreferenceSerializer(serializers.Serializer):
    organization = serializers.IntegerField()
    mode = serializers.ChoiceField(choices=Mode.choices)
    default = serializers.BooleanField(help_text="No mode stored: immediately.")
    receives = serializers.BooleanField(
        help_text="Whether notifications of this organization reach the caller: as a "
        "district admin or a watcher, with an email address, and a mode other than off."
    )
    because = serializers.ListField(
        child=serializers.ChoiceField(choices=["district_admin", "watcher"]),
        help_text="Why the caller hears about it: as a district admin, as a watcher.",
    )


class PreferenceInputSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=Mode.choices)


class HealthSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=["ok", "stale", "paused", "disabled"])
    since = serializers.CharField(
        allow_null=True,
        help_text="When the state began, where known: the last success (ok), when it "
        "became stale, the first day of the pause.",
    )
    hours_silent = serializers.FloatField(help_text="Hours since the last successful run.")
    last_success_at = serializers.DateTimeField(allow_null=True)
    stale_after_hours = serializers.IntegerField()
    paused_from = serializers.DateField(allow_null=True)
    paused_until = serializers.DateField(allow_null=True)


def health_representation(health: dict[str, Any]) -> dict[str, Any]:
    since = health.get("since")
    return {
        **HealthSerializer(health).data,
        "since": since.isoformat().replace("+00:00", "Z") if since is not None else None,
    }


class WebhookEndpointSerializer(serializers.ModelSerializer):
    has_secret = serializers.SerializerMethodField()
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    links = serializers.SerializerMethodField()
    events = serializers.ListField(child=serializers.ChoiceField(choices=SUBSCRIBABLE))

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "organization",
            "name",
            "url",
            "events",
            "enabled",
            "has_secret",
            "created_by",
            "created_at",
            "links",
        ]

    def get_has_secret(self, obj: WebhookEndpoint) -> bool:
        return True  # an endpoint cannot be saved without one

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                k: {"type": "string", "format": "uri"} for k in ("self", "deliveries", "test")
            },
        }
    )
    def get_links(self, obj: WebhookEndpoint) -> dict[str, str]:
        request = self.context.get("request")
        return {
            name: reverse(f"api:{route}", kwargs={"pk": obj.pk}, request=request)
            for name, route in (
                ("self", "webhookendpoint-detail"),
                ("deliveries", "webhookendpoint-deliveries"),
                ("test", "webhookendpoint-test"),
            )
        }


class WebhookEndpointInputSerializer(serializers.Serializer):
    """Create (organization, url, secret and events required) or change (any of them
    but the organization)."""

    organization = serializers.IntegerField(
        allow_null=True,
        required=False,
        help_text="The organization; null for a global endpoint (support staff only).",
    )
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    url = serializers.CharField(
        max_length=1024,
        help_text="https:// only; the host must resolve to public addresses only.",
    )
    secret = serializers.CharField(
        write_only=True,
        min_length=MIN_SECRET_LENGTH,
        max_length=500,
        trim_whitespace=False,
        help_text="Signs every delivery (HMAC-SHA256). Write-only: never returned.",
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=SUBSCRIBABLE), min_length=1
    )
    enabled = serializers.BooleanField(required=False)

    def validate_events(self, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class WebhookDeliverySerializer(serializers.ModelSerializer):
    event = serializers.CharField(source="event.kind", read_only=True)
    event_id = serializers.CharField(source="event.public_id", read_only=True)
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event",
            "event_id",
            "attempt",
            "status",
            "response_code",
            "duration_ms",
            "error",
            "next_attempt_at",
            "attempted_at",
            "created_at",
            "payload",
        ]


class TestEventSerializer(serializers.Serializer):
    event_id = serializers.CharField()
    delivery = serializers.IntegerField()
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
