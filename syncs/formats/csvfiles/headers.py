"""Header rows: normalization, matching onto a file's spec, and repair with "did you
mean" suggestions (or a failed run naming the bad header)."""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field

from syncs.errors import SyncFailure

_SEPARATORS = re.compile(r"[\s\-.]+")
# Characters that look like nothing but break an exact header match.
_INVISIBLE_CATEGORIES = {"Cf", "Cc"}


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
                f"{spec.name} has two `{canon}` columns ({show_header(raw_headers[index[canon]])} "
                f"in column {index[canon] + 1} and {show_header(raw)} in column {pos + 1}); "
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
                f"{spec.name}: unknown header {show_header(raw)}: did you mean `{canon}`?",
                {"file": spec.name, "header": raw, "suggestion": canon},
            )
        ignored.append(raw)

    missing = [c for c in spec.columns if c in spec.required and c not in index]
    if missing:
        col = missing[0]
        unknown_keys = {header_key(raw): raw for _pos, raw in unknown}
        guess = _closest(header_key(col), list(unknown_keys), cutoff=0.6)
        near = (
            f" The closest header in the file is {show_header(unknown_keys[guess])}."
            if guess
            else ""
        )
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


def show_header(raw: str) -> str:
    """A header as a person can read it, invisible characters spelled out."""
    visible = "".join(
        ch
        if unicodedata.category(ch) not in _INVISIBLE_CATEGORIES | {"Zs"} or ch == " "
        else f"\\u{ord(ch):04x}"
        for ch in raw
    )
    return f"`{visible}`"
