"""A run's page (its explanation, counts and schools) and, for a run the deletion
threshold blocked, the review and approval of its held archives (rule T5)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from api.selectors import SchoolRow
from rostering.models import School
from syncs import access
from syncs.errors import SyncFailure
from syncs.explanations import run_status
from syncs.exports import PLANNED_ARCHIVE_HEADER
from syncs.models import RunStatus
from syncs.pipeline.holds import SCHOOL_KINDS
from syncs.pipeline.plan import COUNT_KEYS
from syncs.records import COUNT_KINDS
from syncs.services import sync_run_approve_archives
from syncs.services.approvals import held_archives
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
    explanation = texts.explain_run(run)
    return render(
        request,
        "web/run.html",
        {
            "run": run,
            "organization": organization,
            "run_label": str(run.pk),
            # The explanation's line reads the whole diagnostics (held schools, drops).
            "status_line": explanation["status_line"] if explanation else words.line,
            "state": words.state,
            "held_now": held_archives(run).count() if planned else 0,
            **_explanation_context(explanation),
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
    """The run's school summaries in reach, each with its status in words, `held`: the
    people and classes held there for approval, and `archived_shown`: what it archived.

    Approval (syncs.services.approvals) updates the summaries of the runs it approves;
    an approval recorded before it did (no `approvals` in the diagnostics) did not, so
    for those runs what approving archived is added here. Schools with held archives
    but no summary (a school missing from the files, in a run recorded before such
    schools got one) come second, so the schools add up to the run's people and classes.
    """
    summaries = list(access.run_summaries(request.reach, run).order_by("sis_id"))
    planned = selectors.planned_by_school([run.pk])
    updates_held = ((run.diagnostics or {}).get("held_updates") or {}).get("schools") or {}
    approvals = (run.diagnostics or {}).get("approvals")
    legacy_approved = run.archives_approved_at is not None and not approvals
    still_held = {
        row["school_sis_id"]: row["n"]
        for row in held_archives(run)
        .filter(kind__in=SCHOOL_KINDS)
        .values("school_sis_id")
        .annotate(n=Count("pk"))
        .order_by()
    }
    for summary in summaries:
        extra = planned.pop((run.pk, summary.sis_id), 0)
        summary.archived_shown = summary.archived + (extra if legacy_approved else 0)
        summary.held = still_held.get(summary.sis_id, 0)
        summary.words, summary.state = selectors.school_words(
            SchoolRow(
                sis_id=summary.sis_id,
                name=summary.name,
                status=summary.status,
                errors=summary.errors,
            ),
            words,
        )
        if summary.held:
            summary.words, summary.state = "Archives held for approval", "fail"
        elif summary.status == RunStatus.FAILED and updates_held.get(summary.sis_id):
            summary.words, summary.state = "Updates held", "fail"
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
            "archived": 0 if sis_id in still_held else n,
            "held": still_held.get(sis_id, 0),
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
    """The records a run holds for approval: counts by kind and school, the list, its
    CSV, and (for a run the threshold blocked) the confirmation that approves them, for
    every held school at once or, with `?school=`, for one (rule T6)."""
    run = run_in_reach(request, run_id, diagnostics=True)
    organization = run.config.organization
    school = (request.POST.get("school") or request.GET.get("school") or "").strip() or None
    everything = _held_totals(request.reach, run)
    schools = everything.by_school
    if school is not None and school not in {s["sis_id"] for s in schools}:
        school = None  # not a school with held records: the whole list
    totals = _held_totals(request.reach, run, school) if school is not None else everything
    can_approve = access.allowed(request.reach, access.Action.APPROVE, organization.pk)
    approvable = selectors.approvable(run) and everything.total > 0
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
                archived = sync_run_approve_archives(run=run, user=request.user, school=school)
            except SyncFailure as exc:
                form.add_error(None, exc.message)
                status = 409
            else:
                where = f" at {_school_label(school, schools)}" if school else ""
                messages.success(
                    request,
                    f"Approved: {archived:,} record{'s' if archived != 1 else ''} archived{where}.",
                )
                return redirect("web:run", run_id=run.pk)
        else:
            status = 400
    rows = _held_rows(request.reach, run)
    if school is not None:
        rows = rows.filter(school_sis_id=school)
    listing = Paginator(rows.order_by("kind", "source_id", "id"), ARCHIVES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "web/archives.html",
        {
            "run": run,
            "organization": organization,
            "status_line": run_status(run),
            "totals": totals,
            "everything": everything,
            "school": school,
            "school_label": _school_label(school, schools) if school else "",
            "per_school": len(schools) > 1,
            "listing": listing,
            "form": form,
            "approvable": approvable,
            "can_approve": can_approve,
        },
        status=status,
    )


def _held_rows(reach, run):
    """The run's planned archives in reach that still wait for approval (a school
    approved on its own is no longer held)."""
    return access.run_planned_archives(reach, run).filter(pk__in=held_archives(run).values("pk"))


def _held_totals(reach, run, school: str | None = None) -> selectors.PlannedTotals:
    """The held archives counted by kind and by school (of one school, when given)."""
    rows = _held_rows(reach, run)
    if school is not None:
        rows = rows.filter(school_sis_id=school)
    return selectors.totals_of(run, rows)


def _school_label(sis_id: str | None, schools: list[dict]) -> str:
    name = next((s["name"] for s in schools if s["sis_id"] == sis_id), "")
    return f"{name} ({sis_id})" if name else f"school {sis_id}"


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
    """The list the preview shows, as a CSV file (of one school, with `?school=`)."""
    run = run_in_reach(request, run_id, diagnostics=True)
    school = request.GET.get("school", "").strip()
    rows = _held_rows(request.reach, run)
    if school:
        rows = rows.filter(school_sis_id=school)
    rows = rows.order_by("kind", "source_id", "id").values_list(
        "kind", "source_id", "name", "school_sis_id"
    )
    name = f"{filename_part(run.config.organization.slug)}-run-{run.pk}-planned-archives"
    if school:
        name += f"-school-{filename_part(school)}"
    return csv_download(PLANNED_ARCHIVE_HEADER, rows.iterator(), f"{name}.csv")
