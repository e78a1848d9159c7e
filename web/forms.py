"""Forms of the pages: sign-in (throttled), uploads, the approval's typed count, and
notifications (the caller's mode, a new webhook endpoint)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm

from notify.models import SUBSCRIBABLE, Mode
from notify.services.webhooks import MIN_SECRET_LENGTH
from web import throttle


def client_address(request) -> str:
    """The client's address as the API's throttles see it (DRF's rule): REMOTE_ADDR, or
    behind REST_FRAMEWORK["NUM_PROXIES"] proxies the address that many hops back in
    X-Forwarded-For."""
    if request is None:
        return ""
    remote = request.META.get("REMOTE_ADDR", "")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    proxies = settings.REST_FRAMEWORK.get("NUM_PROXIES")
    if forwarded and proxies:
        hops = [a.strip() for a in forwarded.split(",") if a.strip()]
        if hops:
            return hops[-min(proxies, len(hops))]
    return remote


class SignInForm(AuthenticationForm):
    """Django's sign-in form, refused after too many failures for a username from one
    address (web.throttle)."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "throttled": "Too many failed sign-ins for this username from your address. "
        "Try again in %(minutes)s minute%(plural)s, or ask your district's Rollcall "
        "contact to reset your password.",
    }

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        address = client_address(self.request)
        wait = throttle.wait_seconds(username, address)
        if wait:
            minutes = max(1, -(-wait // 60))
            raise forms.ValidationError(
                self.error_messages["throttled"],
                code="throttled",
                params={"minutes": minutes, "plural": "" if minutes == 1 else "s"},
            )
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            if username:
                throttle.record_failure(username, address)
            raise
        throttle.clear(username, address)
        return cleaned


class AdminSignInForm(SignInForm, AdminAuthenticationForm):
    """The admin's sign-in, throttled the same way: support accounts can do the most."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "throttled": SignInForm.error_messages["throttled"],
    }


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (Django's documented pattern)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)]


class UploadForm(forms.Form):
    files = MultipleFileField(
        label="Roster files",
        help_text="One zip of the export, or its CSV files (choose them all at once).",
    )
    dry_run = forms.BooleanField(
        required=False,
        label="Dry run",
        help_text="Check the files and show what would change, without applying anything.",
    )


class ApproveForm(forms.Form):
    """Rule T5's confirmation: the number of records, typed (`1,204` or `1204`)."""

    count = forms.CharField(label="Number of records to archive", max_length=20)

    def __init__(self, *args, planned: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.planned = planned

    def clean_count(self):
        typed = self.cleaned_data["count"].strip().replace(",", "").replace(" ", "")
        if not typed.isdigit() or int(typed) != self.planned:
            raise forms.ValidationError(
                "That is not the number of records this run would archive. Nothing was "
                "archived: review the list, then type the number shown above.",
                code="count_mismatch",
            )
        return int(typed)


class NotificationPreferenceForm(forms.Form):
    """The caller's own mode for one organization (notify.models.Mode)."""

    mode = forms.ChoiceField(
        label="How you hear about this organization",
        choices=Mode.choices,
        widget=forms.RadioSelect,
    )


class WebhookEndpointForm(forms.Form):
    """A new webhook endpoint. Only the shape is checked here: the URL (https, public
    addresses only), the secret's length and the events are checked by
    notify.services.webhooks.webhook_endpoint_save, whose messages the view puts on the
    form. The secret is write-only: never rendered back, not even after an error."""

    name = forms.CharField(
        label="Name", max_length=100, required=False, help_text="For you: e.g. “Messaging app”."
    )
    url = forms.CharField(
        label="URL",
        max_length=1024,
        help_text="https:// only; the host must resolve to public addresses only.",
        widget=forms.TextInput(attrs={"inputmode": "url", "autocomplete": "off"}),
    )
    secret = forms.CharField(
        label="Secret",
        max_length=500,
        strip=False,
        help_text=f"At least {MIN_SECRET_LENGTH} characters. Each delivery is signed with it "
        "(HMAC-SHA256); it is never shown again.",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    events = forms.MultipleChoiceField(
        label="Events",
        choices=[(kind.value, kind.label) for kind in SUBSCRIBABLE],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one event."},
    )
