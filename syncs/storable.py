"""Text as the database will take it: no NUL character, and no longer than its column.

PostgreSQL refuses a NUL in text and in JSON, and a value longer than its column; SQLite
takes both silently. Whatever a district sends can end up in an issue, a message or the
diagnostics (a header, an ID, a cell), so everything a run records passes through here.
"""

from __future__ import annotations

from typing import Any

# Shown where a NUL was: visible, and never mistaken for part of an ID.
NUL_MARK = "\ufffd"


def storable_text(value: Any, limit: int | None = None) -> str:
    """`value` as text without NUL, cut to `limit` characters (ending in "…" if cut)."""
    text = "" if value is None else str(value)
    if "\0" in text:
        text = text.replace("\0", NUL_MARK)
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def storable_json(value: Any, limit: int = 2000) -> Any:
    """JSON-ready data with every string made storable (and cut to `limit`): keys too."""
    if isinstance(value, str):
        return storable_text(value, limit)
    if isinstance(value, dict):
        return {storable_text(k, limit): storable_json(v, limit) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [storable_json(v, limit) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return storable_text(value, limit)
