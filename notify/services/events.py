"""Events: what a finished run means for the people and systems listening, recorded
once each, then fanned out to emails (notify.services.email) and webhooks
(notify.services.webhooks)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from notify.content import run_data
from notify.models import EMAILED, Event, EventKind
from notify.services.email import notifications_create
from notify.services.webhooks import webhook_deliveries_create
from syncs.models import FailureReason, RunStatus, SyncRun
from syncs.selectors import run_issue_queryset

logger = logging.getLogger(__name__)

SCHOOL_DROP_CODE = "school_drop"


@dataclass(frozen=True)
class Happening:
    """An event to record: its kind, the key that makes it once, what repeats it."""

    kind: str
    key: str
    dedupe_key: str
    data: dict[str, Any]
    # A success of the config ends a failure's episode: the next failure is news again.
    ends_on_success: bool = True


def run_finished(run_id: int) -> None:
    """What listeners hear about a finished run, recorded once however often this is
    called (the outcome hook may fire twice; a task may be delivered twice).

    A failed run is `run.failed`, or `run.held` when it failed on the deletion threshold
    (creates and updates applied, archives held) or held per-school archives or updates;
    a successful run is `run.succeeded` (webhooks only); `school_drop` alerts make one
    `school.drop`. Dry runs and unfinished runs say nothing.
    """
    run = SyncRun.objects.select_related("config__organization").filter(pk=run_id).first()
    if run is None or run.dry_run or run.status not in (RunStatus.SUCCEEDED, RunStatus.FAILED):
        return
    at = run.finished_at or timezone.now()
    for happening in run_happenings(run):
        event_publish(
            happening,
            organization_id=run.config.organization_id,
            config_id=run.config_id,
            run_id=run.pk,
            at=at,
        )


def run_happenings(run: SyncRun) -> list[Happening]:
    config_id = run.config_id
    found = []
    if run.status == RunStatus.FAILED and run.failure_reason == FailureReason.THRESHOLD:
        found.append(_held(run))
    elif run.status == RunStatus.FAILED:
        reason = run.failure_reason or FailureReason.INTERNAL_ERROR
        found.append(
            Happening(
                EventKind.RUN_FAILED,
                f"run:{run.pk}:{EventKind.RUN_FAILED}",
                f"run.failed:{config_id}:{reason}",
                run_data(run),
            )
        )
    else:
        found.append(
            Happening(
                EventKind.RUN_SUCCEEDED,
                f"run:{run.pk}:{EventKind.RUN_SUCCEEDED}",
                f"run.succeeded:{config_id}",
                run_data(run),
            )
        )
        # Per-school holds (rule T6, U) on a run that otherwise applied.
        if (run.diagnostics or {}).get("held"):
            found.append(_held(run))
    drops = list(
        run_issue_queryset(run)
        .filter(code=SCHOOL_DROP_CODE)
        .order_by("school_sis_id", "pk")
        .values("school_sis_id", "school__name", "message")
    )
    if drops:
        schools = [
            {"sis_id": d["school_sis_id"], "name": d["school__name"] or "", "message": d["message"]}
            for d in drops
        ]
        found.append(
            Happening(
                EventKind.SCHOOL_DROP,
                f"run:{run.pk}:{EventKind.SCHOOL_DROP}",
                f"school.drop:{config_id}",
                run_data(
                    run,
                    summary=f"{len(schools)} school(s) dropped sharply below their usual "
                    "active count.",
                    schools=schools,
                ),
                ends_on_success=False,
            )
        )
    return found


def _held(run: SyncRun) -> Happening:
    return Happening(
        EventKind.RUN_HELD,
        f"run:{run.pk}:{EventKind.RUN_HELD}",
        f"run.held:{run.config_id}",
        run_data(run),
    )


def event_publish(
    happening: Happening,
    *,
    organization_id: int | None,
    config_id: int | None,
    run_id: int | None,
    at: datetime,
) -> Event | None:
    """Record the event and what it causes (notifications, webhook deliveries), all in
    one transaction; the emails and deliveries are queued once it commits. None when
    the event was already recorded: nothing is sent twice."""
    with transaction.atomic():
        event, created = Event.objects.get_or_create(
            key=happening.key,
            defaults={
                "kind": happening.kind,
                "organization_id": organization_id,
                "config_id": config_id,
                "run_id": run_id,
                "data": happening.data,
                "created_at": at,
            },
        )
        if not created:
            return None
        if happening.kind in EMAILED and organization_id is not None:
            notifications_create(
                event,
                dedupe_key=happening.dedupe_key,
                ends_on_success=happening.ends_on_success,
            )
        webhook_deliveries_create(event)
    logger.info("Event %s (%s) recorded", event.public_id, event.kind)
    return event
