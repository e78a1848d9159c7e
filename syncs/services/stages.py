"""The pipeline's stages (DESIGN §3), one function each, over plain values.

Each takes what the stages before it produced and returns what the next needs, plus the
findings it made; `syncs.services.pipeline` calls them in order and records the run.
The work itself is in syncs/{sources,formats,rules,pipeline}: these only join it up.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from django.db.models import Q
from django.db.models.fields.json import KT

from syncs import formats, progress
from syncs.findings import Finding, IssueCode
from syncs.models import (
    FailureReason,
    PlannedArchive,
    RunStatus,
    SchoolSummary,
    SyncConfig,
    SyncRun,
)
from syncs.pipeline import report
from syncs.pipeline.delta import merge_delta, roster_from_mirror
from syncs.pipeline.holds import (
    Holds,
    SchoolCounts,
    UpdateCheck,
    active_after,
    active_by_school,
    as_counts,
    held_archives,
    newest_pks,
    school_counts,
    update_samples,
    watched_changes,
)
from syncs.pipeline.mirror import Mirror, load_held_outside, load_mirror
from syncs.pipeline.normalize import normalize_many
from syncs.pipeline.plan import (
    Plan,
    active_counts,
    leading_zero_ids,
    make_plan,
    school_facts,
    unreadable_records,
)
from syncs.pipeline.unsent import fill_unsent
from syncs.records import PERSON_KIND_BY_ROLE, THRESHOLD_KINDS, PersonRecord, Roster
from syncs.rules.devices import DeviceOutcome, assign_devices
from syncs.rules.scope import near_matches, scope
from syncs.rules.threshold import (
    DROP_HISTORY_RUNS,
    Cause,
    Drop,
    KindCheck,
    SchoolCheck,
    check_empty_files,
    check_updates,
    decide_archives,
    rank_causes,
    sharp_drops,
)
from syncs.rules.validate import Normalized, Validated, validate
from syncs.sources import local, source_for

# ---------------------------------------------------------------- 1-2. fetch and parse


def open_source(config: SyncConfig, run: SyncRun) -> AbstractContextManager[Path]:
    """The run's files: an upload it was given, else its config's source."""
    if run.upload_path:
        return local.fetch(run.upload_path)
    return source_for(config.source_kind).fetch(config)


def parse_files(folder: Path, config: SyncConfig, run: SyncRun) -> tuple[Roster, list[Finding]]:
    """Canonical records from the fetched folder, in the source's format (uploaded files
    are detected: an API config's own format does not describe them)."""
    fmt = source_for(config.source_kind).format_for(config, uploaded=bool(run.upload_path))
    return formats.parse(folder, fmt, advance=progress.advance)


def count_lines(folder: Path) -> int:
    """Lines in the folder's CSV files: the parse stage's progress total (0 for JSON).
    Only a guess for the progress bar: what cannot be read here (a folder or a broken
    link named like a CSV file) is left for the parser to name."""
    lines = 0
    for path in Path(folder).rglob("*.csv"):
        try:
            with path.open("rb") as f:
                while chunk := f.read(1 << 20):
                    lines += chunk.count(b"\n")
        except OSError:
            continue
    return lines


# ---------------------------------------------------------------- 3. scope


@dataclass
class Scoped:
    """The roster narrowed to the config's schools, and the mirror it is compared with."""

    roster: Roster
    mirror: Mirror
    findings: list[Finding]
    diagnostics: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def scope_roster(roster: Roster, config: SyncConfig) -> Scoped:
    """Read the mirror once (absent columns keep its values, a delta merges into it, and
    the later stages compare against it), then keep the schools in scope.

    A required file with headers only, while the mirror has records that depend on it,
    fails the run here, before scope and validate: an issue for each row of the files
    that depend on it would only repeat the failure."""
    mirror = load_mirror(config=config)
    if not roster.delta:  # a delta file with no rows is a night without changes
        check_empty_files(roster.empty_files, active_counts(mirror))
    fill_unsent(roster, mirror)
    findings: list[Finding] = []
    diagnostics: dict[str, Any] = {"files": dict(roster.file_rows)}
    timings: dict[str, float] = {}
    if roster.delta:
        merging = time.perf_counter()
        diagnostics["delta"] = {
            "upserted_people": len(roster.people),
            "deleted_people": len(roster.deleted_people),
            "deleted_classes": len(roster.deleted_classes),
            "deleted_enrollments": len(roster.deleted_enrollments),
        }
        delta = roster
        roster, found = merge_delta(roster_from_mirror(mirror), delta)
        roster.district_name, roster.references = delta.district_name, delta.references
        findings += found
        timings["delta_merge"] = round(time.perf_counter() - merging, 3)
    scoped, found, dropped = scope(roster, list(config.school_ids))
    diagnostics["out_of_scope"] = dropped
    return Scoped(scoped, mirror, findings + found, diagnostics, timings)


# ---------------------------------------------------------------- 4-5. validate, devices


def validate_roster(roster: Roster, today: date) -> Validated:
    """Per-record checks (DESIGN §4), with devices normalized through the memo table."""
    people = roster.people.values()
    normalized = Normalized(
        emails=normalize_many("email", (p.email for p in people)),
        phones=normalize_many("phone", (ph for p in people for ph in (p.phone, *p.other_phones))),
    )
    return validate(roster, today, normalized)


def assign_roster_devices(roster: Roster, checked: Validated, mirror: Mirror) -> DeviceOutcome:
    """Rule D over the claims, the quarantined people's held devices included."""
    claimed = {d for devices in checked.claims.values() for d in devices}
    load_held_outside(mirror=mirror, claimed=claimed)
    people, claims, quarantined = _claims_with_quarantined(roster, checked, mirror)
    return assign_devices(people, claims, mirror.held_outside, quarantined)


def _claims_with_quarantined(roster: Roster, checked: Validated, mirror: Mirror):
    """Add the devices quarantined people hold now to the claims (rule Q with rule D).

    A present person with an error keeps their last good state, so they claim what their
    account holds, at their role's rank; people only in the mirror (an unreadable row)
    are described from it.
    """
    people = dict(roster.people)
    claims = dict(checked.claims)
    quarantined = set()
    for sid in checked.person_errors | unreadable_records(roster, mirror)[0]:
        row = mirror.people.get(sid)
        if row is None or row.archived or not row.account_id:
            continue
        held = sorted(mirror.devices.get(row.account_id, {}))
        if not held:
            continue
        people.setdefault(
            sid,
            PersonRecord(
                source_id=sid,
                role=row.role,
                given_name=row.given_name,
                family_name=row.family_name,
                school_ids=row.schools,
            ),
        )
        claims[sid] = held
        quarantined.add(sid)
    return people, claims, frozenset(quarantined)


# ---------------------------------------------------------------- 6-7. plan, guard


def plan_roster(roster: Roster, mirror: Mirror, checked: Validated, devices: DeviceOutcome) -> Plan:
    return make_plan(
        roster=roster,
        mirror=mirror,
        person_errors=checked.person_errors | devices.person_errors,
        class_errors=checked.class_errors,
        dob=checked.dob,
        winners=devices.winners,
    )


@dataclass
class Guard:
    """What the guard decided: the kinds whose archives are all blocked (rule T3), what
    it holds back otherwise (some schools' archives, T6; some kinds' updates, U), the
    sharp drops it saw (watch), and the diagnostics that explain it all (T4)."""

    blocked: list[KindCheck]
    diagnostics: dict[str, Any]
    holds: Holds = field(default_factory=Holds)
    counts: SchoolCounts = field(default_factory=SchoolCounts)
    # Per school, the active people and classes of each kind the run leaves.
    active_after: dict[str, dict[str, int]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    # Every kind against the district-wide limit (T2), exceeded or not.
    kinds: list[KindCheck] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """Anything held: the run fails `threshold` (creates and updates still apply)."""
        return bool(self.blocked) or self.holds.any


def guard_plan(
    roster: Roster,
    plan: Plan,
    mirror: Mirror,
    config: SyncConfig,
    history: Mapping[str, list[Mapping[str, int]]] | None = None,
    held: HeldBase | None = None,
) -> Guard:
    """Rule T with its per-school limits (T6), the mass-update guard (U) and the
    sharp-drop watch; a run that holds anything records what explains it (T4).
    `history`: per school, its active counts after the config's last applied runs
    (`school_history`). `held`: while the config's archives are held (`held_base`),
    the limits count the records as they stood before the held run, not the ones its
    creates added, so the same files the next night are held again. (The other guard,
    files with headers only, runs in `scope_roster`.)"""
    counts = school_counts(plan, mirror)
    base_by_school = counts.active
    base = {kind: plan.active[kind] for kind in THRESHOLD_KINDS}
    if held is not None:
        base_by_school = active_by_school(mirror, up_to=held.newest_pks)
        base = {kind: sum(c[kind] for c in base_by_school.values()) for kind in THRESHOLD_KINDS}
    decision = decide_archives(
        active=base,
        planned={kind: plan.planned_archives[kind] for kind in THRESHOLD_KINDS},
        active_by_school=as_counts(base_by_school),
        planned_by_school=as_counts(counts.planned),
        threshold=config.deletion_threshold,
        school_threshold=config.school_threshold,
    )
    updates = watched_changes(plan, mirror)
    update_checks = check_updates(plan.active, updates.changed, config.update_threshold)
    held_kinds = {c.kind for c in update_checks if c.exceeded}
    held_schools = [school.sis_id for school in decision.held]
    holds = Holds(
        hold_all=decision.hold_all,
        schools=frozenset(held_schools),
        archives=held_archives(counts, held_schools),
        updates=frozenset(pk for pk, kind in updates.kind_of.items() if kind in held_kinds),
    )
    threshold: dict[str, Any] = {
        "percent": str(config.deletion_threshold),
        "kinds": {c.kind: c.as_dict() for c in decision.district},
    }
    if config.school_threshold is not None:
        threshold["school_percent"] = str(config.school_threshold)
    if held is not None:
        threshold["counted_as_of_run"] = held.run_id
    if decision.hold_all or decision.held:
        # What the next runs count against while this hold lasts (`held_base`): the
        # records as they stood before the first run of the hold.
        threshold["held_base"] = (
            {"run": held.run_id, "newest_pks": held.newest_pks}
            if held is not None
            else {"newest_pks": newest_pks(mirror)}  # "run": this one (held_base)
        )
    diagnostics: dict[str, Any] = {"threshold": threshold, "skipped": plan.skipped(mirror)}
    names = _school_names(roster, mirror)
    if decision.over:
        # Schools over their own limit: held alone (T6), or along with everything (T3).
        threshold["schools_over"] = [
            _held_school(school, names, counts) for school in decision.over
        ]
        threshold["remainder"] = {c.kind: c.as_dict() for c in decision.remainder if c.planned}
        threshold["every_school_over"] = decision.every_school
    if decision.held:
        diagnostics["held"] = threshold["schools_over"]
    if held_kinds:
        diagnostics["held_updates"] = _held_updates(
            plan, mirror, updates, update_checks, held_kinds, holds, config
        )
    if decision.hold_all or decision.held:
        threshold["archives_by_school"] = report.archives_by_school(plan, mirror)
        threshold["schools"] = school_facts(plan, mirror, roster)
        threshold["leading_zero_ids"] = leading_zero_ids(plan, mirror)
        threshold["format"] = roster.format
        causes = _likely_causes(roster, threshold, plan)
        threshold["causes"] = [c.as_dict() for c in causes]
        diagnostics["likely_causes"] = [c.text for c in causes]
    after = active_after(plan, mirror, counts, holds)
    # Under T3 nothing is archived: the threshold has already said what it saw.
    drops = (
        []
        if holds.hold_all
        else sharp_drops(
            after=after,
            before={s: dict(kinds) for s, kinds in counts.active.items()},
            history=history or {},
            percent=config.drop_alert_percent,
            names=names,
            skip=holds.schools,
        )
    )
    if drops:
        diagnostics["drops"] = [d.as_dict() for d in drops]
    return Guard(
        decision.blocked,
        diagnostics,
        holds,
        counts,
        after,
        [_drop_finding(d) for d in drops],
        decision.district,
    )


def _school_names(roster: Roster, mirror: Mirror) -> dict[str, str]:
    names = {sis_id: name for sis_id, (_pk, name) in mirror.schools.items()}
    names.update({sis_id: s.name for sis_id, s in roster.schools.items() if s.name})
    return names


def _held_school(school: SchoolCheck, names: Mapping[str, str], counts: SchoolCounts) -> dict:
    """A school over its own limit as diagnostics list it: its kinds' figures and how
    many records (links included) its planned-archive list holds."""
    return {
        "sis_id": school.sis_id,
        "name": names.get(school.sis_id, ""),
        "kinds": school.kinds(),
        "records": sum(
            1
            for placed in counts.archive_school.values()
            for at in placed.values()
            if at == school.sis_id
        ),
    }


def _held_updates(
    plan: Plan,
    mirror: Mirror,
    updates: UpdateCheck,
    checks: list[KindCheck],
    held_kinds: set[str],
    holds: Holds,
    config: SyncConfig,
) -> dict[str, Any]:
    """Rule U's diagnostics: per held kind its figures and a few before/after samples,
    and per school how many of its people's updates were held."""
    schools: Counter[str] = Counter()
    rows = {row.pk: row for row in mirror.people.values()}
    for pk in holds.updates:
        schools[min(rows[pk].schools, default="")] += 1
    return {
        "percent": str(config.update_threshold),
        "kinds": {
            c.kind: {
                "active": c.active,
                "changed": c.planned,
                "allowed": c.allowed,
                "samples": update_samples(plan, mirror, updates, c.kind),
            }
            for c in checks
            if c.kind in held_kinds
        },
        "schools": dict(sorted(schools.items())),
    }


def _drop_finding(drop: Drop) -> Finding:
    return Finding(
        code=IssueCode.SCHOOL_DROP,
        kind="school",
        source_id=drop.school,
        name=drop.name,
        field=drop.kind,
        value=f"{drop.usual} → {drop.after}",
        school_id=drop.school,
        message=drop.message,
    )


# How far back held_base looks past runs that failed for another reason (a fortnight
# of nightly credential failures, say) for the run that holds archives.
HELD_LOOKBACK_RUNS = 50


@dataclass(frozen=True)
class HeldBase:
    """The run whose archives are still held, and its `newest_pks`."""

    run_id: int
    newest_pks: dict[str, int]


def held_base(run: SyncRun) -> HeldBase | None:
    """While the config's latest real run holds archives nobody has approved, what the
    threshold counts against: the records as they stood before that hold began. A held
    run still applies its creates (T3, T6); counted as active, they would let the same
    files through the next night (re-keyed IDs at 60%: 20 of 20 held, then 20 of 40
    archived). Runs that failed for another reason applied nothing and are passed over;
    a success or an approval ends the hold."""
    rows = (
        SyncRun.objects.filter(config_id=run.config_id, dry_run=False, pk__lt=run.pk)
        .filter(status__in=(RunStatus.SUCCEEDED, RunStatus.FAILED))
        .order_by("-pk")
        .values_list(
            "pk",
            "status",
            "failure_reason",
            "archives_approved_at",
            KT("diagnostics__archives_held"),
            KT("diagnostics__threshold__held_base"),
        )
    )
    for pk, status, reason, approved_at, held, base in rows[:HELD_LOOKBACK_RUNS]:
        if status == RunStatus.FAILED and reason != FailureReason.THRESHOLD:
            continue
        if reason != FailureReason.THRESHOLD or approved_at is not None:
            return None
        if held not in ("all", "schools") or not base:
            return None  # held updates only (U), or a run from before held_base
        found = json.loads(base) if isinstance(base, str) else base
        return HeldBase(
            run_id=int(found.get("run", pk)),
            newest_pks={t: int(v) for t, v in found["newest_pks"].items()},
        )
    return None


def school_history(run: SyncRun) -> dict[str, list[dict[str, int]]]:
    """Per school, its active counts after each of the config's last applied runs
    before `run` (oldest first): what the sharp-drop watch takes the median of."""
    runs = list(
        SyncRun.objects.filter(config_id=run.config_id, dry_run=False, pk__lt=run.pk)
        .filter(Q(status=RunStatus.SUCCEEDED) | Q(failure_reason=FailureReason.THRESHOLD))
        .order_by("-pk")
        .values_list("pk", flat=True)[:DROP_HISTORY_RUNS]
    )
    history: dict[str, list[dict[str, int]]] = {}
    rows = (
        SchoolSummary.objects.filter(run_id__in=runs, active__isnull=False)
        .order_by("run_id")
        .values_list("sis_id", "active")
    )
    for sis_id, active in rows:
        if isinstance(active, dict):
            history.setdefault(sis_id, []).append(active)
    return history


def _likely_causes(roster: Roster, threshold: dict[str, Any], plan: Plan) -> list[Cause]:
    """T4 from what the run has at hand; the explainer (syncs.explain) adds what only a
    later reader has, such as the last applied run's figures."""
    schools = threshold["schools"]
    gone = [s for s, facts in schools.items() if s and not facts["in_files"]]
    zero_pairs = [
        (ours, theirs)
        for ours in gone
        for theirs in near_matches(ours, roster.schools)
        if theirs.lstrip("0") == ours.lstrip("0")
    ]
    return rank_causes(
        fmt=roster.format,
        schools=schools,
        empty_files=roster.empty_files,
        active=plan.active,
        leading_zero_pairs=zero_pairs,
        leading_zero_ids=threshold["leading_zero_ids"],
        ignored_headers=roster.ignored_headers,
    )


# ---------------------------------------------------------------- 8. apply


def previous_applied_run(run: SyncRun) -> dict[str, Any]:
    """The config's last run that applied a plan, and what was already missing then
    (its blocked archives), for stamping `last_seen_run` on records that go missing."""
    previous = (
        SyncRun.objects.filter(config=run.config, dry_run=False, pk__lt=run.pk)
        .filter(Q(status=RunStatus.SUCCEEDED) | Q(failure_reason=FailureReason.THRESHOLD))
        .order_by("-pk")
        .first()
    )
    still_missing: dict[str, set[int]] = {}
    if previous is not None and previous.failure_reason == FailureReason.THRESHOLD:
        for kind, record_id in PlannedArchive.objects.filter(run=previous).values_list(
            "kind", "record_id"
        ):
            key = "people" if kind in PERSON_KIND_BY_ROLE.values() else kind
            still_missing.setdefault(key, set()).add(record_id)
    return {
        "previous_run_id": previous.pk if previous else None,
        "still_missing": still_missing,
    }
