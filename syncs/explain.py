"""Why a run ended as it did, in words: one explanation per run (DESIGN §10), and the
status line that never lets a run that skipped records read as a plain success.

Pure: plain data in (`RunFacts`, built from the database by `syncs.explanations`), plain
JSON-ready data out, so the sync tab, the admin and the API show the same thing and it is
tested without a database.

An explanation is `{"reason", "headline", "what_happened", "evidence", "next_steps",
"help_url", "status_line", ...}` plus what its reason adds. Evidence items are
`{"text": ..., <figures>}`; next steps are sentences.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from syncs.findings import CODES, ERROR
from syncs.help import article, help_url
from syncs.pipeline.plan import SKIPPED_KINDS, skipped_records
from syncs.records import COUNT_KINDS, THRESHOLD_KINDS
from syncs.rules.threshold import SCHOOL_KINDS, Cause, kind_file, rank_causes

# syncs.models.FailureReason labels, as the end of "Failed: …" (a test keeps them equal).
REASON_TITLES = {
    "threshold": "deletion threshold exceeded",
    "credentials": "credentials rejected",
    "schools_not_found": "schools to sync not found",
    "invalid_files": "invalid files",
    "source_unavailable": "source unavailable",
    "internal_error": "internal error",
}
# The run stages in order (syncs.models.Stage), to say where a run stopped.
STAGE_NAMES = {
    "fetch": "fetching the files",
    "parse": "reading the files",
    "scope": "keeping the schools in scope",
    "validate": "checking records",
    "devices": "assigning emails and phones",
    "plan": "planning changes",
    "guard": "checking the deletion threshold",
    "apply": "applying changes",
    "report": "recording the outcome",
}
# A school "concentrates" the planned archives of a kind when it holds at least this
# share of them; a few schools (at most FEW) when together they hold CONCENTRATED_FEW.
CONCENTRATED_ONE = 0.5
CONCENTRATED_FEW = 0.8
FEW = 3


@dataclass(frozen=True)
class PreviousRun:
    """The config's last run that applied a plan, for comparison."""

    id: int
    counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    file_rows: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class RunFacts:
    """What the explainer reads about one run.

    `planned` is the run's planned archives counted per (kind, school SIS ID);
    `school_names` maps SIS IDs to names; `stage` is where a failed run stopped;
    `retries` how many times the source was retried before it was given up on (None when
    not known); `redact` values that must never be shown (the config's secrets).
    """

    id: int
    status: str
    failure_reason: str = ""
    message: str = ""
    dry_run: bool = False
    stage: str = ""
    counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    diagnostics: Mapping[str, Any] = field(default_factory=dict)
    school_names: Mapping[str, str] = field(default_factory=dict)
    planned: Mapping[tuple[str, str], int] = field(default_factory=dict)
    previous: PreviousRun | None = None
    approved_by: str = ""
    approved_at: datetime | None = None
    time_zone: str = "UTC"
    retries: int | None = None
    redact: tuple[str, ...] = ()


# ---------------------------------------------------------------- the status line


def skipped_of(counts: Mapping[str, Mapping[str, int]], diagnostics: Mapping[str, Any]) -> int:
    """Records a run skipped (rule Q): its recorded total, else from its counts."""
    skipped = diagnostics.get("skipped")
    if isinstance(skipped, Mapping) and isinstance(skipped.get("total"), int):
        return int(skipped["total"])
    return skipped_records(counts)


def _records(n: int) -> str:
    return f"{n:,} record{'s' if n != 1 else ''}"


def status_line(
    *,
    status: str,
    failure_reason: str = "",
    counts: Mapping[str, Mapping[str, int]] | None = None,
    diagnostics: Mapping[str, Any] | None = None,
    dry_run: bool = False,
    approved_by: str = "",
    approved_at: datetime | None = None,
    time_zone: str = "UTC",
) -> str:
    """A run's outcome in a few words: "Synced", "Synced with 62 records skipped",
    "Failed: deletion threshold exceeded", "Approved by Ana Ruiz at 2026-11-24 09:12 PST:
    912 archived". A run that skipped records never reads as a plain success."""
    counts, diagnostics = counts or {}, diagnostics or {}
    if status == "queued":
        return "Queued"
    if status == "running":
        return "Dry run in progress" if dry_run else "Running"
    if status == "succeeded":
        skipped = skipped_of(counts, diagnostics)
        done = "Dry run passed" if dry_run else "Synced"
        said = []
        if skipped:
            said.append(f"{_records(skipped)} {'to skip' if dry_run else 'skipped'}")
        dropped = len({d.get("school") for d in drops_of(diagnostics)})
        if dropped:
            said.append(f"a sharp drop at {dropped:,} school{'s' if dropped != 1 else ''}")
        return f"{done} with {' and '.join(said)}" if said else done
    if failure_reason == "threshold" and approved_at is not None:
        archived = sum(counts.get(kind, {}).get("archived", 0) for kind in COUNT_KINDS)
        when = approved_at.astimezone(ZoneInfo(time_zone)).strftime("%Y-%m-%d %H:%M %Z")
        return f"Approved by {approved_by or 'someone'} at {when}: {archived:,} archived"
    title = REASON_TITLES.get(failure_reason, failure_reason.replace("_", " ") or "unknown")
    if failure_reason == "threshold":
        title = _threshold_title(diagnostics, title)
    return f"{'Dry run failed' if dry_run else 'Failed'}: {title}"


def _threshold_title(diagnostics: Mapping[str, Any], title: str) -> str:
    """ "deletion threshold exceeded at 2 schools", "mass updates held", and how many of
    the held schools were approved so far."""
    held = held_of(diagnostics)
    updates = bool(updates_of(diagnostics))
    if not held and updates and not _district_exceeded(diagnostics):
        return "mass updates held"
    if held:
        title += f" at {len(held):,} school{'s' if len(held) != 1 else ''}"
    if updates:
        title += "; updates held"
    approved = [a for a in approvals_of(diagnostics) if a.get("school") is not None]
    if held and approved:
        title += f"; {len(approved):,} of {len(held):,} approved"
    return title


def held_of(diagnostics: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The schools whose archives alone were held (rule T6), as the run recorded them."""
    held = diagnostics.get("held")
    return [h for h in held if isinstance(h, Mapping)] if isinstance(held, list) else []


def updates_of(diagnostics: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The kinds whose updates were held (rule U): {kind: {active, changed, allowed,
    samples}}."""
    held = diagnostics.get("held_updates")
    kinds = held.get("kinds") if isinstance(held, Mapping) else None
    return {k: v for k, v in kinds.items() if isinstance(v, Mapping)} if kinds else {}


def approvals_of(diagnostics: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = diagnostics.get("approvals")
    return [a for a in found if isinstance(a, Mapping)] if isinstance(found, list) else []


def drops_of(diagnostics: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The sharp drops the watch saw: {school, name, kind, usual, after, fell_by}."""
    found = diagnostics.get("drops")
    return [d for d in found if isinstance(d, Mapping)] if isinstance(found, list) else []


def _district_exceeded(diagnostics: Mapping[str, Any]) -> bool:
    kinds = (diagnostics.get("threshold") or {}).get("kinds") or {}
    return any((v or {}).get("exceeded") for v in kinds.values() if isinstance(v, Mapping))


def run_status_line(facts: RunFacts) -> str:
    return status_line(
        status=facts.status,
        failure_reason=facts.failure_reason,
        counts=facts.counts,
        diagnostics=facts.diagnostics,
        dry_run=facts.dry_run,
        approved_by=facts.approved_by,
        approved_at=facts.approved_at,
        time_zone=facts.time_zone,
    )


# ---------------------------------------------------------------- the explanation


def explain(facts: RunFacts) -> dict[str, Any] | None:
    """The explanation of a finished run; None while it is queued or running."""
    if facts.status in ("queued", "running"):
        return None
    if facts.status == "succeeded":
        body = _succeeded(facts)
    else:
        body = _EXPLAINERS.get(facts.failure_reason, _unknown)(facts)
    reason = facts.failure_reason or None
    return {
        "reason": reason,
        "headline": body.pop("headline"),
        "what_happened": body.pop("what_happened"),
        "evidence": body.pop("evidence", []),
        "next_steps": body.pop("next_steps", []),
        "help_url": body.pop("help_url", help_url(reason) if reason else None),
        "status_line": run_status_line(facts),
        **body,
    }


def _failure(facts: RunFacts) -> Mapping[str, Any]:
    failure = facts.diagnostics.get("failure")
    return failure if isinstance(failure, Mapping) else {}


def _nothing_changed(facts: RunFacts) -> str:
    return "Dry run: nothing would have been applied." if facts.dry_run else "Nothing was changed."


def _safe(text: str, facts: RunFacts) -> str:
    """`text` with the config's secrets, and anything shaped like a credential, masked."""
    for secret in facts.redact:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "••••")
    return _redact_patterns(text)


def _redact_patterns(text: str) -> str:
    text = re.sub(r"(?i)(bearer\s+)[^\s\"',;]+", r"\1••••", text)
    text = re.sub(
        r"(?i)\b(token|password|secret|client_secret|access_token|api_key)=([^&\s\"']+)",
        r"\1=••••",
        text,
    )
    # user:password@host in a URL
    return re.sub(r"(//[^/\s:@]+):[^/\s@]+@", r"\1:••••@", text)


# ---------------------------------------------------------------- succeeded


def _succeeded(facts: RunFacts) -> dict[str, Any]:
    skipped = skipped_of(facts.counts, facts.diagnostics)
    line = run_status_line(facts)
    applied = "Dry run: nothing was applied." if facts.dry_run else "The changes were applied."
    drops = _drop_evidence(facts)
    if drops and not skipped:
        return {
            "headline": line,
            "what_happened": f"Every record in the files was read and checked. {applied} "
            "Some schools' active records fell sharply below their usual counts, while "
            "staying under the deletion threshold.",
            "evidence": drops,
            "next_steps": _DROP_STEPS,
            "help_url": help_url("school_drop"),
            "skipped": 0,
            "drops": [dict(d) for d in drops_of(facts.diagnostics)],
        }
    if not skipped:
        return {
            "headline": line,
            "what_happened": f"Every record in the files was read and checked. {applied}",
            "skipped": 0,
        }
    by_kind = {
        kind: facts.counts.get(kind, {}).get("quarantined", 0)
        for kind in SKIPPED_KINDS
        if facts.counts.get(kind, {}).get("quarantined", 0)
    }
    evidence: list[dict[str, Any]] = [
        {"text": f"{_count(n, kind)} skipped.", "kind": kind, "count": n}
        for kind, n in by_kind.items()
    ]
    recorded = facts.diagnostics.get("skipped")
    unreadable = recorded.get("unreadable", 0) if isinstance(recorded, Mapping) else 0
    if unreadable:
        evidence.append(
            {
                "text": f"{_count(unreadable, 'rows')} of people could not be read at all.",
                "kind": "unreadable",
                "count": unreadable,
            }
        )
    errors = _error_codes(facts.diagnostics)
    for code, n in errors:
        found = article(code)
        evidence.append(
            {
                "text": f"{n:,} × {found.title if found else code}.",
                "code": code,
                "count": n,
                "help_url": help_url(code),
            }
        )
    out = {
        "headline": line,
        "what_happened": f"{applied} {_records(skipped)} with errors "
        f"{'would be' if facts.dry_run else 'were'} skipped: a new one is not created, and "
        "an existing one keeps its last good state and is not archived.",
        "evidence": evidence + drops,
        "next_steps": [
            "Open each school's errors and download the CSV of the records to fix.",
            "Correct them in the SIS; the next sync picks the changes up.",
        ],
        "help_url": help_url(errors[0][0]) if errors else None,
        "skipped": skipped,
        "skipped_by_kind": by_kind,
    }
    if drops:
        out["next_steps"] += _DROP_STEPS
        out["drops"] = [dict(d) for d in drops_of(facts.diagnostics)]
    return out


_DROP_STEPS = [
    "For each school that dropped, compare its records in the SIS with the files: an "
    "export that left part of a school out looks like this. Fix it and sync again; if "
    "the drop is real, nothing needs doing.",
]


def _drop_evidence(facts: RunFacts) -> list[dict[str, Any]]:
    out = []
    for d in drops_of(facts.diagnostics):
        school = str(d.get("school", ""))
        name = str(d.get("name") or facts.school_names.get(school, ""))
        label = f"School {school} ({name})" if name and name != school else f"School {school}"
        out.append(
            {
                "text": f"{label} {d.get('kind')}: {int(d.get('usual', 0)):,} → "
                f"{int(d.get('after', 0)):,} active ({d.get('fell_by')}% below its usual "
                "count).",
                "code": "school_drop",
                "school": school,
                "kind": d.get("kind"),
                "usual": d.get("usual"),
                "after": d.get("after"),
                "help_url": help_url("school_drop"),
            }
        )
    return out


def _error_codes(diagnostics: Mapping[str, Any]) -> list[tuple[str, int]]:
    """Issue codes of error severity the run found, most frequent first."""
    totals = diagnostics.get("issues")
    if not isinstance(totals, Mapping):
        return []
    known = {str(c): spec for c, spec in CODES.items()}
    errors = [
        (str(code), int(n))
        for code, n in totals.items()
        if code in known and known[code].severity == ERROR and isinstance(n, int) and n
    ]
    return sorted(errors, key=lambda e: (-e[1], e[0]))


# ---------------------------------------------------------------- threshold


def _threshold(facts: RunFacts) -> dict[str, Any]:
    """A run that held something back: every archive (T3), some schools' archives
    (T6) or some kinds' updates (U); with the approvals made since."""
    diagnostics = facts.diagnostics
    held, updates = held_of(diagnostics), updates_of(diagnostics)
    if held:
        body = _threshold_schools(facts, held)
    elif updates and not _district_exceeded(diagnostics):
        body = _updates_only(facts, updates)
    else:
        body = _threshold_all(facts)
    if updates:
        if held or _district_exceeded(diagnostics):
            body["evidence"] = body["evidence"] + _updates_evidence(diagnostics)
            body["next_steps"] = body["next_steps"] + _UPDATE_STEPS
        body["held_updates"] = {k: dict(v) for k, v in updates.items()}
    as_of = (diagnostics.get("threshold") or {}).get("counted_as_of_run")
    if as_of:
        body["evidence"] = body["evidence"] + [
            {
                "text": f"The active counts are those from before run #{as_of} held its "
                "archives. Records created since then are left out of them until someone "
                "approves the held archives or a run passes, so the same files cannot get "
                "through by adding records.",
                "counted_as_of_run": as_of,
            }
        ]
    approvals = _approvals_evidence(facts)
    if approvals:
        body["evidence"] = body["evidence"] + approvals
        body["approvals"] = [dict(a) for a in approvals_of(diagnostics)]
    return body


def _threshold_all(facts: RunFacts) -> dict[str, Any]:
    threshold = facts.diagnostics.get("threshold") or {}
    kinds: Mapping[str, Mapping[str, Any]] = threshold.get("kinds") or {}
    exceeded = [k for k in THRESHOLD_KINDS if (kinds.get(k) or {}).get("exceeded")]
    percent = _percent(str(threshold.get("percent", "")))
    fmt = threshold.get("format", "")
    by_school = _planned_by_school(facts, threshold)
    causes = _threshold_causes(facts, threshold)
    focus = _focus_kind(exceeded, by_school)
    concentration = _concentration(focus, by_school, facts, causes, fmt)

    over = [
        f"{_count(kinds[k]['planned'], k)} (at most {kinds[k]['allowed']:,} of "
        f"{kinds[k]['active']:,} allowed)"
        for k in exceeded
    ]
    applied = (
        "Dry run: nothing was applied."
        if facts.dry_run
        else "New and changed records were saved; nothing was archived."
    )
    what = (
        f"The run planned to archive {_series(over) or 'more records than allowed'}, over the "
        f"deletion threshold of {percent}%. {applied}"
    )
    headline = (
        concentration["text"]
        if concentration
        else f"The run would archive more {_series(exceeded) or 'records'} than the "
        f"deletion threshold of {percent}% allows."
    )
    evidence: list[dict[str, Any]] = []
    if concentration:
        evidence.append(concentration)
    evidence += [
        {
            "text": f"{k.capitalize()}: {kinds[k]['active']:,} active, "
            f"{kinds[k]['planned']:,} to archive, {kinds[k]['allowed']:,} allowed.",
            "kind": k,
            **{key: kinds[k][key] for key in ("active", "planned", "allowed", "exceeded")},
        }
        for k in THRESHOLD_KINDS
        if k in kinds and (kinds[k].get("planned") or kinds[k].get("exceeded"))
    ]
    over = [s for s in threshold.get("schools_over") or () if isinstance(s, Mapping)]
    if over and not threshold.get("every_school_over"):
        # Why rule T6 did not hold those schools alone: the rest was over the limit too.
        labels = [
            _school_name(str(s.get("sis_id", "")), {str(s.get("sis_id", "")): s}) for s in over
        ]
        one = len(over) == 1
        evidence.append(
            {
                "text": f"{_series(labels)} {'is' if one else 'are'} over "
                f"{'its' if one else 'their'} own limit, but the rest of the district would "
                "still archive more than the deletion threshold allows: every archive is "
                "held.",
                "schools": [str(s.get("sis_id", "")) for s in over],
            }
        )
    total = sum(facts.planned.values()) or sum(
        kinds.get(k, {}).get("planned", 0) for k in THRESHOLD_KINDS
    )
    return {
        "headline": headline,
        "what_happened": what,
        "evidence": evidence,
        "next_steps": _threshold_steps(facts, causes, concentration, total, percent),
        "kinds": {k: dict(v) for k, v in kinds.items()},
        "by_school": by_school,
        "likely_causes": [c.as_dict() for c in causes],
        "download": f"/api/v1/sync-runs/{facts.id}/planned-archives.csv",
        "planned_total": total,
    }


def _threshold_schools(facts: RunFacts, held: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Rule T6: some schools exceeded their own limit; only their archives are held,
    each shown with its figures and what explains it."""
    threshold = facts.diagnostics.get("threshold") or {}
    kinds: Mapping[str, Mapping[str, Any]] = threshold.get("kinds") or {}
    percent = _percent(str(threshold.get("percent", "")))
    own = _percent(str(threshold.get("school_percent") or threshold.get("percent", "")))
    fmt = threshold.get("format", "")
    causes = _threshold_causes(facts, threshold)
    approved_at = {
        str(a.get("school")): a for a in approvals_of(facts.diagnostics) if a.get("school")
    }
    everything_approved = facts.approved_at is not None
    names = {str(h.get("sis_id", "")): {"name": h.get("name", "")} for h in held}
    evidence: list[dict[str, Any]] = []
    labels, reasons = [], []
    for h in held:
        sis_id = str(h.get("sis_id", ""))
        label = _school_name(sis_id, names)
        school_kinds = _in_kind_order(h.get("kinds") or {})
        figures = "; ".join(
            f"{k}: {v.get('active', 0):,} active, {v.get('planned', 0):,} to archive, "
            f"{v.get('allowed', 0):,} allowed"
            for k, v in school_kinds.items()
        )
        focus = max(
            school_kinds,
            key=lambda k: (k in SCHOOL_KINDS, school_kinds[k].get("planned", 0)),
            default="",
        )
        why = _why_school(sis_id, focus, causes, fmt) if focus else ""
        approved = everything_approved or sis_id in approved_at
        evidence.append(
            {
                "text": f"{label}: {figures}" + (f"; {why}" if why else "") + ".",
                "school": sis_id,
                "name": h.get("name", ""),
                "kinds": {k: dict(v) for k, v in school_kinds.items()},
                "records": h.get("records", 0),
                "approved": approved,
            }
        )
        labels.append(label)
        reasons.append(why)
    one = len(held) == 1
    records = sum(int(h.get("records", 0)) for h in held)
    if one:
        n = int(held[0].get("records", 0))
        headline = (
            f"{labels[0]} exceeded its own deletion limit, so its {n:,} planned "
            f"archive{'s are' if n != 1 else ' is'} held"
            + (f": {reasons[0]}." if reasons[0] else "; everything else was applied.")
        )
    else:
        headline = (
            f"{_series(labels)} would archive more than "
            f"{'its' if one else 'their'} own limit of {own}% allows: "
            f"{'its' if one else 'their'} archives are held."
        )
    applied = (
        "Dry run: nothing was applied."
        if facts.dry_run
        else "Everything else was applied, the other schools' archives included."
    )
    what = (
        f"Each school may archive at most {own}% of its own active records of each kind. "
        f"{_series(labels)} would have archived more, so {'its' if one else 'their'} "
        f"{records:,} planned archive{'s are' if records != 1 else ' is'} held for approval; "
        f"the rest of the district stayed within the deletion threshold of {percent}%. "
        f"{applied}"
    )
    steps = []
    broken = [
        c
        for c in causes
        if c.weight and c.code not in ("drop", "real_change") and c.evidence.get("school") in names
    ]
    if broken:
        steps.append(
            "Fix the export first: " + broken[0].text[0].lower() + broken[0].text[1:] + " "
            "Then sync again (Check for new data); a corrected export archives nothing it "
            "should not."
        )
    steps.append(
        "Review each held school's records (the list can be downloaded per school) and "
        "check a few of them in the SIS."
    )
    waiting = [e for e in evidence if not e["approved"]]
    if waiting and not facts.dry_run:
        counts = ", ".join(f"{_school_name(e['school'], names)}: {e['records']:,}" for e in waiting)
        steps.append(
            "If they really left, approve the held archives of one school at a time, or of "
            f"every held school at once (confirm by typing the number of records: {counts}), "
            f"or raise the limit from {own}%."
        )
    return {
        "headline": headline,
        "what_happened": what,
        "evidence": evidence,
        "next_steps": steps,
        "held": [
            {**dict(h), "approved": e["approved"]} for h, e in zip(held, evidence, strict=True)
        ],
        "kinds": {k: dict(v) for k, v in kinds.items()},
        "by_school": _planned_by_school(facts, threshold),
        "likely_causes": [c.as_dict() for c in causes],
        "download": f"/api/v1/sync-runs/{facts.id}/planned-archives.csv",
        "planned_total": sum(facts.planned.values()) or records,
    }


def _in_kind_order(kinds: Mapping[str, Any]) -> dict[str, Mapping[str, int]]:
    """A school's kinds as the run recorded them, people first (THRESHOLD_KINDS)."""
    order = {k: n for n, k in enumerate(THRESHOLD_KINDS)}
    return {
        k: v
        for k, v in sorted(kinds.items(), key=lambda kv: order.get(kv[0], len(order)))
        if isinstance(v, Mapping)
    }


def holds_in_words(diagnostics: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What a run held back, one line each, as the sync tab lists it: each school whose
    archives rule T6 held, with what explains it, and each kind whose updates rule U
    held. Reads only the run's diagnostics."""
    threshold = diagnostics.get("threshold") or {}
    causes = [
        Cause(
            str(c.get("code", "")),
            str(c.get("text", "")),
            int(c.get("weight", 0)),
            {k: v for k, v in c.items() if k not in ("code", "text", "weight")},
        )
        for c in threshold.get("causes") or ()
        if isinstance(c, Mapping)
    ]
    fmt = threshold.get("format", "")
    approved = {str(a.get("school")) for a in approvals_of(diagnostics) if a.get("school")}
    everything = any(a.get("school") is None for a in approvals_of(diagnostics))
    out: list[dict[str, Any]] = []
    for h in held_of(diagnostics):
        sis_id = str(h.get("sis_id", ""))
        label = _school_name(sis_id, {sis_id: {"name": h.get("name", "")}})
        kinds = _in_kind_order(h.get("kinds") or {})
        planned = _series([_count(int(v.get("planned", 0)), k) for k, v in kinds.items()])
        focus = max(
            kinds, key=lambda k: (k in SCHOOL_KINDS, kinds[k].get("planned", 0)), default=""
        )
        why = _why_school(sis_id, focus, causes, fmt) if focus else ""
        out.append(
            {
                "school": sis_id,
                "records": int(h.get("records", 0)),
                "approved": everything or sis_id in approved,
                "text": f"{label}: {planned} held for approval"
                + (f" ({why})" if why else "")
                + ".",
            }
        )
    percent = _percent(str((diagnostics.get("held_updates") or {}).get("percent", "")))
    for kind, k in updates_of(diagnostics).items():
        out.append(
            {
                "kind": kind,
                "text": f"Updates of {k.get('changed', 0):,} of {k.get('active', 0):,} {kind} "
                "held: more than "
                f"{percent}% would change a name, email, phone or date of birth at once.",
            }
        )
    return out


FIELD_LABELS = {
    "given_name": "given name",
    "family_name": "family name",
    "email": "email",
    "phone": "phone",
    "dob": "date of birth",
}
_UPDATE_STEPS = [
    "Check the examples of held updates: a swapped or shifted column in the export (given "
    "and family names, say) changes most records at once. Fix the export and sync again.",
    "If the changes are real, raise or turn off the update guard for the next sync: the "
    "held updates are applied then.",
]


def _updates_only(facts: RunFacts, updates: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Rule U alone: many records of a kind would change at once; those updates were held."""
    held = facts.diagnostics.get("held_updates") or {}
    percent = _percent(str(held.get("percent", "")))
    kind = max(updates, key=lambda k: updates[k].get("changed", 0))
    k = updates[kind]
    applied = (
        "Dry run: nothing was applied."
        if facts.dry_run
        else "Those updates were not applied; everything else was."
    )
    return {
        "headline": f"Updates held: {k.get('changed', 0):,} of {k.get('active', 0):,} {kind} "
        "would change a name, email, phone or date of birth at once.",
        "what_happened": "The mass-update guard holds a kind's updates when more than "
        f"{percent}% of its active records would change a name, email, phone or date of "
        f"birth in one run. {applied}",
        "evidence": _updates_evidence(facts.diagnostics),
        "next_steps": list(_UPDATE_STEPS),
    }


def _updates_evidence(diagnostics: Mapping[str, Any]) -> list[dict[str, Any]]:
    held = diagnostics.get("held_updates") or {}
    percent = _percent(str(held.get("percent", "")))
    out: list[dict[str, Any]] = []
    for kind, k in updates_of(diagnostics).items():
        out.append(
            {
                "text": f"{kind.capitalize()}: {k.get('changed', 0):,} of "
                f"{k.get('active', 0):,} would change a name, email, phone or date of birth "
                f"(at most {k.get('allowed', 0):,} allowed at {percent}%); their updates "
                "were held.",
                "kind": kind,
                **{key: k.get(key, 0) for key in ("active", "changed", "allowed")},
            }
        )
        for sample in k.get("samples") or ():
            changes: Mapping[str, list[str]] = sample.get("changes") or {}
            said = "; ".join(
                f"{FIELD_LABELS.get(f, f)} {before or '(empty)'} → {after or '(empty)'}"
                for f, (before, after) in changes.items()
            )
            out.append(
                {
                    "text": f"For example {sample.get('source_id')}: {said}.",
                    "kind": kind,
                    "source_id": sample.get("source_id"),
                    "changes": {f: list(v) for f, v in changes.items()},
                }
            )
    return out


def _approvals_evidence(facts: RunFacts) -> list[dict[str, Any]]:
    out = []
    for a in approvals_of(facts.diagnostics):
        try:
            at = datetime.fromisoformat(str(a.get("at")))
            when = at.astimezone(ZoneInfo(facts.time_zone)).strftime("%Y-%m-%d %H:%M %Z")
        except (TypeError, ValueError):
            when = str(a.get("at", ""))
        school = a.get("school")
        where = f" for school {school}" if school else ""
        n = int(a.get("records", 0))
        out.append(
            {
                "text": f"Approved by {a.get('by') or 'someone'} at {when}{where}: {n:,} "
                f"record{'s' if n != 1 else ''} archived.",
                "school": school,
                "by": a.get("by"),
                "at": a.get("at"),
                "records": n,
            }
        )
    return out


def _planned_by_school(facts: RunFacts, threshold: Mapping[str, Any]) -> dict[str, dict]:
    """Planned archives per school and kind: from the planned-archive list when it is
    still kept, else from the run's diagnostics."""
    out: dict[str, dict[str, Any]] = {}
    if facts.planned:
        for (kind, school), n in facts.planned.items():
            out.setdefault(school, {})[kind] = out.get(school, {}).get(kind, 0) + n
    else:
        for school, school_facts in (threshold.get("schools") or {}).items():
            out[school] = dict(school_facts.get("planned") or {})
    known = threshold.get("schools") or {}
    return {
        school: {
            "name": facts.school_names.get(school) or (known.get(school) or {}).get("name", ""),
            "planned": dict(sorted(kinds.items())),
        }
        for school, kinds in sorted(out.items())
    }


def _threshold_causes(facts: RunFacts, threshold: Mapping[str, Any]) -> list[Cause]:
    """The causes the run recorded, with what only a later reader can add (the last
    applied run's files and counts, the header alerts), ranked again together."""
    structured = threshold.get("causes")
    if isinstance(structured, list):
        recorded = [
            Cause(
                str(c.get("code", "")),
                str(c.get("text", "")),
                int(c.get("weight", 0)),
                {k: v for k, v in c.items() if k not in ("code", "text", "weight")},
            )
            for c in structured
            if isinstance(c, Mapping)
        ]
    else:  # a run from before causes were recorded with their figures
        recorded = [
            Cause("recorded", str(text), 0, {"order": n})
            for n, text in enumerate(facts.diagnostics.get("likely_causes") or ())
        ]
    previous = facts.previous
    later = rank_causes(
        fmt=threshold.get("format", ""),
        file_rows=facts.diagnostics.get("files") or {},
        previous_file_rows=previous.file_rows if previous else {},
        present=_present(facts.counts),
        previous_present=_present(previous.counts) if previous else {},
        header_issues=facts.diagnostics.get("issues") or {},
        fallback=False,
    )
    if any(c.weight for c in later):  # no longer "nothing explains it"
        recorded = [c for c in recorded if c.code != "real_change"]
    texts = {c.text for c in recorded}
    causes = recorded + [c for c in later if c.text not in texts]
    return sorted(causes, key=lambda c: -c.weight)


def _present(counts: Mapping[str, Mapping[str, int]]) -> dict[str, int]:
    """Records of each kind that were in the files (everything not archived)."""
    keys = ("created", "updated", "unchanged", "quarantined")
    return {
        kind: sum(counts.get(kind, {}).get(key, 0) for key in keys)
        for kind in THRESHOLD_KINDS
        if kind in counts
    }


def _focus_kind(exceeded: list[str], by_school: Mapping[str, Mapping[str, Any]]) -> str:
    """The kind the headline is about: the blocked kind with the most planned archives
    placed at a school, people and classes first (links follow them); a blocked link
    kind when only links are blocked and the list places them."""
    totals = {
        kind: sum(s["planned"].get(kind, 0) for s in by_school.values()) for kind in THRESHOLD_KINDS
    }
    pool = (
        [k for k in exceeded if k in SCHOOL_KINDS and totals[k]]
        or [k for k in exceeded if totals[k]]
        or [k for k in SCHOOL_KINDS if totals[k]]
    )
    return max(pool, key=lambda k: totals[k]) if pool else ""


def _concentration(
    kind: str,
    by_school: Mapping[str, Mapping[str, Any]],
    facts: RunFacts,
    causes: list[Cause],
    fmt: str,
) -> dict[str, Any] | None:
    """Where the planned archives of `kind` concentrate: one school holding most of
    them, or a few holding nearly all; None when they are spread out."""
    if not kind:
        return None
    counts = sorted(
        ((school, s["planned"].get(kind, 0)) for school, s in by_school.items()),
        key=lambda sn: (-sn[1], sn[0]),
    )
    counts = [(school, n) for school, n in counts if n]
    total = sum(n for _s, n in counts)
    if not total:
        return None
    top = counts[:1]
    if counts[0][1] < total * CONCENTRATED_ONE:
        top = counts[:FEW]
        if sum(n for _s, n in top) < total * CONCENTRATED_FEW or len(counts) <= 1:
            return None
    held = sum(n for _s, n in top)
    noun = f"planned {kind.removesuffix('es' if kind == 'classes' else 's')} archives"
    if len(top) == 1:
        school = top[0][0]
        who = _school_name(school, by_school)
        text = f"{who} accounts for {held:,} of {total:,} {noun}"
        why = _why_school(school, kind, causes, fmt)
        text += f"; {why}." if why else "."
    else:
        who = _series([_school_name(s, by_school) for s, _n in top])
        text = f"{who} account for {held:,} of {total:,} {noun}."
    return {
        "text": text,
        "kind": kind,
        "schools": [{"school": s, "planned": n} for s, n in top],
        "total": total,
    }


def _school_name(school: str, by_school: Mapping[str, Mapping[str, Any]]) -> str:
    if not school:
        return "Records with no school"
    name = (by_school.get(school) or {}).get("name", "")
    return f"School {school} ({name})" if name and name != school else f"School {school}"


def _why_school(school: str, kind: str, causes: list[Cause], fmt: str) -> str:
    """Why one school's records would be archived, in a clause, from its cause."""
    for cause in causes:
        if cause.evidence.get("school") != school:
            continue
        if cause.code == "school_missing":
            return "the school is missing from the files"
        if cause.code == "school_out_of_scope":
            return "the school is not among this sync's school IDs"
        if cause.code == "leading_zero_school":
            return (
                f"its ID differs only by leading zeros from {cause.evidence.get('in_files')} "
                "in the files"
            )
        if cause.code in ("school_records_missing", "school_records_dropped") and kind in (
            cause.evidence.get("kinds") or ()
        ):
            most = "" if cause.code == "school_records_missing" else "most of "
            return f"{most}its {kind} are missing from {kind_file(fmt, kind)}"
    return ""


def _threshold_steps(
    facts: RunFacts,
    causes: list[Cause],
    concentration: Mapping[str, Any] | None,
    total: int,
    percent: str,
) -> list[str]:
    steps = []
    broken = [c for c in causes if c.weight and c.code not in ("drop", "real_change")]
    if broken:
        steps.append(
            "Fix the export first: " + broken[0].text[0].lower() + broken[0].text[1:] + " "
            "Then sync again (Check for new data); a corrected export archives nothing it "
            "should not."
        )
    steps.append(
        "Download the list of records this run would archive and check a few of them in the SIS."
    )
    if facts.approved_at is None and not facts.dry_run:
        steps.append(
            "If they really left, approve this run's archives once (confirm by typing "
            f"{total:,}), or raise the deletion threshold from {percent}% (10–20% suits the "
            "school year, 50–60% back-to-school)."
        )
    return steps


# ---------------------------------------------------------------- the other reasons


def _schools_not_found(facts: RunFacts) -> dict[str, Any]:
    failure = _failure(facts)
    if failure.get("not_text"):
        shown = ", ".join(str(v) for v in failure["not_text"])
        return {
            "headline": f"School ID(s) on the sync are not text: {shown}.",
            "what_happened": f"{_nothing_changed(facts)} School IDs must be written as text "
            "exactly as the SIS writes them, leading zeros included.",
            "next_steps": ['Enter each school ID as text, for example "0123" (not 123).'],
            "missing": [],
            "near_matches": {},
        }
    missing = [str(m) for m in failure.get("missing") or ()]
    near: Mapping[str, list[str]] = failure.get("near_matches") or {}
    evidence = []
    for m in missing:
        close = [str(n) for n in near.get(m) or ()]
        evidence.append(
            {
                "text": f"{m}: not in the source"
                + (f"; did you mean {_series(close, 'or')}?" if close else "."),
                "school": m,
                "near_matches": close,
            }
        )
    said = _series(missing) or "A school ID"
    return {
        "headline": f"School ID{'s' if len(missing) > 1 else ''} {said} "
        f"{'are' if len(missing) > 1 else 'is'} not in the data the source sent.",
        "what_happened": f"The sync lists school IDs the source does not have, so it stopped "
        f"before changing anything. {_nothing_changed(facts)}",
        "evidence": evidence,
        "next_steps": [
            "Correct the sync's school IDs to match the SIS exactly, leading zeros included"
            + (" (the near matches above are the likely fix)." if near else "."),
            "If a school should no longer sync, remove it from the sync's school IDs; if it "
            "should, share it with Rollcall again in Clever or ClassLink.",
        ],
        "missing": missing,
        "near_matches": {m: [str(n) for n in near.get(m) or ()] for m in missing},
        "available": [str(a) for a in failure.get("available") or ()],
    }


def _credentials(facts: RunFacts) -> dict[str, Any]:
    failure = _failure(facts)
    host = _host(failure)
    said = _safe(facts.message, facts)
    evidence = [{"text": said, "provider_message": said}]
    if failure.get("status"):
        evidence.append(
            {"text": f"The server answered HTTP {failure['status']}.", "status": failure["status"]}
        )
    steps = [
        "Check the token, client ID and secret, or the SFTP username and key, with the "
        "district, and have support enter them again.",
        "For Clever or ClassLink, check that the district still shares its data with Rollcall.",
    ]
    if failure.get("pinned") and failure.get("presented"):
        steps = [
            "Confirm the server's new host key fingerprint with the district before pinning it; "
            "if they did not change their server, do not: someone may be impersonating it."
        ]
    return {
        "headline": f"{host or 'The source'} refused this sync's credentials.",
        "what_happened": f"Rollcall could not sign in, so it read nothing. "
        f"{_nothing_changed(facts)}",
        "evidence": evidence,
        "next_steps": steps,
        "provider_message": said,
        "host": host,
    }


def _invalid_files(facts: RunFacts) -> dict[str, Any]:
    failure = _failure(facts)
    file, header = str(failure.get("file", "")), str(failure.get("header", ""))
    suggestion, line = str(failure.get("suggestion", "")), failure.get("line")
    evidence: list[dict[str, Any]] = [{"text": _safe(facts.message, facts)}]
    steps = []
    if failure.get("missing_files"):
        names = [str(n) for n in failure["missing_files"]]
        evidence.append({"text": f"Missing: {', '.join(names)}.", "missing_files": names})
        steps.append(f"Send the complete set of files, {', '.join(names)} included.")
    if failure.get("found_files") is not None:
        found = [str(n) for n in failure["found_files"]]
        evidence.append({"text": f"Found: {', '.join(found) or 'no CSV files'}.", "found": found})
    if header and suggestion and header != suggestion:
        steps.append(f"In {file}, rename the header `{header}` to `{suggestion}`.")
    elif header:
        steps.append(
            f"In {file}, check the header `{header}`: retype it exactly as the format spells "
            "it (invisible characters are common)."
        )
    if failure.get("active") and failure.get("file"):
        steps.append(
            f"Export {file} again with its rows: {failure['active']:,} active records depend on it."
        )
    if line:
        steps.append(f"Look at line {line} of {file}; export the file again if it is damaged.")
    if not steps:
        steps.append("Export the files again as UTF-8 CSV and send the complete set.")
    where = f"{file}{f' line {line}' if line else ''}"
    said = _first_sentence(facts.message, facts)
    return {
        "headline": said if not where or said.startswith(file) else f"{where}: {said}",
        "what_happened": f"The files could not be read as a whole. {_nothing_changed(facts)}",
        "evidence": evidence,
        "next_steps": steps,
        "file": file,
        "header": header,
        "suggestion": suggestion,
        "line": line,
    }


def _source_unavailable(facts: RunFacts) -> dict[str, Any]:
    failure = _failure(facts)
    host = _host(failure)
    stage = STAGE_NAMES.get(facts.stage, "")
    retried = (
        f" after {facts.retries} retr{'ies' if facts.retries != 1 else 'y'}"
        if facts.retries
        else ""
    )
    evidence: list[dict[str, Any]] = [{"text": _safe(facts.message, facts)}]
    if failure.get("status"):
        evidence.append(
            {"text": f"The server answered HTTP {failure['status']}.", "status": failure["status"]}
        )
    return {
        "headline": f"{host or 'The source'} could not be reached{retried}"
        + (f" while {stage}" if stage else "")
        + ".",
        "what_happened": "A partial download is never synced, so the run stopped. "
        f"{_nothing_changed(facts)}",
        "evidence": evidence,
        "next_steps": [
            "Nothing needs changing if this was a passing outage: the next scheduled sync "
            "tries again, or press Check for new data.",
            "If it keeps failing, check the server's address, port and folder with the district.",
        ],
        "host": host,
        "stage": facts.stage,
        "retries": facts.retries,
    }


def _internal_error(facts: RunFacts) -> dict[str, Any]:
    failure = _failure(facts)
    applied = bool(failure.get("applied"))
    error = str(failure.get("error", ""))
    stopped = error in ("worker stopped", "interrupted", "task lost", "never queued")
    outcome = (
        "The changes had been applied; only the run's report is incomplete."
        if applied
        else "Nothing was changed: the records are exactly as before the run."
    )
    return {
        "headline": "The worker running this sync stopped before it finished."
        if stopped
        else "The sync stopped on an unexpected error in Rollcall.",
        "what_happened": f"{outcome} Support has the details in the server log.",
        "evidence": [{"text": _safe(facts.message, facts), "error": error, "applied": applied}],
        "next_steps": [
            "Run the sync again (Check for new data).",
            "If it fails the same way, contact support with the run number "
            f"#{facts.id}: the server log holds the details.",
        ],
        "applied": applied,
        "error": error,
    }


def _unknown(facts: RunFacts) -> dict[str, Any]:
    return {
        "headline": _first_sentence(facts.message, facts) or "The run failed.",
        "what_happened": _safe(facts.message, facts),
        "next_steps": ["Run the sync again; if it fails the same way, contact support."],
    }


_EXPLAINERS = {
    "threshold": _threshold,
    "schools_not_found": _schools_not_found,
    "credentials": _credentials,
    "invalid_files": _invalid_files,
    "source_unavailable": _source_unavailable,
    "internal_error": _internal_error,
}


# ---------------------------------------------------------------- words


def _host(failure: Mapping[str, Any]) -> str:
    """The server a failure names: its host, or the host of its URL (never credentials)."""
    if failure.get("host"):
        return str(failure["host"])
    url = str(failure.get("url", ""))
    return (urlsplit(url).hostname or "") if url else ""


def _percent(text: str) -> str:
    """A stored threshold ("10.00", "12.50") as people write it ("10", "12.5")."""
    return text.rstrip("0").rstrip(".") if "." in text else text


def _first_sentence(text: str, facts: RunFacts) -> str:
    text = _safe(text, facts).strip()
    for end in (". ", "? ", "! "):
        if end in text:
            return text[: text.index(end) + 1]
    return text


def _count(n: int, kind: str) -> str:
    """'912 students', '1 student', '2 classes', '1 class'."""
    singular = kind.removesuffix("es" if kind.endswith("sses") else "s")
    return f"{n:,} {kind if n != 1 else singular}"


def _series(parts: list[str], last: str = "and") -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + f" {last} " + parts[-1]
