"""The sync tab: per config and per school, its progress bar, its buttons, and each
school's issues with their CSV downloads."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from syncs import access
from syncs.errors import SyncFailure
from syncs.explain import holds_in_words, status_line
from syncs.models import FailureReason, SourceKind, Trigger
from syncs.selectors import ISSUE_COLUMNS
from syncs.services import sync_run_request
from syncs.uploads import sync_run_upload
from web import selectors
from web.forms import UploadForm
from web.views.base import (
    config_in_reach,
    csv_download,
    filename_part,
    organization_in_reach,
    page,
    require,
    run_in_reach,
)


@page
@require_GET
def tab(request, org_id: int):
    organization = organization_in_reach(request, org_id)
    data = selectors.tab_page(reach=request.reach, organization=organization, now=timezone.now())
    sees_runs = access.sees_diagnostics(request.reach, organization.pk)
    if sees_runs:
        _with_holds(request.reach, data.configs)
    return render(
        request,
        "web/tab.html",
        {
            "page": data,
            "organization": organization,
            "can_run": access.allowed(request.reach, access.Action.RUN, organization.pk),
            "sees_runs": sees_runs,
        },
    )


# The parts of a run's diagnostics that say what it held back or saw drop.
HOLD_KEYS = ("held", "held_updates", "approvals", "drops", "skipped", "threshold__kinds")


def _with_holds(reach: access.Reach, configs: list) -> None:
    """Each config's last run: what it held back (each held school with its evidence,
    held updates) as `holds`, and its status line read with them (a run that held some
    schools, or saw a school drop sharply, never reads as a plain success). One query,
    of those parts of the diagnostics only."""
    last = {c.last.id: c for c in configs if c.last is not None}
    for c in configs:
        c.holds = []
    if not last:
        return
    rows = (
        access.runs(reach)
        .filter(pk__in=list(last))
        .values(
            "pk",
            "diagnostics__threshold__causes",
            "diagnostics__threshold__format",
            *(f"diagnostics__{key}" for key in HOLD_KEYS),
        )
    )
    for row in rows:
        c = last[row["pk"]]
        diagnostics = {
            key: row[f"diagnostics__{key}"] for key in HOLD_KEYS if row[f"diagnostics__{key}"]
        }
        threshold = {
            "causes": row["diagnostics__threshold__causes"] or [],
            "format": row["diagnostics__threshold__format"] or "",
            "kinds": diagnostics.pop("threshold__kinds", None) or {},
        }
        diagnostics["threshold"] = threshold
        if c.last.failure_reason == FailureReason.THRESHOLD:
            c.holds = holds_in_words(diagnostics)
        if not c.last.approved:
            c.last.line = status_line(
                status=c.last.status,
                failure_reason=c.last.failure_reason,
                counts=c.last.counts,
                diagnostics=diagnostics,
                dry_run=c.last.dry_run,
            )


@page
@require_GET
def progress(request, run_id: int):
    """A config's live part for one run: its progress bar and (for callers who may run
    it) the buttons. htmx polls it every 2 s while the run is active; what it returns for
    a finished run has no trigger, so the polling stops and the buttons come back."""
    run = run_in_reach(request, run_id)
    config, org_id = run.config, run.config.organization_id
    words = selectors.run_words(request.reach, [run.pk], time_zone=config.time_zone)
    return render(
        request,
        "web/_live.html",
        {
            "run": run,
            "words": words.get(run.pk),
            "config": config,
            "is_upload": config.source_kind == SourceKind.UPLOAD,
            "organization": config.organization,
            "can_run": access.allowed(request.reach, access.Action.RUN, org_id)
            and request.GET.get("buttons") != "0",
            "sees_runs": access.sees_diagnostics(request.reach, org_id),
        },
    )


@page
@require_POST
def request_run(request, org_id: int, config_id: int):
    """*Check for new data* and *Dry run*: queue a run now (or show the active one)."""
    organization = organization_in_reach(request, org_id)
    config = config_in_reach(request, organization, config_id)
    require(request, access.Action.RUN, organization.pk)
    dry_run = request.POST.get("dry_run") == "1"
    back = reverse("web:tab", args=[organization.pk]) + f"#config-{config.pk}"
    if config.source_kind == SourceKind.UPLOAD:
        messages.error(request, "This sync reads uploaded files: upload them to run it.")
        return redirect(back)
    run, created = sync_run_request(config=config, trigger=Trigger.MANUAL, dry_run=dry_run)
    kind = "Dry run" if run.dry_run else "Run"
    if created:
        messages.success(request, f"{kind} #{run.pk} of {config.name} is queued.")
    else:
        messages.info(
            request,
            f"{kind} #{run.pk} of {config.name} is already {run.get_status_display().lower()}; "
            "nothing new was queued.",
        )
    return redirect(back)


@page
def upload(request, org_id: int, config_id: int):
    """Upload a roster export (one zip, or its CSV files) and queue its run."""
    organization = organization_in_reach(request, org_id)
    config = config_in_reach(request, organization, config_id)
    if config.source_kind != SourceKind.UPLOAD:
        raise Http404("This sync does not read uploaded files.")
    require(request, access.Action.RUN, organization.pk)
    form = UploadForm()
    status = 200
    if request.method == "POST":
        limit = settings.ROLLCALL["MAX_UPLOAD_BYTES"]
        if int(request.META.get("CONTENT_LENGTH") or 0) > limit + 1024**2:
            form = UploadForm()
            form.add_error(None, f"The upload is larger than the limit of {limit:,} bytes.")
            status = 413
        else:
            form = UploadForm(request.POST, request.FILES)
            if form.is_valid():
                try:
                    run = sync_run_upload(
                        config=config,
                        files=form.cleaned_data["files"],
                        dry_run=form.cleaned_data["dry_run"],
                    )
                except SyncFailure as exc:
                    form.add_error(None, exc.message)
                else:
                    kind = "Dry run" if run.dry_run else "Run"
                    messages.success(request, f"Files uploaded. {kind} #{run.pk} is queued.")
                    return redirect(
                        reverse("web:tab", args=[organization.pk]) + f"#config-{config.pk}"
                    )
            status = 400
    return render(
        request,
        "web/upload.html",
        {"organization": organization, "config": config, "form": form},
        status=status,
    )


@page
@require_GET
def school(request, org_id: int, sis_id: str):
    """One school's issue kinds, each with what it means, the fix and a CSV."""
    organization = organization_in_reach(request, org_id)
    detail = selectors.school_detail(
        reach=request.reach, organization=organization, sis_id=sis_id, now=timezone.now()
    )
    if detail is None:
        raise Http404("No such school here.")
    return render(
        request,
        "web/school.html",
        {
            "organization": organization,
            "detail": detail,
            "sees_runs": access.sees_diagnostics(request.reach, organization.pk),
        },
    )


CSV_HEADER = [*ISSUE_COLUMNS, "new", "first_seen_at"]


@page
@require_GET
def school_csv(request, org_id: int, sis_id: str, code: str):
    """The people (or classes, files) of one issue code at one school: exactly the
    rows the school's page counts."""
    organization = organization_in_reach(request, org_id)
    detail = selectors.school_detail(
        reach=request.reach, organization=organization, sis_id=sis_id, now=timezone.now()
    )
    if detail is None or detail.run is None:
        raise Http404("No such school here.")
    rows = selectors.school_issue_rows(request.reach, detail.run, sis_id, code)
    if not rows.exists():
        raise Http404("No issues of that kind at this school.")
    values = rows.values_list(*ISSUE_COLUMNS.values(), "is_new", "first_seen_at")
    name = "-".join(filename_part(p) for p in (organization.slug, sis_id, code))
    return csv_download(CSV_HEADER, _csv_rows(values.iterator()), f"{name}.csv")


def _csv_rows(rows):
    for row in rows:
        *fields, new, seen = row
        yield [*fields, "yes" if new else "no", seen.isoformat() if seen else ""]
