"""The words pages show for runs, failure reasons and issue codes, from the engine's own
modules, so the tab, the admin and the API say the same thing: `syncs.explain` (a run's
status line), `syncs.explanations` (why a run ended as it did) and `syncs.help` (one
article per failure reason and issue code)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from syncs import explain, explanations
from syncs import help as engine_help
from syncs.findings import CODES, ERROR
from syncs.models import SyncRun


def status_line(
    *,
    status: str,
    failure_reason: str = "",
    counts: Mapping[str, Mapping[str, int]] | None = None,
    skipped: int | None = None,
    dry_run: bool = False,
    approved_by: str = "",
    approved_at: datetime | None = None,
    time_zone: str = "UTC",
) -> str:
    """A run's outcome in a few words (`syncs.explain.status_line`): a run that skipped
    records never reads as a plain success. `skipped` is the run's recorded total
    (diagnostics["skipped"]["total"]), read without loading its whole diagnostics."""
    return explain.status_line(
        status=status,
        failure_reason=failure_reason,
        counts=counts or {},
        diagnostics={"skipped": {"total": skipped}} if skipped is not None else {},
        dry_run=dry_run,
        approved_by=approved_by,
        approved_at=approved_at,
        time_zone=time_zone,
    )


def explain_run(run: SyncRun) -> dict[str, Any] | None:
    """The run's explanation (headline, what_happened, evidence, next_steps, help_url and
    what its reason adds); None while it is queued or running."""
    return explanations.explain_run(run)


@dataclass(frozen=True)
class Article:
    """A help page (syncs.help), with the issue code's severity: "" for a failure reason."""

    code: str
    title: str
    summary: str
    meaning: str
    fix: str
    severity: str = ""

    @property
    def slug(self) -> str:
        return self.code.replace("_", "-")

    @property
    def is_failure(self) -> bool:
        return not self.severity


def articles() -> list[Article]:
    """Every help article: failure reasons first, then issue codes (errors, then alerts)."""
    found = []
    for a in engine_help.ARTICLES.values():
        spec = CODES.get(a.code)
        found.append(
            Article(a.code, a.title, a.summary, a.meaning, a.fix, spec.severity if spec else "")
        )
    order = {"": 0, ERROR: 1}
    return sorted(found, key=lambda a: order.get(a.severity, 2))


def article(code: str) -> Article | None:
    return next((a for a in articles() if a.code == code), None)


def article_by_slug(slug: str) -> Article | None:
    return next((a for a in articles() if a.slug == slug), None)
