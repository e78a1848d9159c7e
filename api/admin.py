"""API tokens in the admin: list, revoke (delete) and make them. A token is shown once,
on the page right after it is made; only its hash is stored. (Registered here rather
than in accounts/admin.py: the token is the API's business.)"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils import timezone
from knox.models import get_digest_token
from knox.settings import CONSTANTS

from accounts.models import ApiToken, User


class ApiTokenAddForm(forms.ModelForm):
    expires_days = forms.IntegerField(
        min_value=1,
        max_value=3650,
        label="Expires after (days)",
        help_text="Every token expires.",
    )

    class Meta:
        model = ApiToken
        fields = ["user", "name", "read_only"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["expires_days"].initial = settings.REST_KNOX["TOKEN_TTL"].days


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "token_key", "read_only", "created", "expiry", "expired")
    list_filter = ("read_only",)
    search_fields = ("name", "user__username", "token_key")
    list_select_related = ("user",)
    show_full_result_count = False
    readonly_fields = ("user", "token_key", "created", "expiry")
    fields = ("user", "name", "read_only", "token_key", "created", "expiry")

    @admin.display(boolean=True, description="Expired")
    def expired(self, obj: ApiToken) -> bool:
        return obj.expiry is not None and obj.expiry < timezone.now()

    def get_queryset(self, request):
        # Staff who are not superusers see (and revoke) only their own tokens.
        qs = super().get_queryset(request)
        return qs if request.user.is_superuser else qs.filter(user=request.user)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiTokenAddForm
            kwargs["fields"] = ["user", "name", "read_only", "expires_days"]
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["user", "name", "read_only", "expires_days"]
        return self.fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # A token acts as its user: only a superuser may make one for someone else.
        if db_field.name == "user" and not request.user.is_superuser:
            kwargs["queryset"] = User.objects.filter(pk=request.user.pk)
            kwargs["initial"] = request.user.pk
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name", "read_only"])
            return
        digest, token = get_digest_token()
        obj.digest = digest
        obj.token_key = token[: CONSTANTS.TOKEN_KEY_LENGTH]
        obj.expiry = timezone.now() + timedelta(days=form.cleaned_data["expires_days"])
        ApiToken.objects.filter(user=obj.user, expiry__lt=timezone.now()).delete()
        obj.save(force_insert=True)
        request._api_token_shown_once = token

    def response_add(self, request, obj, post_url_continue=None):
        # The token is never stored: show it on this page, once, instead of redirecting.
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "API token created",
            "token": request._api_token_shown_once,
            "object": obj,
        }
        response = TemplateResponse(request, "admin/accounts/apitoken/created.html", context)
        response["Cache-Control"] = "no-store"
        return response
