"""OneRoster 1.2 CSV → Roster: the 1.1 parser with roles.csv and preferred names."""

from __future__ import annotations

from pathlib import Path

from syncs.findings import Finding
from syncs.formats import oneroster_csv
from syncs.records import Roster


def parse(folder: Path) -> tuple[Roster, list[Finding]]:
    return oneroster_csv.parse(folder, version="1.2")
