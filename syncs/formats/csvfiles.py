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

from syncs import progress
from syncs.errors import SyncFailure
from syncs.findings import Finding

csv.field_size_limit(10 * 1024 * 1024)

_CHUNK = 1 << 20
_SEPARATORS = re.compile(r"[\s\-.]+")
# Characters that look like nothing but break an exact header match.
_INVISIBLE_CATEGORIES = {"Cf", "Cc"}


# ---------------------------------------------------------------- encodings


def detect_encoding(path: Path, name: str) -> tuple[str, bool]:
    """Return (codec, is_fallback). Fails the run when no codec can read the bytes."""
    with path.open("rb") as f:
        head = f.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", False
    if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return "utf-16", False
    if _decodes(path, "utf-8") is None:
        return "utf-8", False
    # Excel on Windows writes cp1252; it decodes every byte but five.
    bad_offset = _decodes(path, "cp1252")
    if bad_offset is None:
        return "cp1252", True
    raise SyncFailure(
        "invalid_files",
        f"{name}: line {_line_at(path, bad_offset)} contains bytes that are neither "
        "UTF-8 nor Windows-1252 text. Export the file again as UTF-8 CSV.",
        {"file": name, "line": _line_at(path, bad_offset)},
    )


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


def _line_at(path: Path, offset: int) -> int:
    with path.open("rb") as f:
        return f.read(offset).count(b"\n") + 1


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


@dataclass
class Table:
    """An opened CSV file: its matched header and a generator of good rows."""

    spec: FileSpec
    path: Path
    encoding: str
    header: HeaderMatch
    on_finding: Callable[[Finding], None]
    on_unreadable: Callable[[tuple[str, ...]], None]
    has_nul: bool = False
    rows_read: int = 0

    def col(self, name: str) -> int | None:
        return self.header.index.get(name)

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """Yield (line number, cells) for every readable data row.

        The csv module reads the file directly (no Python work per line). Only when a
        row is broken is the file read again from the line after it, so an unclosed
        quote costs its own row, not the rest of the file.
        """
        width = self.header.width
        with _open_text(self.path, self.encoding) as text:
            reader = csv.reader(text, strict=True)
            next(reader, None)  # header, already matched
            offset = 0  # physical lines before the current reader started
            while True:
                start = offset + reader.line_num + 1  # the next row's first line
                try:
                    cells = next(reader)
                except StopIteration:
                    progress.advance(self.rows_read & 1023)
                    return
                except csv.Error as exc:
                    reader, offset = self._skip_bad_line(text, start, str(exc))
                    continue
                except UnicodeDecodeError as exc:
                    raise SyncFailure(
                        "invalid_files",
                        f"{self.spec.name}: near line {start}, bytes that are not "
                        f"{self.encoding} text. Export the file again as UTF-8 CSV.",
                        {"file": self.spec.name, "line": start},
                    ) from exc
                if len(cells) == width and not self.has_nul:
                    self.rows_read += 1
                    if not self.rows_read & 1023:
                        progress.advance(1024)  # counted in batches: this loop is hot
                    yield start, cells
                elif not cells or (len(cells) == 1 and not cells[0].strip()):
                    continue  # a blank line
                elif len(cells) != width and offset + reader.line_num > start:
                    # A quote opened on this line swallowed the following ones.
                    reader, offset = self._skip_bad_line(text, start, "a quote is not closed")
                elif len(cells) != width:
                    self._bad_row(start, cells, f"{len(cells)} cells where the header has {width}")
                elif any("\0" in cell for cell in cells):
                    self._bad_row(start, cells, "it contains a NUL (\\0) character")
                else:
                    self.rows_read += 1
                    if not self.rows_read & 1023:
                        progress.advance(1024)
                    yield start, cells

    def _skip_bad_line(self, text: io.TextIOWrapper, line_no: int, why: str):
        """Report line `line_no` as unreadable; return a reader for the lines after it."""
        text.seek(0)
        first = ""
        for number, line in enumerate(text, 1):
            if number == line_no:
                first = line
                break
        self._bad_row(line_no, next(csv.reader([first]), []), why)
        return csv.reader(text, strict=True), line_no

    def _bad_row(self, line_no: int, cells: list[str], why: str) -> None:
        parts = []
        for column in self.spec.key_columns:
            pos = self.col(column)
            parts.append(cells[pos].strip() if pos is not None and pos < len(cells) else "")
        row_id = "/".join(parts) if all(parts) else ""
        if row_id:
            self.on_unreadable(tuple(parts))
        self.on_finding(
            Finding(
                code="invalid_row",
                kind=self.spec.kind,
                source_id=row_id,
                file=self.spec.name,
                line=line_no,
                message=f"{self.spec.name} line {line_no} cannot be read: {why}.",
            )
        )


def _open_text(path: Path, encoding: str) -> io.TextIOWrapper:
    return path.open("r", encoding=encoding, errors="strict", newline="")


def open_table(
    spec: FileSpec,
    path: Path,
    on_finding: Callable[[Finding], None],
    on_unreadable: Callable[[tuple[str, ...]], None] = lambda _key: None,
) -> Table:
    """Open `path` as `spec`: pick the encoding, match the header, report repairs."""
    encoding, fallback = detect_encoding(path, spec.name)
    if fallback:
        on_finding(
            Finding(
                code="file_encoding",
                kind="file",
                file=spec.name,
                value=encoding,
                message=f"{spec.name} is not UTF-8; it was read as Windows-1252.",
            )
        )
    with _open_text(path, encoding) as text:
        try:
            raw_headers = next(csv.reader(text), [])
        except csv.Error as exc:
            raise SyncFailure(
                "invalid_files",
                f"{spec.name}: the header row cannot be read ({exc}).",
                {"file": spec.name, "line": 1},
            ) from exc
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
                code="header_repaired",
                kind="file",
                file=spec.name,
                field=canon,
                value=raw,
                message=f"{spec.name}: header {_show(raw)} was read as `{canon}` ({why}).",
            )
        )
    return Table(spec, path, encoding, header, on_finding, on_unreadable, _has_nul(path, encoding))


def _has_nul(path: Path, encoding: str) -> bool:
    """NUL bytes are rare; scanning bytes first keeps the per-row check off the hot path.
    (PostgreSQL refuses NUL in text, so such a row must never reach the database.)"""
    if encoding.startswith("utf-16"):
        return True  # every other byte of UTF-16 text is NUL: check rows instead
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            if b"\0" in chunk:
                return True
    return False


def find_files(folder: Path) -> dict[str, Path]:
    """Map lower-cased CSV file names to paths; districts vary the case (Users.csv).

    All files of one export are read from one folder: the shallowest folder holding CSV
    files (an export zipped inside a folder is found there). An old export in a
    subfolder must never be read by accident, so a CSV file found only outside that
    folder, or two folders at the same depth, fail the run naming the files.
    """
    csvs = [
        path
        for path in sorted(folder.rglob("*"))
        if path.is_file()
        and path.suffix.lower() == ".csv"
        and not any(p.startswith((".", "__MACOSX")) for p in path.relative_to(folder).parts)
    ]
    if not csvs:
        return {}
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
    found = {p.name.lower(): p for p in csvs if p.parent == package}
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
    return found
