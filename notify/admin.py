"""Notifications in the admin: watches, preferences and stale-sync settings to edit;
webhook endpoints (secret write-only) with a *Send test event* action; events,
notifications and deliveries read-only."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from notify import webhooks
from notify.models import (
    SUBSCRIBABLE,
    ConfigWatch,
    Event,
    Notification,
    NotificationPreference,
    Watch,
    WebhookDelivery,
    WebhookEndpoint,
)
from notify.services.webhooks import MIN_SECRET_LENGTH, webhook_endpoint_save, webhook_test_send


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record of what happened: nobody edits it."""

    show_full_result_count = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Watch)
class WatchAdmin(admin.ModelAdmin):
    list_display = ("user", "organization", "created_at")
    list_select_related = ("user", "organization")
    search_fields = ("user__username", "user__email", "organization__name")
    autocomplete_fields = ("user",)


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "organization", "mode", "updated_at")
    list_filter = ("mode",)
    list_select_related = ("user", "organization")
    search_fields = ("user__username", "user__email", "organization__name")
    autocomplete_fields = ("user",)


@admin.register(ConfigWatch)
class ConfigWatchAdmin(admin.ModelAdmin):
    list_display = (
        "config",
        "stale_after_hours",
        "paused_from",
        "paused_until",
        "stale_since",
        "stale_notified_at",
    )
    list_select_related = ("config__organization",)
    readonly_fields = ("stale_since", "stale_notified_at")
    search_fields = ("config__name", "config__organization__name")


class WebhookEndpointForm(forms.ModelForm):
    """The secret is write-only: never rendered, not even as a hidden value; left blank
    on a change, the stored one is kept."""

    secret = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=f"Signs every delivery; at least {MIN_SECRET_LENGTH} characters. "
        "Write-only: leave blank to keep the current one.",
    )
    url = forms.URLField(
        max_length=1024,
        assume_scheme="https",
        help_text="https:// only; the host must resolve to public addresses only.",
    )
    events = forms.MultipleChoiceField(
        choices=[(k, k) for k in SUBSCRIBABLE], widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("organization", "name", "url", "secret", "events", "enabled")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial.pop("secret", None)
        if self.instance.pk is None:
            self.fields["secret"].required = True

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        problem = webhooks.url_problem(url)
        if problem:
            raise ValidationError(problem)
        return url

    def clean_secret(self) -> str:
        secret = self.cleaned_data.get("secret") or ""
        if secret and len(secret) < MIN_SECRET_LENGTH:
            raise ValidationError(f"Use a secret of at least {MIN_SECRET_LENGTH} characters.")
        return secret

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("secret"):
            cleaned["secret"] = self.instance.secret or ""  # blank keeps the stored one
        return cleaned


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    fields = ("organization", "name", "url", "secret", "events", "enabled")
    list_display = ("__str__", "url", "subscribed", "enabled", "created_by", "created_at")
    list_filter = ("enabled",)
    list_select_related = ("organization", "created_by")
    search_fields = ("name", "url", "organization__name")
    actions = ["send_test_event"]

    @admin.display(description="Events")
    def subscribed(self, obj: WebhookEndpoint) -> str:
        return ", ".join(obj.events or [])

    def has_send_test_event_permission(self, request) -> bool:
        return request.user.has_perm("notify.send_test_event")

    def save_model(self, request, obj, form, change):
        values = {k: form.cleaned_data[k] for k in ("name", "url", "events", "enabled")}
        values["organization"] = form.cleaned_data.get("organization")
        values["secret"] = form.cleaned_data["secret"]
        webhook_endpoint_save(endpoint=obj, values=values, user=request.user)

    @admin.action(description="Send test event", permissions=["send_test_event"])
    def send_test_event(self, request, queryset):
        sent = 0
        for endpoint in queryset:
            webhook_test_send(endpoint=endpoint, user=request.user)
            sent += 1
        self.message_user(
            request,
            f"Test event queued for {sent} endpoint(s); see their deliveries.",
            messages.SUCCESS,
        )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "endpoint",
        "event_kind",
        "attempt",
        "status",
        "response_code",
        "duration_ms",
        "error",
    )
    list_filter = ("status", "event__kind")
    list_select_related = ("endpoint__organization", "event")
    readonly_fields = (
        "endpoint",
        "event",
        "attempt",
        "status",
        "response_code",
        "duration_ms",
        "error",
        "next_attempt_at",
        "attempted_at",
        "created_at",
        "payload",
    )
    fields = readonly_fields

    @admin.display(description="Event", ordering="event__kind")
    def event_kind(self, obj: WebhookDelivery) -> str:
        return obj.event.kind


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "organization", "config", "run")
    list_filter = ("kind",)
    list_select_related = ("organization", "config__organization", "run__config__organization")
    readonly_fields = ("uid", "kind", "key", "organization", "config", "run", "data", "created_at")
    fields = readonly_fields


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "user", "organization", "event_kind", "mode", "status", "sent_at")
    list_filter = ("status", "mode", "event__kind")
    list_select_related = ("user", "organization", "event")
    search_fields = ("user__username", "user__email", "dedupe_key")
    readonly_fields = (
        "user",
        "organization",
        "event",
        "dedupe_key",
        "mode",
        "status",
        "reminder",
        "created_at",
        "sent_at",
        "batch",
        "error",
    )
    fields = readonly_fields

    @admin.display(description="Event", ordering="event__kind")
    def event_kind(self, obj: Notification) -> str:
        return obj.event.kind
