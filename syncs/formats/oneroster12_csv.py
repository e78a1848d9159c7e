"""OneRoster 1.2 CSV → Roster: the 1.1 parser with roles.csv and preferred names."""

from __future__ import annotations

from pathlib import Path

from syncs.findings import Finding
from syncs.formats import oneroster_csv
from syncs.formats.base import Advance, no_progress
from syncs.records import Roster


def parse(folder: Path, advance: Advance = no_progress) -> tuple[Roster, list[Finding]]:
    return oneroster_csv.parse(folder, version="1.2", advance=advance)
