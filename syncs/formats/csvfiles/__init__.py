"""Reading CSV roster files the way districts really write them.

Shared by every CSV format: the encoding ladder (BOM → strict UTF-8 → Windows-1252 with an
alert; `encoding`), header normalization and repair with "did you mean" suggestions
(`headers`), a row reader that reports an unreadable row (wrong cell count, broken
quoting) and carries on with the next line instead of losing the rest of the file
(`rows`), and finding an export's files in a folder (`folder`).

Every name is importable from here, where callers have always found them.
"""

from __future__ import annotations

import csv  # the module rows are read with, reached as `csvfiles.csv` too

from syncs.formats.csvfiles.encoding import MIXED, Encoding, detect_encoding
from syncs.formats.csvfiles.folder import CsvFiles, find_files
from syncs.formats.csvfiles.headers import (
    FileSpec,
    HeaderMatch,
    header_key,
    match_headers,
    normalize_header,
)
from syncs.formats.csvfiles.rows import (
    FIELD_LIMIT,
    Advance,
    Table,
    clean_key,
    csv_error_text,
    no_progress,
    open_table,
)

__all__ = [
    "FIELD_LIMIT",
    "MIXED",
    "Advance",
    "CsvFiles",
    "Encoding",
    "FileSpec",
    "HeaderMatch",
    "Table",
    "clean_key",
    "csv",
    "csv_error_text",
    "detect_encoding",
    "find_files",
    "header_key",
    "match_headers",
    "no_progress",
    "normalize_header",
    "open_table",
]
