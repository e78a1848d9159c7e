"""Formats: each turns a folder of roster files into canonical records.

A parser is `parse(folder, advance) -> (Roster, findings)`, where `advance(n)` is told
the rows read (in batches; progress is the caller's business, not the parser's). `detect`
names the format of a folder: the manifest first, then the files and their headers. A
format set on the sync config wins over detection.

Formats are pure: no database, no network, no progress tracker (import contracts in
pyproject.toml keep it so), so a parser runs and is tested on files alone.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from importlib import import_module
from pathlib import Path

from syncs.errors import SyncFailure
from syncs.findings import Finding, IssueCode
from syncs.formats.csvfiles import Advance, find_files, header_key, no_progress
from syncs.formats.limits import fit_to_columns
from syncs.records import Roster

# The `parse` of every format module.
Parser = Callable[..., tuple[Roster, list[Finding]]]

# Format -> module with `parse(folder, advance)`; imported when used.
PARSERS = {
    "oneroster_1_1_csv": "syncs.formats.oneroster_csv",
    "oneroster_1_2_csv": "syncs.formats.oneroster12_csv",
    "clever_csv": "syncs.formats.clever_csv",
    # Pages the API sources saved as JSON files.
    "clever_api_json": "syncs.formats.clever_api",
    "oneroster_json": "syncs.formats.oneroster_json",
}


def _header_keys(path: Path) -> set[str]:
    try:
        with path.open(encoding="utf-8-sig", errors="replace", newline="") as f:
            return {header_key(h) for h in next(csv.reader(f), [])}
    except csv.Error:
        return set()


def _manifest_version(path: Path) -> str:
    from syncs.formats.oneroster_files import manifest_rows

    for prop, value in manifest_rows(path):
        if prop.lower() == "oneroster.version":
            return value
    return ""


def detect(folder: Path) -> str:
    """The format of the files in `folder`, or fail `invalid_files` listing what is there."""
    files = find_files(folder)
    if "manifest.csv" in files:
        version = _manifest_version(files["manifest.csv"])
        if version.startswith("1.2"):
            return "oneroster_1_2_csv"
        if version.startswith("1.1") or version.startswith("1.0"):
            return "oneroster_1_1_csv"
    if "roles.csv" in files:
        return "oneroster_1_2_csv"
    if "users.csv" in files:
        keys = _header_keys(files["users.csv"])
        if "role" in keys or "roles" in keys:
            return "oneroster_1_1_csv"
        if keys & {"usermasteridentifier", "preferredgivenname", "primaryorgsourcedid"}:
            return "oneroster_1_2_csv"
        return "oneroster_1_1_csv"  # let the parser name the missing header
    if "students.csv" in files and "studentid" in _header_keys(files["students.csv"]):
        return "clever_csv"
    if files.keys() & {"orgs.csv", "academicsessions.csv", "demographics.csv"}:
        return "oneroster_1_1_csv"  # OneRoster with users.csv missing: the parser says so
    csvs = sorted(name for name in files if name.endswith(".csv"))
    raise SyncFailure(
        "invalid_files",
        "These files are not a roster format Rollcall reads (OneRoster 1.1 or 1.2 CSV, or "
        "Clever CSV). Found: " + (", ".join(csvs) if csvs else "no CSV files") + ".",
        {"found_files": csvs},
    )


def parse(
    folder: Path, fmt: str = "auto", advance: Advance = no_progress
) -> tuple[Roster, list[Finding]]:
    """Parse `folder` as `fmt`, detecting it first when `fmt` is "auto".

    `advance(n)` is told the rows read, in batches (a run passes `progress.advance`).
    """
    name = detect(folder) if fmt in ("", "auto") else fmt
    if name not in PARSERS:
        raise SyncFailure("invalid_files", f"Unknown roster format {name!r}.", {"format": name})
    parser: Parser = import_module(PARSERS[name]).parse
    roster, findings = parser(folder, advance=advance)
    roster.format = name
    # A person's reference to someone not in the files is judged by scope, which knows
    # whether that person is synced at all (Roster.references).
    roster.references = [f for f in findings if _is_reference(f)]
    findings = [f for f in findings if not _is_reference(f)]
    return roster, findings + fit_to_columns(roster)


def _is_reference(f: Finding) -> bool:
    return f.code == IssueCode.UNKNOWN_REFERENCE and f.kind == "person" and bool(f.source_id)
