"""Reading CSV roster files the way districts really write them.

Shared by every CSV format: the encoding ladder (BOM → strict UTF-8 → Windows-1252 with an
alert), header normalization and repair with "did you mean" suggestions, and a row reader
that reports an unreadable row (wrong cell count, broken quoting) and carries on with the
next line instead of losing the rest of the file.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from syncs.errors import SyncFailure
from syncs.findings import Finding, IssueCode

if TYPE_CHECKING:
    from _csv import Reader as CsvReader

_CHUNK = 1 << 20

# Told how many more rows were read. Called once per 1,024 rows, never per row: the row
# loop is the hottest in a sync (a district's files hold over a million rows).
Advance = Callable[[int], None]


def no_progress(_rows: int) -> None:
    """The progress callback when no one is counting."""


_SEPARATORS = re.compile(r"[\s\-.]+")
# Characters that look like nothing but break an exact header match.
_INVISIBLE_CATEGORIES = {"Cf", "Cc"}


# ---------------------------------------------------------------- encodings

# Decodes a byte that is not UTF-8 as Windows-1252 (what Excel on Windows writes), so a
# file that is UTF-8 but for a few pasted lines keeps its UTF-8 text intact.
MIXED = "utf-8+cp1252"
_MIXED_ERRORS = "rollcall-cp1252"


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    # One byte at a time: the bytes after it may start valid UTF-8 again. Five bytes are
    # undefined in Windows-1252 too; those fail (the pre-scan names their line first).
    return bytes(exc.object[exc.start : exc.start + 1]).decode("cp1252"), exc.start + 1


codecs.register_error(_MIXED_ERRORS, _cp1252_fallback)

_UNREADABLE_MAGIC = {
    b"PK\x03\x04": "a zip archive or an Excel workbook (.xlsx)",
    b"\xd0\xcf\x11\xe0": "an Excel 97-2003 workbook (.xls)",
}


@dataclass(frozen=True)
class Encoding:
    """How a file is decoded; `fallback_lines` are the lines read as Windows-1252."""

    codec: str
    fallback_lines: tuple[int, ...] = ()
    all_cp1252: bool = False  # no UTF-8 beyond ASCII anywhere: the whole file is cp1252

    @property
    def errors(self) -> str:
        return _MIXED_ERRORS if self.codec == MIXED else "strict"

    @property
    def python_codec(self) -> str:
        return "utf-8" if self.codec == MIXED else self.codec


def detect_encoding(path: Path, name: str) -> Encoding:
    """How to decode `path`. Fails the run when no codec can read the bytes."""
    with path.open("rb") as f:
        head = f.read(4096)
    for magic, what in _UNREADABLE_MAGIC.items():
        if head.startswith(magic):
            raise SyncFailure(
                "invalid_files",
                f"{name} is {what}, not CSV text. Open it in the spreadsheet and save it "
                "as CSV (UTF-8).",
                {"file": name},
            )
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return _wide(path, name, "utf-32")
    if head.startswith(codecs.BOM_UTF8):
        return Encoding("utf-8-sig") if _decodes(path, "utf-8-sig") is None else _mixed(path, name)
    if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return _wide(path, name, "utf-16")
    wide = _bomless_wide(head)
    if wide:
        return _wide(path, name, wide)
    if _decodes(path, "utf-8") is None:
        return Encoding("utf-8")
    return _mixed(path, name)


def _wide(path: Path, name: str, codec: str) -> Encoding:
    """UTF-16 or UTF-32, which has no fallback: every byte must decode (a file cut in
    the middle of a character was cut short)."""
    bad = _decodes(path, codec)
    if bad is not None:
        what = codec.upper().replace("-LE", "").replace("-BE", "")
        raise SyncFailure(
            "invalid_files",
            f"{name} is {what} text, but its bytes from offset {bad:,} are not: the file "
            "looks truncated or damaged. Export it again, preferably as UTF-8 CSV.",
            {"file": name, "offset": bad},
        )
    return Encoding(codec)


def _bomless_wide(head: bytes) -> str:
    """UTF-16 or UTF-32 text without a byte-order mark, told by where its NULs fall
    (latin text in UTF-16LE has a NUL after every letter); "" for anything else."""
    n = len(head) - len(head) % 4
    if n < 8:
        return ""
    sample = head[:n]

    def share(offset: int, step: int) -> float:
        picked = sample[offset::step]
        return picked.count(0) / len(picked)

    if share(1, 4) > 0.9 and share(2, 4) > 0.9 and share(3, 4) > 0.9:
        return "utf-32-le"
    if share(0, 4) > 0.9 and share(1, 4) > 0.9 and share(2, 4) > 0.9:
        return "utf-32-be"
    if share(1, 2) > 0.4 and share(0, 2) < 0.05:
        return "utf-16-le"
    if share(0, 2) > 0.4 and share(1, 2) < 0.05:
        return "utf-16-be"
    return ""


def _mixed(path: Path, name: str) -> Encoding:
    """UTF-8 where the bytes are UTF-8, Windows-1252 where they are not: which lines
    needed the fallback, or fail naming the line of a byte neither can read."""
    lines: list[int] = []
    number = 0
    utf8_beyond_ascii = False
    for raw in _byte_lines(path):
        number += 1
        if raw.isascii():
            continue
        try:
            raw.decode("utf-8")
            utf8_beyond_ascii = True
            continue
        except UnicodeDecodeError:
            pass
        try:
            raw.decode("utf-8", errors=_MIXED_ERRORS)
        except UnicodeDecodeError:
            raise SyncFailure(
                "invalid_files",
                f"{name}: line {number} contains bytes that are neither UTF-8 nor "
                "Windows-1252 text. Export the file again as UTF-8 CSV.",
                {"file": name, "line": number},
            ) from None
        lines.append(number)
    return Encoding(MIXED, tuple(lines), all_cp1252=not utf8_beyond_ascii)


_LINE_BREAK = re.compile(rb"\r\n|\r|\n")


def _byte_lines(path: Path) -> Iterator[bytes]:
    """The file's physical lines as bytes (CRLF, LF or CR, as the csv module counts
    them), read in large chunks."""
    rest = b""
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            buf = rest + chunk
            # A CR at the end of a chunk may be the first half of a CRLF.
            held = b"\r" if buf.endswith(b"\r") else b""
            parts = _LINE_BREAK.split(buf[: len(buf) - len(held)])
            rest = parts.pop() + held
            yield from parts
    if rest:
        yield rest.removesuffix(b"\r")


def _decodes(path: Path, codec: str) -> int | None:
    """Byte offset of the first byte `codec` cannot decode, or None if all decode."""
    decoder = codecs.getincrementaldecoder(codec)()
    offset = 0
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return offset + max(exc.start, 0)
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return offset
    return None


# ---------------------------------------------------------------- headers


def normalize_header(raw: str) -> str:
    """Header as compared: NFKC, invisible characters dropped, case and separators folded."""
    text = unicodedata.normalize("NFKC", raw)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in _INVISIBLE_CATEGORIES)
    text = _SEPARATORS.sub("_", text.strip().casefold())
    return text.strip("_")


def header_key(raw: str) -> str:
    """Matching key: `givenName`, `Given Name` and `given_name` all become `givenname`."""
    return normalize_header(raw).replace("_", "")


def _what_was_repaired(raw: str, canonical: str) -> str:
    reasons = []
    if any(unicodedata.category(ch) in _INVISIBLE_CATEGORIES for ch in raw):
        reasons.append("invisible characters removed")
    if any(ch in "\u00a0\u2007\u202f" for ch in raw) or raw != raw.strip():
        reasons.append("surrounding spaces removed")
    stripped = "".join(
        ch
        for ch in unicodedata.normalize("NFKC", raw).strip()
        if unicodedata.category(ch) not in _INVISIBLE_CATEGORIES
    )
    if stripped.casefold() == canonical.casefold() and stripped != canonical:
        reasons.append("case corrected")
    elif header_key(stripped) == header_key(canonical) and stripped != canonical:
        reasons.append("spelling variant accepted")
    if not reasons:
        reasons.append("read as a synonym")
    return ", ".join(reasons)


@dataclass(frozen=True)
class FileSpec:
    """The columns of one CSV file of a format.

    `required` columns must be present. `important` columns are optional but carry data
    the rules depend on, so a near-miss typo of one fails the run rather than being
    silently ignored. `aliases` maps other names districts use to the canonical one.
    """

    name: str
    kind: str  # syncs.models.RecordKind value of its rows
    columns: tuple[str, ...]
    required: frozenset[str]
    important: frozenset[str] = frozenset()
    aliases: dict[str, str] = field(default_factory=dict)
    # Columns whose values identify a row (joined with "/"), so an unreadable row still
    # says which record it was (rule Q keeps that record).
    key_columns: tuple[str, ...] = ("sourcedId",)
    # Record fields carried by optional columns: (field, columns that can carry it). A
    # field none of whose columns is in the file was not sent (`Table.unsent`).
    optional_fields: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def keys(self) -> dict[str, str]:
        """Matching key -> canonical column, aliases included."""
        out = {header_key(alias): canon for alias, canon in self.aliases.items()}
        out.update({header_key(c): c for c in self.columns})
        return out


@dataclass
class HeaderMatch:
    index: dict[str, int]  # canonical column -> position in the row
    width: int
    repaired: list[tuple[str, str, str]]  # (raw, canonical, why)
    ignored: list[str]


def match_headers(spec: FileSpec, raw_headers: list[str]) -> HeaderMatch:
    """Map a file's header row onto the spec, or fail the run naming the bad header."""
    keys = spec.keys()
    index: dict[str, int] = {}
    repaired: list[tuple[str, str, str]] = []
    unknown: list[tuple[int, str]] = []
    for pos, raw in enumerate(raw_headers):
        canon = keys.get(header_key(raw))
        if canon is not None and canon in index:
            raise SyncFailure(
                "invalid_files",
                f"{spec.name} has two `{canon}` columns ({_show(raw_headers[index[canon]])} "
                f"in column {index[canon] + 1} and {_show(raw)} in column {pos + 1}); "
                "remove one so it is clear which to use.",
                {"file": spec.name, "header": canon, "columns": [index[canon] + 1, pos + 1]},
            )
        if canon is None:
            unknown.append((pos, raw))
            continue
        index[canon] = pos
        if raw != canon:
            repaired.append((raw, canon, _what_was_repaired(raw, canon)))

    needed = spec.required | spec.important
    key_list = list(keys)
    ignored = []
    for _pos, raw in unknown:
        guess = _closest(header_key(raw), key_list, cutoff=0.75)
        canon = keys[guess] if guess else None
        if canon and canon in needed and canon not in index:
            raise SyncFailure(
                "invalid_files",
                f"{spec.name}: unknown header {_show(raw)}: did you mean `{canon}`?",
                {"file": spec.name, "header": raw, "suggestion": canon},
            )
        ignored.append(raw)

    missing = [c for c in spec.columns if c in spec.required and c not in index]
    if missing:
        col = missing[0]
        unknown_keys = {header_key(raw): raw for _pos, raw in unknown}
        guess = _closest(header_key(col), list(unknown_keys), cutoff=0.6)
        near = f" The closest header in the file is {_show(unknown_keys[guess])}." if guess else ""
        raise SyncFailure(
            "invalid_files",
            f"{spec.name}: required header `{col}` is missing.{near}",
            {
                "file": spec.name,
                "header": col,
                "missing": missing,
                "found": raw_headers,
                "suggestion": unknown_keys[guess] if guess else "",
            },
        )
    return HeaderMatch(index, len(raw_headers), repaired, ignored)


def _closest(key: str, candidates: list[str], cutoff: float) -> str | None:
    found = difflib.get_close_matches(key, candidates, n=1, cutoff=cutoff)
    return found[0] if found else None


def _show(raw: str) -> str:
    """A header as a person can read it, invisible characters spelled out."""
    visible = "".join(
        ch
        if unicodedata.category(ch) not in _INVISIBLE_CATEGORIES | {"Zs"} or ch == " "
        else f"\\u{ord(ch):04x}"
        for ch in raw
    )
    return f"`{visible}`"


# ---------------------------------------------------------------- rows

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
        width = self.header.width
        careful = self.has_nul or self.has_bom
        header = self.raw_headers
        advance = self.advance
        last_bad = 0  # line of the last row, if it could not be read
        with _open_text(self.path, self.encoding) as text:
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


def _open_text(path: Path, encoding: Encoding) -> io.TextIOWrapper:
    return path.open("r", encoding=encoding.python_codec, errors=encoding.errors, newline="")


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
        on_finding(_encoding_finding(spec.name, encoding))
    with _open_text(path, encoding) as text:
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
    header = match_headers(spec, raw_headers)
    for raw, canon, why in header.repaired:
        on_finding(
            Finding(
                code=IssueCode.HEADER_REPAIRED,
                kind="file",
                file=spec.name,
                field=canon,
                value=raw,
                message=f"{spec.name}: header {_show(raw)} was read as `{canon}` ({why}).",
            )
        )
    has_nul, has_bom = _scan(path, encoding)
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
        ends_with_newline=_ends_with_newline(path),
        bad_cells=[] if keep_bad_cells else None,
        advance=advance,
    )


def _encoding_finding(name: str, encoding: Encoding) -> Finding:
    lines = encoding.fallback_lines
    shown = ", ".join(str(n) for n in lines[:10]) + (
        f" and {len(lines) - 10} more" if len(lines) > 10 else ""
    )
    if encoding.all_cp1252:
        message = f"{name} is not UTF-8; it was read as Windows-1252 (line(s) {shown})."
    else:
        message = (
            f"{name} is UTF-8 except line(s) {shown}, which were read as Windows-1252; "
            "check the names on those lines."
        )
    return Finding(
        code=IssueCode.FILE_ENCODING,
        kind="file",
        file=name,
        line=lines[0] if lines else None,
        value="cp1252",
        message=message,
    )


def _scan(path: Path, encoding: Encoding) -> tuple[bool, bool]:
    """(has a NUL, has a byte-order mark after the start). Both are rare; knowing from
    one pass over the bytes keeps the per-row checks off the hot path. (PostgreSQL
    refuses NUL in text, so such a row must never reach the database.)"""
    if encoding.python_codec not in ("utf-8", "utf-8-sig"):
        # Wide encodings have NUL bytes in every character: look at the text instead.
        has_nul = has_bom = False
        with _open_text(path, encoding) as text:
            first = True
            while chunk := text.read(_CHUNK):
                has_nul = has_nul or "\0" in chunk
                has_bom = has_bom or "\ufeff" in (chunk[1:] if first else chunk)
                first = False
        return has_nul, has_bom
    has_nul = has_bom = False
    bom = codecs.BOM_UTF8
    tail = b""
    with path.open("rb") as f:
        position = 0
        while block := f.read(_CHUNK):
            has_nul = has_nul or b"\0" in block
            window = tail + block
            found = window.find(bom)
            while found != -1 and position - len(tail) + found == 0:
                found = window.find(bom, found + 1)  # the leading BOM is the encoding's
            has_bom = has_bom or found != -1
            position += len(block)
            tail = block[-2:]
    return has_nul, has_bom


def _ends_with_newline(path: Path) -> bool:
    """Whether the file's last character is a line break (in any of the encodings read:
    the wide ones end in the break followed or preceded by NUL bytes)."""
    with path.open("rb") as f:
        f.seek(0, io.SEEK_END)
        size = f.tell()
        if size == 0:
            return True
        f.seek(max(0, size - 4))
        tail = f.read()
    return tail.rstrip(b"\0").endswith((b"\n", b"\r"))


class CsvFiles(dict[str, Path]):
    """Lower-cased CSV file names -> paths, plus what stood where a CSV file was
    expected but is no regular file (`not_files`: name -> "a folder", ...)."""

    def __init__(self, found: dict[str, Path], not_files: dict[str, str] | None = None):
        super().__init__(found)
        self.not_files = not_files or {}

    def why_missing(self, name: str) -> str:
        """ " (users.csv is a folder, not a file)" for a required file that is one."""
        what = self.not_files.get(name.lower())
        return f" ({name} is {what}, not a file)" if what else ""


def _what_it_is(path: Path) -> str:
    if path.is_symlink() and not path.exists():
        return "a link to nothing"
    if path.is_dir():
        return "a folder"
    return "not a regular file"


def find_files(folder: Path) -> CsvFiles:
    """Map lower-cased CSV file names to paths; districts vary the case (Users.csv).

    All files of one export are read from one folder: the shallowest folder holding CSV
    files (an export zipped inside a folder is found there). An old export in a
    subfolder must never be read by accident, so a CSV file found only outside that
    folder, or two folders at the same depth, fail the run naming the files. Two files
    whose names differ only in case (`Users.csv` and `users.csv`) fail it too. Folders
    and broken links named like CSV files are no files: ignored, and named when a
    required file is one of them.
    """
    entries = sorted(folder.rglob("*"))
    csvs = [
        path
        for path in entries
        if path.suffix.lower() == ".csv"
        and path.is_file()
        and not any(p.startswith((".", "__MACOSX")) for p in path.relative_to(folder).parts)
    ]
    if not csvs:
        return CsvFiles({}, _not_files(folder, entries))
    depth = min(len(p.relative_to(folder).parts) for p in csvs)
    packages = sorted({p.parent for p in csvs if len(p.relative_to(folder).parts) == depth})
    if len(packages) > 1:
        names = [{p.name.lower() for p in csvs if p.parent == pkg} for pkg in packages]
        common = sorted(set.intersection(*names))
        shown = ", ".join(str((pkg / common[0]).relative_to(folder)) for pkg in packages[:2])
        what = (
            f"More than one {common[0]} was found ({shown})"
            if common
            else (
                "Roster files were found in several folders ("
                + ", ".join(str(pkg.relative_to(folder)) for pkg in packages)
                + ")"
            )
        )
        raise SyncFailure(
            "invalid_files",
            f"{what}; send one export at a time, its files in one folder.",
            {"folders": [str(pkg.relative_to(folder)) for pkg in packages]},
        )
    package = packages[0]
    found: dict[str, Path] = {}
    for path in (p for p in csvs if p.parent == package):
        twin = found.get(path.name.lower())
        if twin is not None:
            raise SyncFailure(
                "invalid_files",
                f"{twin.name} and {path.name} are both in the export: their names differ "
                "only in case, so which one to read is unclear. Remove one and send the "
                "export again.",
                {"files": [twin.name, path.name]},
            )
        found[path.name.lower()] = path
    strays = sorted(
        str(p.relative_to(folder))
        for p in csvs
        if p.parent != package and p.name.lower() not in found
    )
    if strays:
        raise SyncFailure(
            "invalid_files",
            f"{strays[0]} is not beside the export's other files"
            + (f" (in {package.relative_to(folder)})" if package != folder else "")
            + "; it may be from an older export. Put all files of one export in one folder.",
            {"files": strays},
        )
    return CsvFiles(found, _not_files(package, entries))


def _not_files(package: Path, entries: list[Path]) -> dict[str, str]:
    return {
        p.name.lower(): _what_it_is(p)
        for p in entries
        if p.parent == package and p.suffix.lower() == ".csv" and not p.is_file()
    }
