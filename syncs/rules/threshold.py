"""Stage 7, rule T: never archive too many records at once.

T1 the threshold is a percentage per config. T2 for each kind a run may archive at most
floor(threshold% × active records of that kind the config manages): 501 students at 10%
allows 50. T3 if any kind would exceed it the run fails `threshold`, still applies creates
and updates, and archives nothing. T4 diagnostics say per kind active / planned / allowed
and the likely causes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal


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


def likely_causes(
    *,
    empty_files: dict[str, str],
    missing_schools: list[str],
    leading_zero_pairs: list[tuple[str, str]],
    ignored_headers: dict[str, list[str]],
    archives_by_school: dict[str, int],
    active_by_school: dict[str, int],
) -> list[str]:
    """Plain-language reasons a run may want to archive too much (T4)."""
    causes = []
    for kind, name in sorted(empty_files.items()):
        causes.append(
            f"{name} has a header row but no data rows, so every {kind} record looks gone."
        )
    for sis_id in missing_schools:
        causes.append(f"School {sis_id} has active records here but is missing from the files.")
    for ours, theirs in leading_zero_pairs:
        causes.append(
            f"School ID {ours} here and {theirs} in the files differ only by leading zeros "
            "(a spreadsheet may have dropped them)."
        )
    for name, headers in sorted(ignored_headers.items()):
        shown = ", ".join(f"`{h}`" for h in headers[:5])
        causes.append(f"{name}: header(s) not recognized and ignored: {shown}.")
    for sis_id, n in sorted(archives_by_school.items()):
        active = active_by_school.get(sis_id, 0)
        if active and n == active:
            causes.append(f"Every active record of school {sis_id} would be archived.")
    if not causes:
        causes.append(
            "No file problem was found: this may be a real change (for example students "
            "leaving at the end of the year). Review the records it would archive, then "
            "raise the threshold or approve this run's archives once."
        )
    return causes
