"""Stage 7, rule T: never archive too many records at once.

T1 the threshold is a percentage per config. T2 for each kind a run may archive at most
floor(threshold% × active records of that kind the config manages): 501 students at 10%
allows 50. T3 if any kind would exceed it the run fails `threshold`, still applies creates
and updates, and archives nothing. T4 diagnostics say per kind active / planned / allowed
and the likely causes, ranked by how many of the planned archives each explains.
T6 each school also has a limit per kind (the same percentage, or the config's
`school_threshold`): when only some schools exceed theirs, only their archives are held,
provided what remains stays within the district-wide limit (else everything is, T3).

U (optional): when more than the config's update threshold of a kind's active records
would change a name, email, phone or birth date in one run, those updates are held.
Watch: a school's active count of a kind that falls far below its usual count (the
median of its last applied runs) raises a `school_drop` alert.

Also the guard's other check: a required file with a header and no data rows, while the
mirror holds active records that depend on it, fails `invalid_files`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from syncs.errors import SyncFailure
from syncs.findings import IssueCode


def allowed_archives(active: int, threshold: Decimal) -> int:
    """floor(threshold% × active), exactly, in decimal arithmetic (no float rounding)."""
    return math.floor(Decimal(active) * Decimal(threshold) / Decimal(100))


@dataclass(frozen=True)
class KindCheck:
    kind: str
    active: int
    planned: int
    allowed: int

    @property
    def exceeded(self) -> bool:
        return self.planned > self.allowed

    def as_dict(self) -> dict:
        return {
            "active": self.active,
            "planned": self.planned,
            "allowed": self.allowed,
            "exceeded": self.exceeded,
        }


def check_threshold(
    active: dict[str, int], planned: dict[str, int], threshold: Decimal
) -> list[KindCheck]:
    return [
        KindCheck(
            kind,
            active.get(kind, 0),
            planned.get(kind, 0),
            allowed_archives(active.get(kind, 0), threshold),
        )
        for kind in sorted(active.keys() | planned.keys())
    ]


# ---------------------------------------------------------------- T6: per school


@dataclass(frozen=True)
class SchoolCheck:
    """One school's own limit per kind (T6): the kinds it would archive records of."""

    sis_id: str
    checks: tuple[KindCheck, ...]

    @property
    def exceeded(self) -> bool:
        return any(c.exceeded for c in self.checks)

    def kinds(self) -> dict[str, dict[str, int]]:
        """{kind: {active, planned, allowed}} of the kinds it plans archives of."""
        return {
            c.kind: {"active": c.active, "planned": c.planned, "allowed": c.allowed}
            for c in self.checks
            if c.planned
        }


@dataclass(frozen=True)
class ArchiveDecision:
    """What rule T decides about a run's archives.

    `district`: each kind over the whole district (T2). `over`: the schools that exceed
    their own limit (T6). `remainder`: the district-wide limit checked on what is left
    once those schools are set aside. When the remainder still exceeds it everything is
    held (T3); otherwise only the schools `over` their limit are (`held`).
    """

    district: list[KindCheck]
    over: list[SchoolCheck]
    remainder: list[KindCheck]
    # Every school is over its own limit: no remainder, the district's limit decides.
    every_school: bool = False

    @property
    def hold_all(self) -> bool:
        return any(c.exceeded for c in self.remainder)

    @property
    def blocked(self) -> list[KindCheck]:
        """The district's exceeded kinds when everything is held (T3), else none."""
        return [c for c in self.district if c.exceeded] if self.hold_all else []

    @property
    def held(self) -> list[SchoolCheck]:
        """The schools whose archives alone are held (T6); none when everything is."""
        return [] if self.hold_all else list(self.over)

    @property
    def passed(self) -> bool:
        return not self.hold_all and not self.over


def decide_archives(
    *,
    active: Mapping[str, int],
    planned: Mapping[str, int],
    active_by_school: Mapping[str, Mapping[str, int]],
    planned_by_school: Mapping[str, Mapping[str, int]],
    threshold: Decimal,
    school_threshold: Decimal | None = None,
) -> ArchiveDecision:
    """Rule T with T6: each kind against the district's limit, each school's kinds
    against the school's own (`school_threshold`, else the same percentage), and the
    district's limit again on what the schools over theirs leave.

    Records of no school ("") are never held on their own: they stay in the remainder.
    A school's active and planned counts must place records the way the planned-archive
    list does (a person at their first school, a link at its class's or student's).
    """
    district = check_threshold(dict(active), dict(planned), threshold)
    own = threshold if school_threshold is None else school_threshold
    over = []
    for sis_id, kinds in sorted(planned_by_school.items()):
        if not sis_id or not any(kinds.values()):
            continue
        school = SchoolCheck(
            sis_id,
            tuple(check_threshold(dict(active_by_school.get(sis_id, {})), dict(kinds), own)),
        )
        if school.exceeded:
            over.append(school)
    if not over:
        return ArchiveDecision(district, [], district)
    schools = {s for s in active_by_school.keys() | planned_by_school.keys() if s}
    if {school.sis_id for school in over} >= schools:
        # Every school is over its limit: nothing else to apply, the district decides.
        return ArchiveDecision(district, over, district, every_school=True)
    rest_active, rest_planned = dict(active), dict(planned)
    for school in over:
        for kind, n in active_by_school.get(school.sis_id, {}).items():
            rest_active[kind] = rest_active.get(kind, 0) - n
        for kind, n in planned_by_school[school.sis_id].items():
            rest_planned[kind] = rest_planned.get(kind, 0) - n
    remainder = check_threshold(rest_active, rest_planned, threshold)
    return ArchiveDecision(district, over, remainder)


# ---------------------------------------------------------------- U: mass updates


def check_updates(
    active: Mapping[str, int], changed: Mapping[str, int], percent: Decimal | None
) -> list[KindCheck]:
    """Rule U: per kind, records whose name, email, phone or birth date would change
    (`planned`) against floor(percent% × active records) (`allowed`). Only kinds with
    changes; none when the guard is off (`percent` None)."""
    if percent is None:
        return []
    kinds = {k: n for k, n in changed.items() if n}
    return check_threshold({k: active.get(k, 0) for k in kinds}, kinds, percent)


# ---------------------------------------------------------------- watch: sharp drops

# How many applied runs the usual count is the median of.
DROP_HISTORY_RUNS = 7
# A drop larger than this always alerts, whatever drop_alert_percent says: a school left
# nearly empty by one run never reads as a plain success.
NEARLY_EMPTY_PERCENT = Decimal("90")
# Smaller counts swing too much from night to night to alert on.
DROP_MIN_USUAL = 10


@dataclass(frozen=True)
class Drop:
    """A school's active count of a kind, after a run, far below its usual count."""

    school: str
    name: str
    kind: str
    usual: int
    after: int
    percent: Decimal

    @property
    def fell_by(self) -> int:
        """The fall in whole percent of the usual count."""
        return round(100 * (self.usual - self.after) / self.usual)

    @property
    def message(self) -> str:
        return (
            f"{_school_label(self.school, self.name)} {self.kind}: {self.usual:,} → "
            f"{self.after:,} active ({self.fell_by}% below its usual count, the median of "
            f"its last applied runs; the alert is set at {_percent_text(self.percent)}%)."
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "school": self.school,
            "name": self.name,
            "kind": self.kind,
            "usual": self.usual,
            "after": self.after,
            "fell_by": self.fell_by,
        }


def usual_count(history: list[int]) -> int:
    """The median of the last DROP_HISTORY_RUNS counts (the lower middle of an even
    number: an alert errs towards the smaller usual count)."""
    recent = sorted(history[-DROP_HISTORY_RUNS:])
    return recent[(len(recent) - 1) // 2]


def sharp_drops(
    *,
    after: Mapping[str, Mapping[str, int]],
    before: Mapping[str, Mapping[str, int]],
    history: Mapping[str, list[Mapping[str, int]]],
    percent: Decimal,
    names: Mapping[str, str] | None = None,
    skip: frozenset[str] | set[str] = frozenset(),
    kinds: tuple[str, ...] = ("students", "teachers", "parents", "classes"),
) -> list[Drop]:
    """Per school and kind, the active count a run leaves (`after`) compared with the
    median of the school's counts after its last applied runs (`history`, oldest first),
    or with the count before this run when there is no history yet. A fall of more than
    `percent` (at most NEARLY_EMPTY_PERCENT) is a drop. Schools in `skip` (their
    archives held by rule T6) are left out: the threshold already stopped them."""
    limit = min(Decimal(percent), NEARLY_EMPTY_PERCENT)
    drops = []
    for school in sorted(after.keys() | before.keys() | history.keys()):
        if not school or school in skip:
            continue
        for kind in kinds:
            past = [int(h.get(kind, 0)) for h in history.get(school, ())]
            usual = usual_count(past) if past else before.get(school, {}).get(kind, 0)
            now = after.get(school, {}).get(kind, 0)
            if usual >= DROP_MIN_USUAL and (usual - now) * 100 > limit * usual:
                drops.append(Drop(school, (names or {}).get(school, ""), kind, usual, now, limit))
    return drops


def _percent_text(value: Decimal) -> str:
    text = str(value)
    return text.rstrip("0").rstrip(".") if "." in text else text


def check_empty_files(empty_files: Mapping[str, str], active: Mapping[str, int]) -> None:
    """Fail `invalid_files` when a required file has headers only while the mirror has
    active records of its kind: a broken export, not a district that emptied overnight.

    `empty_files` maps a kind (people, classes, enrollments, schools) to its file;
    `active` the threshold kinds to the active records the config manages.
    """
    people = active.get("students", 0) + active.get("teachers", 0) + active.get("parents", 0)
    depending = {
        "people": people,
        "classes": active.get("classes", 0),
        "enrollments": active.get("enrollments", 0),
        "schools": sum(active.values()),
    }
    for kind, name in sorted(empty_files.items()):
        if depending.get(kind, 0):
            raise SyncFailure(
                "invalid_files",
                f"{name} has a header row but no data rows, while {depending[kind]} active "
                f"records depend on it. Nothing was changed; check the SIS export.",
                {
                    "file": name,
                    "kind": kind,
                    "active": depending[kind],
                    "active_by_kind": dict(active),
                },
            )


# Where each kind is read from, per format (syncs.formats.PARSERS), for messages.
KIND_FILES: dict[str, dict[str, str]] = {
    "oneroster_1_1_csv": {
        "students": "users.csv",
        "teachers": "users.csv",
        "parents": "users.csv",
        "classes": "classes.csv",
        "enrollments": "enrollments.csv",
        "guardianships": "users.csv",
    },
    "clever_csv": {
        "students": "students.csv",
        "teachers": "teachers.csv",
        "parents": "students.csv",
        "classes": "sections.csv",
        "enrollments": "enrollments.csv",
        "guardianships": "students.csv",
    },
    "clever_api_json": {
        "students": "the Clever users",
        "teachers": "the Clever users",
        "parents": "the Clever users",
        "classes": "the Clever sections",
        "enrollments": "the Clever sections",
        "guardianships": "the Clever users",
    },
    "oneroster_json": {
        "students": "the OneRoster users",
        "teachers": "the OneRoster users",
        "parents": "the OneRoster users",
        "classes": "the OneRoster classes",
        "enrollments": "the OneRoster enrollments",
        "guardianships": "the OneRoster users",
    },
}
KIND_FILES["oneroster_1_2_csv"] = KIND_FILES["oneroster_1_1_csv"]
# The kinds a school holds directly (links follow their class or person).
SCHOOL_KINDS = ("students", "teachers", "parents", "classes")
# A file is "nearly empty" below this share of the rows the last applied run read...
SHRUNK_BELOW = 0.5
# ...and a kind has "dropped" when the files hold this much less of it than then.
DROPPED_BY = 0.1


def kind_file(fmt: str, kind: str) -> str:
    """The file (or collection) a kind is read from, in a format; "the files" if unknown."""
    return KIND_FILES.get(fmt, {}).get(kind, "the files")


@dataclass(frozen=True)
class Cause:
    """One likely cause of a threshold failure (T4): what it is, in words, how many of
    the planned archives it accounts for (`weight`, which ranks causes), and the figures
    behind it."""

    code: str
    text: str
    weight: int = 0
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "text": self.text, "weight": self.weight, **self.evidence}


def _school_label(sis_id: str, name: str) -> str:
    return f"School {sis_id} ({name})" if name and name != sis_id else f"School {sis_id}"


def _count(n: int, kind: str) -> str:
    """'912 students', '1 student' (kinds are plural nouns)."""
    singular = kind.removesuffix("es" if kind.endswith("sses") else "s")
    return f"{n:,} {kind if n != 1 else singular}"


def _series(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _school_causes(schools: Mapping[str, Mapping[str, Any]], fmt: str) -> list[Cause]:
    """Schools that left the files, left the sync's scope, or whose records of a kind
    are all (or mostly) missing while the school itself is still listed."""
    causes = []
    for sis_id, facts in sorted(schools.items()):
        if not sis_id:
            continue
        name = facts.get("name", "")
        active: Mapping[str, int] = facts.get("active", {})
        planned: Mapping[str, int] = facts.get("planned", {})
        total = sum(planned.get(k, 0) for k in SCHOOL_KINDS)
        label = _school_label(sis_id, name)
        evidence = {"school": sis_id, "name": name, "planned": dict(planned)}
        if facts.get("out_of_scope"):
            causes.append(
                Cause(
                    "school_out_of_scope",
                    f"{label} is in the files but not among this sync's school IDs, so its "
                    f"{_series([_count(planned[k], k) for k in SCHOOL_KINDS if planned.get(k)])} "
                    "would be archived.",
                    total,
                    evidence,
                )
            )
        elif not facts.get("in_files", True):
            causes.append(
                Cause(
                    "school_missing",
                    f"{label} has active records here but is missing from the files: its "
                    f"{_series([_count(planned[k], k) for k in SCHOOL_KINDS if planned.get(k)])} "
                    "would be archived.",
                    total,
                    evidence,
                )
            )
        else:
            causes += _records_missing(label, evidence, active, planned, fmt)
    return causes


def _records_missing(
    label: str,
    evidence: dict[str, Any],
    active: Mapping[str, int],
    planned: Mapping[str, int],
    fmt: str,
) -> list[Cause]:
    """A school still in the files whose records of some kind are all, or mostly, gone
    from them (its students left out of users.csv, say)."""
    gone = [k for k in SCHOOL_KINDS if active.get(k) and planned.get(k, 0) >= active[k]]
    most = [
        k
        for k in SCHOOL_KINDS
        if k not in gone and active.get(k, 0) >= 10 and planned.get(k, 0) * 2 >= active[k]
    ]
    causes = []
    if gone:
        said = [
            f"none of its {_count(active[k], 'active ' + k)} "
            f"{'is' if active[k] == 1 else 'are'} in {kind_file(fmt, k)}"
            for k in gone
        ]
        causes.append(
            Cause(
                "school_records_missing",
                f"{label} is still in the files, but {_series(said)}.",
                sum(planned[k] for k in gone),
                {**evidence, "kinds": gone, "active": {k: active[k] for k in gone}},
            )
        )
    if most:
        said = [
            f"{planned[k]:,} of its {_count(active[k], 'active ' + k)} are missing from "
            f"{kind_file(fmt, k)}"
            for k in most
        ]
        causes.append(
            Cause(
                "school_records_dropped",
                f"{label} is still in the files, but {_series(said)}.",
                sum(planned[k] for k in most),
                {**evidence, "kinds": most, "active": {k: active[k] for k in most}},
            )
        )
    return causes


def rank_causes(
    *,
    fmt: str = "",
    schools: Mapping[str, Mapping[str, Any]] | None = None,
    empty_files: Mapping[str, str] | None = None,
    active: Mapping[str, int] | None = None,
    leading_zero_pairs: list[tuple[str, str]] | None = None,
    leading_zero_ids: Mapping[str, Mapping[str, Any]] | None = None,
    ignored_headers: Mapping[str, list[str]] | None = None,
    header_issues: Mapping[str, int] | None = None,
    file_rows: Mapping[str, int] | None = None,
    previous_file_rows: Mapping[str, int] | None = None,
    present: Mapping[str, int] | None = None,
    previous_present: Mapping[str, int] | None = None,
    archives_by_school: Mapping[str, int] | None = None,
    active_by_school: Mapping[str, int] | None = None,
    missing_schools: list[str] | None = None,
    fallback: bool = True,
) -> list[Cause]:
    """The likely causes of a run wanting to archive too much (T4), most archives
    explained first. Every argument is plain data a run records (see
    syncs.services.stages.guard_plan) or a later reader has (the previous applied run).

    `schools`: per SIS school ID with planned archives, {"name", "in_files",
    "out_of_scope", "active": {kind: n}, "planned": {kind: n}}. `leading_zero_ids`: per
    kind, {"count", "examples": [[archived ID, created ID], ...]}. `present`: records of
    each kind in the files; `previous_*`: the same of the last applied run.
    `archives_by_school`, `active_by_school` and `missing_schools` are the older,
    kind-less form of `schools`. With `fallback`, a list that explains no archive ends
    with the possibility that the change is real.
    """
    causes: list[Cause] = []
    active = active or {}
    for kind, name in sorted((empty_files or {}).items()):
        weight = sum(active.get(k, 0) for k in _KINDS_OF.get(kind, (kind,)))
        causes.append(
            Cause(
                "empty_file",
                f"{name} has a header row but no data rows, so every {kind} record looks gone.",
                weight,
                {"file": name, "kind": kind},
            )
        )
    causes += _shrunk_files(file_rows or {}, previous_file_rows or {})
    causes += _school_causes(schools or {}, fmt)
    for sis_id in missing_schools or ():
        causes.append(
            Cause(
                "school_missing",
                f"School {sis_id} has active records here but is missing from the files.",
                (archives_by_school or {}).get(sis_id, 0),
                {"school": sis_id},
            )
        )
    for ours, theirs in leading_zero_pairs or ():
        causes.append(
            Cause(
                "leading_zero_school",
                f"School ID {ours} here and {theirs} in the files differ only by leading zeros "
                "(a spreadsheet may have dropped them).",
                (schools or {}).get(ours, {}).get("planned", {}).get("students", 0)
                or (archives_by_school or {}).get(ours, 0),
                {"school": ours, "in_files": theirs},
            )
        )
    for kind, found in sorted((leading_zero_ids or {}).items()):
        examples = [tuple(pair) for pair in found.get("examples", [])][:3]
        shown = ", ".join(f"{old} → {new}" for old, new in examples)
        causes.append(
            Cause(
                "leading_zero_ids",
                f"{_count(found['count'], kind)} would be archived and created again under "
                f"the same ID without its leading zeros ({shown}): a spreadsheet may have "
                "dropped them.",
                found["count"],
                {"kind": kind, "count": found["count"], "examples": [list(e) for e in examples]},
            )
        )
    causes += _drops(present or {}, previous_present or {})
    for sis_id, n in sorted((archives_by_school or {}).items()):
        school_active = (active_by_school or {}).get(sis_id, 0)
        if school_active and n == school_active:
            causes.append(
                Cause(
                    "school_emptied",
                    f"Every active record of school {sis_id} would be archived.",
                    n,
                    {"school": sis_id},
                )
            )
    for name, headers in sorted((ignored_headers or {}).items()):
        shown = ", ".join(f"`{h}`" for h in headers[:5])
        causes.append(
            Cause(
                "ignored_headers",
                f"{name}: header(s) not recognized and ignored: {shown}.",
                0,
                {"file": name, "headers": list(headers)},
            )
        )
    causes += _header_alerts(header_issues or {})
    if fallback and not any(c.weight for c in causes):
        causes.append(
            Cause(
                "real_change",
                "No sign of a broken export: nothing is missing from the files that would "
                "explain it, so this may be a real change (for example students leaving at "
                "the end of the year). Review the records it would archive, then approve "
                "this run's archives once or raise the threshold.",
            )
        )
    # Stable: among equal weights, the order above (file problems first) stands.
    return sorted(causes, key=lambda c: -c.weight)


# Which threshold kinds depend on each kind of empty file.
_KINDS_OF = {
    "people": ("students", "teachers", "parents"),
    "schools": ("students", "teachers", "parents", "classes", "enrollments"),
}


def _header_alerts(issues: Mapping[str, int]) -> list[Cause]:
    """Header alerts the run raised: a column missing or matched only after repair."""
    found = {
        str(code): issues[code]
        for code in (IssueCode.COLUMN_MISSING, IssueCode.HEADER_REPAIRED)
        if issues.get(code)
    }
    if not found:
        return []
    alerts = _series([f"{n} {code} alert{'s' if n != 1 else ''}" for code, n in found.items()])
    return [
        Cause(
            "header_alerts",
            f"Some headers were missing or needed repair ({alerts}): check the export's "
            "header rows.",
            0,
            found,
        )
    ]


def _shrunk_files(rows: Mapping[str, int], before: Mapping[str, int]) -> list[Cause]:
    causes = []
    for name, n in sorted(rows.items()):
        then = before.get(name, 0)
        if then >= 20 and n < then * SHRUNK_BELOW:
            causes.append(
                Cause(
                    "file_shrunk",
                    f"{name} has {n:,} data row{'s' if n != 1 else ''}; the last applied run "
                    f"read {then:,}.",
                    then - n,
                    {"file": name, "rows": n, "previous_rows": then},
                )
            )
    return causes


def _drops(present: Mapping[str, int], before: Mapping[str, int]) -> list[Cause]:
    causes = []
    for kind in ("students", "teachers", "parents", "classes", "enrollments"):
        now, then = present.get(kind, 0), before.get(kind, 0)
        if then and then - now >= max(1, then * DROPPED_BY):
            causes.append(
                Cause(
                    "drop",
                    f"{kind.capitalize()} in the files: {now:,}; the last applied run had "
                    f"{then:,} ({round(100 * (then - now) / then)}% fewer).",
                    then - now,
                    {"kind": kind, "present": now, "previous": then},
                )
            )
    return causes


def likely_causes(**facts: Any) -> list[str]:
    """The causes of `rank_causes`, as the sentences diagnostics list (T4)."""
    return [c.text for c in rank_causes(**facts)]
