"""An organization's notifications page: the caller's own mode (immediately, a daily
digest, off) and the organization's webhook endpoints.

Who may do what is notify's rule, as in notify/api.py: an organization out of reach is a
404; its district admins and support staff set their own mode (school admins get no
notifications, so they see why and get a 403 if they post); endpoints are listed, added,
disabled, deleted and tested by district admins of the organization and staff with the
notify permissions (notify.selectors.may_manage_endpoint). Writes go through notify's
services, so the page checks a URL exactly as the API does. A secret is write-only: no
page ever renders it, not even after an error.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from notify import selectors as notify_selectors
from notify.models import EventKind, Mode, WebhookEndpoint
from notify.services.watches import preference_set
from notify.services.webhooks import webhook_endpoint_save, webhook_test_send
from rostering.models import Organization
from syncs import access
from web import selectors
from web.forms import NotificationPreferenceForm, WebhookEndpointForm
from web.views.base import organization_in_reach, page

EVENT_LABELS = dict(EventKind.choices)


def may_set_preference(reach: access.Reach, organization_id: int) -> bool:
    """District admins of the organization and support staff: the people notifications
    go to (notify.selectors.recipients). A school admin never gets them."""
    if reach.read_only or reach.anonymous:
        return False
    return reach.staff_all or organization_id in reach.district_orgs


def _back(organization: Organization, anchor: str = "") -> str:
    return reverse("web:notifications", args=[organization.pk]) + anchor


def _render(
    request,
    organization: Organization,
    *,
    preference_form: NotificationPreferenceForm | None = None,
    endpoint_form: WebhookEndpointForm | None = None,
    status: int = 200,
):
    reach = request.reach
    org_id = organization.pk
    preference = notify_selectors.preference_of(request.user, org_id)
    can_set = may_set_preference(reach, org_id)
    if preference_form is None and can_set:
        preference_form = NotificationPreferenceForm(initial={"mode": preference["mode"]})
    endpoints = selectors.organization_endpoints(reach, organization)
    for endpoint in endpoints:
        endpoint.event_labels = [EVENT_LABELS.get(kind, kind) for kind in endpoint.events or []]
    can = {
        action: notify_selectors.may_manage_endpoint(reach, org_id, action)
        for action in ("add", "change", "delete", "test")
    }
    if endpoint_form is None and can["add"]:
        endpoint_form = WebhookEndpointForm()
    return render(
        request,
        "web/notifications.html",
        {
            "organization": organization,
            "crumb": "Notifications",
            "preference": preference,
            "mode_label": Mode(preference["mode"]).label,
            "can_set_preference": can_set,
            "preference_form": preference_form,
            "endpoints": endpoints,
            "can": can,
            "sees_endpoints": bool(endpoints) or any(can.values()),
            "endpoint_form": endpoint_form,
            "time_zone": access.configs(reach)
            .filter(organization=organization)
            .values_list("time_zone", flat=True)
            .first()
            or "UTC",
        },
        status=status,
    )


@page
@require_GET
def notifications(request, org_id: int):
    organization = organization_in_reach(request, org_id)
    return _render(request, organization)


@page
@require_POST
def preference(request, org_id: int):
    """Set the caller's own mode for the organization."""
    organization = organization_in_reach(request, org_id)
    if not may_set_preference(request.reach, organization.pk):
        raise PermissionDenied(
            "Notifications go to district admins and support staff; a school admin gets none."
        )
    form = NotificationPreferenceForm(request.POST)
    if not form.is_valid():
        return _render(request, organization, preference_form=form, status=400)
    saved = preference_set(
        user=request.user, organization=organization, mode=form.cleaned_data["mode"]
    )
    messages.success(
        request, f"Your notifications for {organization.name}: {saved.get_mode_display()}."
    )
    return redirect(_back(organization, "#preference"))


def _require(request, organization: Organization, action: str) -> None:
    if not notify_selectors.may_manage_endpoint(request.reach, organization.pk, action):
        raise PermissionDenied(f"You may not {action} webhook endpoints here.")


def _endpoint(request, organization: Organization, endpoint_id: int) -> WebhookEndpoint:
    """One of the organization's endpoints the caller can see (404 otherwise)."""
    return get_object_or_404(
        notify_selectors.webhook_endpoints(request.reach).filter(organization=organization),
        pk=endpoint_id,
    )


@page
@require_POST
def endpoint_add(request, org_id: int):
    organization = organization_in_reach(request, org_id)
    _require(request, organization, "add")
    form = WebhookEndpointForm(request.POST)
    if form.is_valid():
        values = {
            "name": form.cleaned_data["name"],
            "url": form.cleaned_data["url"].strip(),
            "secret": form.cleaned_data["secret"],
            "events": list(dict.fromkeys(form.cleaned_data["events"])),
        }
        try:
            endpoint = webhook_endpoint_save(
                endpoint=WebhookEndpoint(organization=organization),
                values=values,
                user=request.user,
            )
        except DjangoValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            messages.success(request, f"Webhook endpoint “{endpoint.name or endpoint.url}” added.")
            return redirect(_back(organization, f"#endpoint-{endpoint.pk}"))
    return _render(request, organization, endpoint_form=form, status=400)


@page
@require_POST
def endpoint_enabled(request, org_id: int, endpoint_id: int):
    """Enable (the URL is checked again, by notify's service) or disable an endpoint."""
    organization = organization_in_reach(request, org_id)
    endpoint = _endpoint(request, organization, endpoint_id)
    _require(request, organization, "change")
    label = endpoint.name or endpoint.url
    if request.POST.get("enabled") == "1":
        try:
            webhook_endpoint_save(endpoint=endpoint, values={"enabled": True}, user=request.user)
        except DjangoValidationError as exc:
            problems = [m for messages_ in exc.message_dict.values() for m in messages_]
            messages.error(request, f"“{label}” was not enabled: " + " ".join(problems))
        else:
            messages.success(request, f"“{label}” is enabled.")
    else:
        # Disabling never depends on the URL still resolving: only the flag is written.
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=False)
        messages.success(request, f"“{label}” is disabled: nothing more is sent to it.")
    return redirect(_back(organization, f"#endpoint-{endpoint.pk}"))


@page
@require_POST
def endpoint_delete(request, org_id: int, endpoint_id: int):
    organization = organization_in_reach(request, org_id)
    endpoint = _endpoint(request, organization, endpoint_id)
    _require(request, organization, "delete")
    label = endpoint.name or endpoint.url
    endpoint.delete()
    messages.success(request, f"“{label}” and its delivery log are deleted.")
    return redirect(_back(organization, "#webhooks"))


@page
@require_POST
def endpoint_test(request, org_id: int, endpoint_id: int):
    """Queue a `test` event to this endpoint only; the worker delivers it."""
    organization = organization_in_reach(request, org_id)
    endpoint = _endpoint(request, organization, endpoint_id)
    _require(request, organization, "test")
    delivery = webhook_test_send(endpoint=endpoint, user=request.user)
    messages.success(
        request,
        f"A test event ({delivery.event.public_id}) is queued for “{endpoint.name or endpoint.url}”: "
        "its delivery shows below once attempted.",
    )
    return redirect(_back(organization, f"#endpoint-{endpoint.pk}"))
