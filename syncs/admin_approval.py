"""Rule T5 in the admin: a threshold-blocked run's held archives, reviewed on one page
(counts by kind and school, the list, its CSV) and approved once by typing how many
records it archives; all held schools at once, or one (rule T6, `?school=`). Only for
staff with syncs.approve_archives; the list's CSV for anyone who may view the run."""

from __future__ import annotations

from dataclasses import dataclass, field

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import urlencode

from rostering.models import School
from syncs.access import Action
from syncs.admin_base import csv_response, filename_part, may
from syncs.errors import SyncFailure
from syncs.explanations import run_status
from syncs.exports import PLANNED_ARCHIVE_HEADER
from syncs.models import FailureReason, PlannedArchive, RunStatus, SyncRun
from syncs.records import COUNT_KINDS
from syncs.services import sync_run_approve_archives
from syncs.services.approvals import held_archives

PER_PAGE = 50


class ApproveForm(forms.Form):
    """The confirmation: the number of records, typed (`1,204` or `1204`)."""

    count = forms.CharField(label="Number of records to archive", max_length=20)

    def __init__(self, *args, planned: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.planned = planned

    def clean_count(self):
        typed = self.cleaned_data["count"].strip().replace(",", "").replace(" ", "")
        if not typed.isdigit() or int(typed) != self.planned:
            raise forms.ValidationError(
                f"That is not the number of records this run would archive ({self.planned:,}). "
                "Nothing was archived.",
                code="count_mismatch",
            )
        return int(typed)


@dataclass
class PlannedTotals:
    """A run's planned archives counted by kind and by school."""

    by_kind: list[tuple[str, int]] = field(default_factory=list)
    # {sis_id, name, cells: [n per kind in `kinds` order], total}, most first
    by_school: list[dict] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    total: int = 0

    def at(self, sis_id: str) -> int:
        return next((s["total"] for s in self.by_school if s["sis_id"] == sis_id), 0)


def planned_totals(run: SyncRun, rows=None) -> PlannedTotals:
    """Two queries: the run's planned archives (or `rows` of them) grouped by (kind,
    school), and the schools' names."""
    rows = PlannedArchive.objects.filter(run=run) if rows is None else rows
    grouped = rows.values("kind", "school_sis_id").annotate(n=Count("pk")).order_by()
    by_kind: dict[str, int] = {}
    schools: dict[str, dict] = {}
    for row in grouped:
        by_kind[row["kind"]] = by_kind.get(row["kind"], 0) + row["n"]
        school = schools.setdefault(row["school_sis_id"], {"sis_id": row["school_sis_id"]})
        school[row["kind"]] = row["n"]
    if not by_kind:
        return PlannedTotals()
    names = dict(
        School.objects.filter(
            organization_id=run.config.organization_id, sis_id__in=list(schools)
        ).values_list("sis_id", "name")
    )
    kinds = [k for k in COUNT_KINDS if k in by_kind] + sorted(set(by_kind) - set(COUNT_KINDS))
    rows = [
        {
            "sis_id": sis_id,
            "name": names.get(sis_id, ""),
            "cells": [s.get(k, 0) for k in kinds],
            "total": sum(s.get(k, 0) for k in kinds),
        }
        for sis_id, s in schools.items()
    ]
    return PlannedTotals(
        by_kind=[(k, by_kind[k]) for k in kinds],
        by_school=sorted(rows, key=lambda s: (-s["total"], s["sis_id"])),
        kinds=kinds,
        total=sum(by_kind.values()),
    )


def not_approvable(run: SyncRun) -> str:
    """Why the run's archives cannot be approved now ("" when they can): the service's
    own rules (syncs.services.approvals), said before anyone types a number."""
    if run.dry_run or run.failure_reason != FailureReason.THRESHOLD:
        return "Only a real run blocked by the deletion threshold can be approved."
    if run.archives_approved_at is not None:
        return f"{run_status(run)}. Nothing more can be archived."
    if not held_archives(run).exists():
        return "Nothing is held: this run has no archives waiting for approval."
    latest = (
        SyncRun.objects.filter(config_id=run.config_id, dry_run=False)
        .exclude(status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
        .order_by("-created_at", "-pk")
        .values_list("pk", flat=True)
        .first()
    )
    if latest != run.pk:
        return (
            "A later run of this sync exists: only the latest run's archives can be "
            "approved, so its list still matches the records."
        )
    return ""


class ApprovalAdminMixin:
    """Adds to SyncRunAdmin: <pk>/approve/ (the preview and its confirmation) and
    <pk>/planned-archives.csv."""

    def get_urls(self):
        approve = self.admin_site.admin_view(self.approve_view)
        planned_csv = self.admin_site.admin_view(self.planned_archives_csv_view)
        return [
            path("<int:pk>/approve/", approve, name="syncs_syncrun_approve"),
            path(
                "<int:pk>/planned-archives.csv",
                planned_csv,
                name="syncs_syncrun_planned_archives_csv",
            ),
            *super().get_urls(),
        ]

    def has_approve_archives_permission(self, request, obj=None):
        return may(request, Action.APPROVE)

    def _run_or_404(self, pk: int) -> SyncRun:
        return get_object_or_404(
            SyncRun.objects.select_related("config__organization", "archives_approved_by"), pk=pk
        )

    def approve_view(self, request, pk: int):
        """GET: what approving would archive. POST: archive it, once, if the typed
        number is the number of records; otherwise nothing is archived."""
        if not self.has_approve_archives_permission(request):
            raise PermissionDenied  # before the run is even looked up
        run = self._run_or_404(pk)
        school = request.GET.get("school")  # one held school's archives, else all held
        held = held_archives(run, school=school)
        totals = planned_totals(run, held)
        why_not = not_approvable(run)
        if not why_not and school is not None and not totals.total:
            why_not = f"School {school} has no archives waiting for approval in this run."
        form = ApproveForm(request.POST or None, planned=totals.total)
        status = 200
        if request.method == "POST":
            if why_not:
                form.add_error(None, f"{why_not} Nothing was archived.")
                status = 409
            elif form.is_valid():
                try:
                    archived = sync_run_approve_archives(run=run, user=request.user, school=school)
                except SyncFailure as exc:
                    form.add_error(None, exc.message)
                    status = 409
                else:
                    where = f" for school {school}" if school is not None else ""
                    self.message_user(
                        request,
                        f"Run #{run.pk}: approved{where}; {archived:,} record"
                        f"{'s' if archived != 1 else ''} archived.",
                        messages.SUCCESS,
                    )
                    return redirect(reverse("admin:syncs_syncrun_change", args=[run.pk]))
            else:
                status = 400
        listing = Paginator(held.order_by("kind", "source_id", "id"), PER_PAGE).get_page(
            request.GET.get("p")
        )
        csv_query = {"held": "1", **({"school": school} if school is not None else {})}
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": run,
            "title": f"Review and approve the held archives of run #{run.pk}"
            + (f": school {school}" if school is not None else ""),
            "school": school,
            "all_url": reverse("admin:syncs_syncrun_approve", args=[run.pk]),
            "status_line": run_status(run),
            "totals": totals,
            "listing": listing,
            "form": form,
            "why_not": why_not,
            "csv_url": reverse("admin:syncs_syncrun_planned_archives_csv", args=[run.pk])
            + "?"
            + urlencode(csv_query),
        }
        return TemplateResponse(request, "admin/syncs/syncrun/approve.html", context, status=status)

    def planned_archives_csv_view(self, request, pk: int):
        """The records a run planned to archive (`?held=1`: those still held; `&school=`:
        at one school), as a formula-safe CSV: for anyone who may view runs."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        run = self._run_or_404(pk)
        school = request.GET.get("school")
        if request.GET.get("held"):
            rows = held_archives(run, school=school)
        else:
            rows = PlannedArchive.objects.filter(run=run)
            rows = rows if school is None else rows.filter(school_sis_id=school)
        rows = rows.order_by("kind", "source_id", "id").values_list(
            "kind", "source_id", "name", "school_sis_id"
        )
        parts = [run.config.organization.slug, f"run-{run.pk}"]
        parts += [f"school-{school}"] if school is not None else []
        parts += ["held-archives" if request.GET.get("held") else "planned-archives"]
        name = "-".join(filename_part(p) for p in parts)
        return csv_response(PLANNED_ARCHIVE_HEADER, rows.iterator(), f"{name}.csv")
