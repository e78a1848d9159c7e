"""The encoding ladder: how a CSV file's bytes become text.

A byte-order mark first, then strict UTF-8, then UTF-8 with Windows-1252 for the lines
that are not (with an alert naming them); UTF-16 and UTF-32 with or without a mark. Also
the one pass over the bytes that tells the row reader what to watch for (NULs, marks).
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from syncs.errors import SyncFailure
from syncs.findings import Finding, IssueCode

_CHUNK = 1 << 20

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


def open_text(path: Path, encoding: Encoding) -> io.TextIOWrapper:
    return path.open("r", encoding=encoding.python_codec, errors=encoding.errors, newline="")


def encoding_finding(name: str, encoding: Encoding) -> Finding:
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


def scan_marks(path: Path, encoding: Encoding) -> tuple[bool, bool]:
    """(has a NUL, has a byte-order mark after the start). Both are rare; knowing from
    one pass over the bytes keeps the per-row checks off the hot path. (PostgreSQL
    refuses NUL in text, so such a row must never reach the database.)"""
    if encoding.python_codec not in ("utf-8", "utf-8-sig"):
        # Wide encodings have NUL bytes in every character: look at the text instead.
        has_nul = has_bom = False
        with open_text(path, encoding) as text:
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


def ends_with_newline(path: Path) -> bool:
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
