"""Rows: an opened CSV file (`Table`) and its row reader, which reports an unreadable row
(wrong cell count, broken quoting) and carries on with the next line instead of losing
the rest of the file."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from syncs.errors import SyncFailure
from syncs.findings import Finding, IssueCode
from syncs.formats.csvfiles.encoding import (
    MIXED,
    Encoding,
    detect_encoding,
    encoding_finding,
    ends_with_newline,
    open_text,
    scan_marks,
)
from syncs.formats.csvfiles.headers import FileSpec, HeaderMatch, match_headers, show_header

if TYPE_CHECKING:
    from _csv import Reader as CsvReader

# Told how many more rows were read. Called once per 1,024 rows, never per row: the row
# loop is the hottest in a sync (a district's files hold over a million rows).
Advance = Callable[[int], None]


def no_progress(_rows: int) -> None:
    """The progress callback when no one is counting."""


FIELD_LIMIT = 10 * 1024 * 1024
csv.field_size_limit(FIELD_LIMIT)


def _error_text(exc: csv.Error | UnicodeDecodeError) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "its bytes are not text in the file's encoding"
    return csv_error_text(exc)


def csv_error_text(exc: csv.Error) -> str:
    text = str(exc)
    if "field larger than field limit" in text:
        return f"a cell is longer than the {FIELD_LIMIT // 1024**2} MB limit"
    return text


def clean_key(cell: str) -> str:
    """An ID as the rest of the file would write it: a NUL or a stray byte-order mark
    (two exports pasted together) is damage, not part of the ID."""
    return cell.replace("\0", "").replace("\ufeff", "").strip()


@dataclass
class Table:
    """An opened CSV file: its matched header and a generator of good rows."""

    spec: FileSpec
    path: Path
    encoding: Encoding
    header: HeaderMatch
    on_finding: Callable[[Finding], None]
    on_unreadable: Callable[[tuple[str, ...]], None]
    raw_headers: list[str] = field(default_factory=list)
    has_nul: bool = False
    has_bom: bool = False  # a byte-order mark after the start (concatenated exports)
    ends_with_newline: bool = True
    rows_read: int = 0
    rows_bad: int = 0
    # The cells of each unreadable row, for files whose rows say what they are (orgs:
    # a school or the district); None when not wanted.
    bad_cells: list[list[str]] | None = None
    advance: Advance = no_progress  # told the rows read, in batches

    def col(self, name: str) -> int | None:
        """Position of a column in the row, None when the file has no such column."""
        return self.header.index.get(name)

    def required_col(self, name: str) -> int:
        """Position of a column the spec requires: always there, since `match_headers`
        fails the run without it."""
        if name not in self.spec.required:
            raise ValueError(f"{name} is not a required column of {self.spec.name}")
        return self.header.index[name]

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """Yield (line number, cells) for every readable data row.

        The csv module reads the file directly (no Python work per line). Only when a
        row is broken is the file read again from the line after it, so an unclosed
        quote costs its own row, not the rest of the file. A file that ends inside a
        broken row, with no line break after it, was cut short: that fails the run,
        since the rows it lost would look like people who left.
        """
        # One loop over every row of every file: the hot path, kept in one function (issue #11).
        width = self.header.width
        careful = self.has_nul or self.has_bom
        header = self.raw_headers
        advance = self.advance
        last_bad = 0  # line of the last row, if it could not be read
        with open_text(self.path, self.encoding) as text:
            reader = csv.reader(text, strict=True)
            next(reader, None)  # header, already matched
            offset = 0  # physical lines before the current reader started
            while True:
                start = offset + reader.line_num + 1  # the next row's first line
                try:
                    cells = next(reader)
                except StopIteration:
                    advance(self.rows_read & 1023)
                    if last_bad and not self.ends_with_newline:
                        self._truncated(last_bad)
                    return
                except csv.Error as exc:
                    reader, offset = self._skip_bad_line(text, start, csv_error_text(exc))
                    last_bad = start
                    continue
                except UnicodeDecodeError as exc:
                    raise SyncFailure(
                        "invalid_files",
                        f"{self.spec.name}: near line {start}, bytes that are not "
                        f"{self.encoding.codec} text. Export the file again as UTF-8 CSV.",
                        {"file": self.spec.name, "line": start},
                    ) from exc
                if len(cells) == width and not careful and cells != header:
                    self.rows_read += 1
                    if not self.rows_read & 1023:
                        advance(1024)  # counted in batches: this loop is hot
                    last_bad = 0
                    yield start, cells
                    continue
                if self.has_bom:
                    cells = [cell.replace("\ufeff", "") for cell in cells]
                if not cells or (len(cells) == 1 and not cells[0].strip()):
                    continue  # a blank line
                if cells == header:
                    continue  # the header again: two exports pasted one after the other
                if len(cells) != width and offset + reader.line_num > start:
                    # A quote opened on this line swallowed the following ones.
                    reader, offset = self._skip_bad_line(text, start, "a quote is not closed")
                    last_bad = start
                elif len(cells) != width:
                    self._bad_row(start, cells, f"{len(cells)} cells where the header has {width}")
                    last_bad = start
                elif any("\0" in cell for cell in cells):
                    self._bad_row(start, cells, "it contains a NUL (\\0) character")
                    last_bad = start
                else:
                    self.rows_read += 1
                    if not self.rows_read & 1023:
                        advance(1024)
                    last_bad = 0
                    yield start, cells

    def _truncated(self, line_no: int) -> None:
        name = self.spec.name
        raise SyncFailure(
            "invalid_files",
            f"{name} ends mid-row at line {line_no}: the file looks truncated (an upload or "
            "transfer that did not finish). Nothing was changed; send the whole file again.",
            {"file": name, "line": line_no},
        )

    def _skip_bad_line(
        self, text: io.TextIOWrapper, line_no: int, why: str
    ) -> tuple[CsvReader, int]:
        """Report line `line_no` as unreadable; return a reader for the lines after it."""
        text.seek(0)
        first = ""
        for number, line in enumerate(text, 1):
            if number == line_no:
                first = line
                break
        try:
            cells = next(csv.reader([first]), [])
        except csv.Error:
            # Not even this line alone parses (a huge cell): its leading cells, which
            # hold the ID in every format, are still worth keeping the record for.
            cells = [c.strip('"') for c in first.split(",")]
        self._bad_row(line_no, cells, why)
        return csv.reader(text, strict=True), line_no

    def _bad_row(self, line_no: int, cells: list[str], why: str) -> None:
        self.rows_bad += 1
        if self.bad_cells is not None:
            self.bad_cells.append(cells)
        parts = []
        for column in self.spec.key_columns:
            pos = self.col(column)
            parts.append(clean_key(cells[pos]) if pos is not None and pos < len(cells) else "")
        row_id = "/".join(parts) if all(parts) else ""
        if row_id:
            self.on_unreadable(tuple(parts))
        self.on_finding(
            Finding(
                code=IssueCode.INVALID_ROW,
                kind=self.spec.kind,
                source_id=row_id,
                file=self.spec.name,
                line=line_no,
                message=f"{self.spec.name} line {line_no} cannot be read: {why}.",
            )
        )

    def unsent(self) -> frozenset[str]:
        """The record fields this file does not send (none of their columns is in it),
        each reported once as a `column_missing` alert."""
        missing = []
        reported: set[str] = set()
        for record_field, columns in self.spec.optional_fields:
            if all(self.col(c) is None for c in columns):
                missing.append(record_field)
                if reported.issuperset(columns):
                    continue  # already named as part of a larger group
                reported.update(columns)
                shown = " or ".join(f"`{c}`" for c in columns)
                self.on_finding(
                    Finding(
                        code=IssueCode.COLUMN_MISSING,
                        kind="file",
                        file=self.spec.name,
                        field=columns[0],
                        message=f"{self.spec.name} has no {shown} column: what Rollcall "
                        f"holds for it is kept as it is, and new records get none.",
                    )
                )
        return frozenset(missing)

    def cells_at(self, cells: list[str], column: str) -> str:
        """The cell of `column` in a row, "" when the file has no such column."""
        pos = self.col(column)
        return cells[pos] if pos is not None and pos < len(cells) else ""


def open_table(
    spec: FileSpec,
    path: Path,
    on_finding: Callable[[Finding], None],
    on_unreadable: Callable[[tuple[str, ...]], None] = lambda _key: None,
    *,
    keep_bad_cells: bool = False,
    advance: Advance = no_progress,
) -> Table:
    """Open `path` as `spec`: pick the encoding, match the header, report repairs.

    `advance` is told how many rows `Table.rows` has read, in batches.
    """
    encoding = detect_encoding(path, spec.name)
    if encoding.codec == MIXED:
        on_finding(encoding_finding(spec.name, encoding))
    raw_headers = _read_header(spec, path, encoding)
    header = match_headers(spec, raw_headers)
    _report_repairs(spec, header, on_finding)
    has_nul, has_bom = scan_marks(path, encoding)
    return Table(
        spec,
        path,
        encoding,
        header,
        on_finding,
        on_unreadable,
        raw_headers=raw_headers,
        has_nul=has_nul,
        has_bom=has_bom,
        ends_with_newline=ends_with_newline(path),
        bad_cells=[] if keep_bad_cells else None,
        advance=advance,
    )


def _read_header(spec: FileSpec, path: Path, encoding: Encoding) -> list[str]:
    """The header row's cells, or fail the run when it cannot be read or is blank."""
    with open_text(path, encoding) as text:
        reader = csv.reader(text, strict=True)
        try:
            raw_headers = next(reader, [])
        except (csv.Error, UnicodeDecodeError) as exc:
            raise SyncFailure(
                "invalid_files",
                f"{spec.name}: the header row cannot be read ({_error_text(exc)}).",
                {"file": spec.name, "line": 1},
            ) from exc
        if reader.line_num > 1:
            # A quote opened in the header swallowed the lines after it.
            raise SyncFailure(
                "invalid_files",
                f"{spec.name}: the header row cannot be read (a quote in it is not closed).",
                {"file": spec.name, "line": 1},
            )
    raw_headers = [h.replace("\ufeff", "") for h in raw_headers]
    if not any(h.strip() for h in raw_headers):
        raise SyncFailure(
            "invalid_files",
            f"{spec.name} is empty: it has no header row.",
            {"file": spec.name},
        )
    return raw_headers


def _report_repairs(
    spec: FileSpec, header: HeaderMatch, on_finding: Callable[[Finding], None]
) -> None:
    for raw, canon, why in header.repaired:
        on_finding(
            Finding(
                code=IssueCode.HEADER_REPAIRED,
                kind="file",
                file=spec.name,
                field=canon,
                value=raw,
                message=f"{spec.name}: header {show_header(raw)} was read as `{canon}` ({why}).",
            )
        )
