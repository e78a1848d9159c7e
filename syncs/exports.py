"""CSV downloads that are safe to open in a spreadsheet.

A cell starting with = + - @ (or a tab, CR or NUL) is a formula to Excel and LibreOffice;
prefixing an apostrophe makes it text (OWASP "CSV Injection"). Quoting alone does not.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")


def neutralize(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_lines(header: list[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """Yield CSV text line by line (for StreamingHttpResponse or a file)."""
    buf = io.StringIO()
    writer = csv.writer(buf, quoting=csv.QUOTE_ALL)
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralize(v) for v in row])
        if buf.tell() > 1 << 16:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


PLANNED_ARCHIVE_HEADER = ["kind", "source_id", "name", "school"]
