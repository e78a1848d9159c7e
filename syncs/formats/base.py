"""What every format's parser shares: the findings it collects and how it reports a row
it cannot use.

Each format names a row's position its own way, and its messages keep that wording: a
CSV file says "line 12", a OneRoster collection "record 12" (its position across pages),
a Clever page "item 12". A subclass sets the words; the messages are built here once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import ClassVar, NamedTuple, Protocol

from syncs.findings import Finding, IssueCode
from syncs.formats.csvfiles import Advance, FileSpec, Table, no_progress, open_table
from syncs.records import Roster, Where

__all__ = [
    "Advance",
    "Collection",
    "CsvParser",
    "RosterParser",
    "Source",
    "no_progress",
]


class Source(Protocol):
    """Where rows come from: a CSV file's spec, or a collection of JSON records."""

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> str: ...  # syncs.models.RecordKind value of its records


class Collection(NamedTuple):
    """A collection of JSON records (or one page of it) and the kind of its records."""

    name: str
    kind: str


def _ignore(_key: tuple[str, ...]) -> None:
    pass


class RosterParser:
    """Fills one Roster and collects the findings of one parse."""

    # How a message names a row's position: "line", "record" or "item".
    unit: ClassVar[str] = "line"
    # How a duplicate names the first row with its ID when that row is in the same file
    # ("on line 3"); "" names the file every time ("in users-0001.json item 3").
    first_in_same_file: ClassVar[str] = "on line"
    # Said of a duplicate after its ID (a Clever page: " with other data").
    duplicate_note: ClassVar[str] = ""

    def __init__(self, roster: Roster) -> None:
        self.roster = roster
        self.findings: list[Finding] = []

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)

    def invalid_row(self, source: Source, line: int | None, why: str) -> None:
        """A row that cannot be used: `why` completes "<file> line 12 …"."""
        self.add(
            Finding(
                code=IssueCode.INVALID_ROW,
                kind=source.kind,
                file=source.name,
                line=line,
                message=f"{source.name} {self.unit} {line} {why}.",
            )
        )

    def no_id(self, source: Source, line: int | None, column: str) -> None:
        """A row whose ID (`column`) is blank."""
        self.invalid_row(source, line, f"has no {column}")

    def duplicate(self, source: Source, source_id: str, line: int | None, first: Where) -> None:
        """A row repeating the ID of an earlier one (at `first`), which is the one kept."""
        if self.first_in_same_file and first.file == source.name:
            place = f"{self.first_in_same_file} {first.line}"
        else:
            place = f"in {first.file} {self.unit} {first.line}"
        self.add(
            Finding(
                code=IssueCode.DUPLICATE_ID,
                kind=source.kind,
                source_id=source_id,
                file=source.name,
                line=line,
                message=f"{source.name} {self.unit} {line} repeats ID {source_id}"
                f"{self.duplicate_note} (first {place}).",
            )
        )


class CsvParser(RosterParser):
    """A parser of a folder of CSV files, found by their lower-cased names."""

    def __init__(
        self, roster: Roster, files: Mapping[str, Path], advance: Advance = no_progress
    ) -> None:
        super().__init__(roster)
        self.files = files
        # Called with the number of rows read, in batches (see csvfiles.Table.rows).
        self.advance = advance

    def table(
        self,
        spec: FileSpec,
        on_unreadable: Callable[[tuple[str, ...]], None] | None = None,
        *,
        keep_bad_cells: bool = False,
    ) -> Table:
        """Open one file; `on_unreadable` gets the key of each row that cannot be read."""
        return open_table(
            spec,
            self.files[spec.name.lower()],
            self.add,
            on_unreadable or _ignore,
            keep_bad_cells=keep_bad_cells,
            advance=self.advance,
        )
