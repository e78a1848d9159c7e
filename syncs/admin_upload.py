"""The admin's "Upload files and sync" page for a sync config."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from syncs.errors import SyncFailure
from syncs.models import SyncConfig
from syncs.uploads import sync_run_upload


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".csv,.zip"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class UploadForm(forms.Form):
    files = MultipleFileField(label="A zip of the export, or its CSV files")
    dry_run = forms.BooleanField(required=False, label="Dry run: check and plan, change nothing")


class UploadAdminMixin:
    """Adds /admin/syncs/syncconfig/<pk>/upload/ to SyncConfigAdmin.

    An upload queues a run, so the page (GET too) takes what "Check for new data" takes:
    the admin's `has_run_sync_permission` (syncs.run_sync, asked of syncs.access). Without
    it the answer is 403, before the config is even looked up.
    """

    def get_urls(self):
        view = self.admin_site.admin_view(self.upload_view)
        return [path("<int:pk>/upload/", view, name="syncs_syncconfig_upload"), *super().get_urls()]

    def upload_view(self, request, pk: int):
        if not self.has_run_sync_permission(request):
            raise PermissionDenied
        config = get_object_or_404(SyncConfig, pk=pk)
        if not self.has_view_permission(request, config):
            raise PermissionDenied
        form = UploadForm(request.POST or None, request.FILES or None)
        too_big = int(request.META.get("CONTENT_LENGTH") or 0) > (
            settings.ROLLCALL["MAX_UPLOAD_BYTES"] + 1024**2
        )
        if request.method == "POST" and too_big:
            form.add_error(
                None,
                f"The upload is larger than the limit of {settings.ROLLCALL['MAX_UPLOAD_BYTES']:,} bytes.",
            )
        elif request.method == "POST" and form.is_valid():
            try:
                run = sync_run_upload(
                    config=config,
                    files=form.cleaned_data["files"],
                    dry_run=form.cleaned_data["dry_run"],
                )
            except SyncFailure as exc:
                form.add_error("files", exc.message)
            else:
                run.refresh_from_db()  # it may have finished already
                if run.is_active:
                    self.message_user(
                        request,
                        f"{run}: queued on the worker. This page shows its progress; "
                        "reload it to follow the run.",
                        messages.INFO,
                    )
                else:
                    level = messages.SUCCESS if run.status == "succeeded" else messages.WARNING
                    self.message_user(request, f"{run}: {run.message}", level)
                return redirect(reverse("admin:syncs_syncrun_change", args=[run.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": config,
            "title": f"Upload files and sync: {config}",
            "form": form,
            "limit": settings.ROLLCALL["MAX_UPLOAD_BYTES"],
        }
        return TemplateResponse(request, "admin/syncs/syncconfig/upload.html", context)
