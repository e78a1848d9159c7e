"""A run's page (its explanation, counts and schools) and, for a run the deletion
threshold blocked, the review and approval of its held archives (rule T5)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from api.selectors import SchoolRow
from rostering.models import School
from syncs import access
from syncs.errors import SyncFailure
from syncs.exports import PLANNED_ARCHIVE_HEADER
from syncs.pipeline.plan import COUNT_KEYS
from syncs.records import COUNT_KINDS
from syncs.services import sync_run_approve_archives
from web import selectors, texts
from web.forms import ApproveForm
from web.templatetags.web_tags import kind_label
from web.views.base import csv_download, filename_part, page, require, run_in_reach

ARCHIVES_PER_PAGE = 50


@page
@require_GET
def run_page(request, run_id: int):
    run = run_in_reach(request, run_id, diagnostics=True)
    organization = run.config.organization
    time_zone = run.config.time_zone
    words = selectors.run_words(request.reach, [run.pk], time_zone=time_zone)[run.pk]
    summaries, missing = _school_rows(request, run, words)
    counts = [
        (kind, [(run.counts or {}).get(kind, {}).get(key, 0) for key in COUNT_KEYS])
        for kind in COUNT_KINDS
        if kind in (run.counts or {})
    ]
    planned = run.planned_archives.count()
    return render(
        request,
        "web/run.html",
        {
            "run": run,
            "organization": organization,
            "run_label": str(run.pk),
            "status_line": words.line,
            "state": words.state,
            **_explanation_context(texts.explain_run(run)),
            "time_zone": time_zone,
            "summaries": summaries,
            "missing_summaries": missing,
            "count_keys": COUNT_KEYS,
            "counts": counts,
            "planned": planned,
            "approvable": selectors.approvable(run),
            "can_approve": access.allowed(request.reach, access.Action.APPROVE, organization.pk),
        },
    )


def _school_rows(request, run, words) -> tuple[list, list[dict]]:
    """The run's school summaries in reach, each with its status in words and
    `archived_shown`: its archived count plus what approving the run's held archives
    archived there. Schools the run planned to archive records of but that have no
    summary (a school missing from the files) come second, with what is held or was
    archived, so the schools add up to the run's people and classes."""
    summaries = list(access.run_summaries(request.reach, run).order_by("sis_id"))
    planned = selectors.planned_by_school([run.pk])
    approved = run.archives_approved_at is not None
    for summary in summaries:
        extra = planned.pop((run.pk, summary.sis_id), 0)
        summary.archived_shown = summary.archived + (extra if approved else 0)
        summary.held = 0 if approved else extra
        summary.words, summary.state = selectors.school_words(
            SchoolRow(
                sis_id=summary.sis_id,
                name=summary.name,
                status=summary.status,
                errors=summary.errors,
            ),
            words,
        )
    if request.reach.schools_in(run.config.organization_id) is not None:
        return summaries, []
    names = dict(
        School.objects.filter(organization_id=run.config.organization_id).values_list(
            "sis_id", "name"
        )
    )
    missing = [
        {
            "sis_id": sis_id,
            "name": names.get(sis_id, ""),
            "archived": n if approved else 0,
            "held": 0 if approved else n,
        }
        for (_run, sis_id), n in sorted(planned.items())
    ]
    return summaries, missing


# What the explanation template shows by name; other keys of an explanation are shown
# generically when they are plain values, except these (links and figures shown
# elsewhere on the page, or repeated in the evidence).
SHOWN_KEYS = {
    "reason",
    "headline",
    "what_happened",
    "evidence",
    "next_steps",
    "help_url",
    "status_line",
    "by_school",
    "likely_causes",
}
HIDDEN_KEYS = {"download", "kinds", "planned_total", "provider_message", "skipped_by_kind"}
LIST_LIMIT = 20


def _explanation_context(explanation: dict | None) -> dict:
    if not explanation:
        return {"explanation": None, "evidence": [], "by_school": [], "extra": []}
    by_school = []
    for sis_id, school in (explanation.get("by_school") or {}).items():
        planned = school.get("planned") or {}
        by_school.append(
            {
                "sis_id": sis_id,
                "name": school.get("name", ""),
                "planned": ", ".join(
                    count_of(n, kind) for kind, n in sorted(planned.items(), key=lambda kn: -kn[1])
                ),
                "total": sum(planned.values()),
            }
        )
    by_school.sort(key=lambda s: (-s["total"], s["sis_id"]))
    extra = []
    for key, value in explanation.items():
        if key in SHOWN_KEYS or key in HIDDEN_KEYS or value in (None, "", [], {}):
            continue
        if isinstance(value, bool | int | float | str):
            extra.append((key, "yes" if value is True else "no" if value is False else value))
        elif isinstance(value, list) and all(isinstance(v, str | int) for v in value):
            shown = [str(v) for v in value[:LIST_LIMIT]]
            if len(value) > LIST_LIMIT:
                shown.append(f"and {len(value) - LIST_LIMIT} more")
            extra.append((key, shown))
    # The headline is often the first piece of evidence too: say it once.
    evidence = [
        item
        for item in explanation.get("evidence") or []
        if (item.get("text") if isinstance(item, dict) else item) != explanation.get("headline")
    ]
    return {
        "explanation": explanation,
        "evidence": evidence,
        "by_school": by_school,
        "extra": extra,
    }


def count_of(n: int, kind: str) -> str:
    """`1 class`, `2 students`, `1 guardian link`."""
    label = kind_label(kind).lower()
    if n == 1:
        label = label.removesuffix("es" if label.endswith("sses") else "s")
    return f"{n:,} {label}"


@page
def archives(request, run_id: int):
    """The records a run planned to archive: counts by kind and school, the list, its
    CSV, and (for a run the threshold blocked) the confirmation that approves them."""
    run = run_in_reach(request, run_id, diagnostics=True)
    organization = run.config.organization
    totals = selectors.planned_totals(request.reach, run)
    can_approve = access.allowed(request.reach, access.Action.APPROVE, organization.pk)
    approvable = selectors.approvable(run)
    form = ApproveForm(planned=totals.total)
    status = 200
    if request.method == "POST":
        require(request, access.Action.APPROVE, organization.pk)
        form = ApproveForm(request.POST, planned=totals.total)
        if not approvable:
            form.add_error(None, _not_approvable(run))
            status = 409
        elif form.is_valid():
            try:
                archived = sync_run_approve_archives(run=run, user=request.user)
            except SyncFailure as exc:
                form.add_error(None, exc.message)
                status = 409
            else:
                messages.success(
                    request,
                    f"Approved: {archived:,} record{'s' if archived != 1 else ''} archived.",
                )
                return redirect("web:run", run_id=run.pk)
        else:
            status = 400
    listing = Paginator(
        access.run_planned_archives(request.reach, run).order_by("kind", "source_id", "id"),
        ARCHIVES_PER_PAGE,
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "web/archives.html",
        {
            "run": run,
            "organization": organization,
            "status_line": selectors.run_words(
                request.reach, [run.pk], time_zone=run.config.time_zone
            )[run.pk].line,
            "totals": totals,
            "listing": listing,
            "form": form,
            "approvable": approvable,
            "can_approve": can_approve,
        },
        status=status,
    )


def _not_approvable(run) -> str:
    if run.archives_approved_at is not None:
        return "This run's archives were already approved; nothing more was archived."
    if run.dry_run or run.failure_reason != "threshold":
        return "Only a real run blocked by the deletion threshold can be approved."
    return (
        "A later run of this sync exists: only the latest run's archives can be approved, "
        "so its list still matches the records. Nothing was archived."
    )


@page
@require_GET
def archives_csv(request, run_id: int):
    run = run_in_reach(request, run_id, diagnostics=True)
    rows = (
        access.run_planned_archives(request.reach, run)
        .order_by("kind", "source_id", "id")
        .values_list("kind", "source_id", "name", "school_sis_id")
    )
    name = f"{filename_part(run.config.organization.slug)}-run-{run.pk}-planned-archives"
    return csv_download(PLANNED_ARCHIVE_HEADER, rows.iterator(), f"{name}.csv")
