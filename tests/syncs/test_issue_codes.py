"""Issue codes are one named list: every code has a severity and a hint, the stored
values never change, and the engine names codes only through IssueCode."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from syncs.findings import CODES, ERROR, Finding, IssueCode

ROOT = Path(__file__).resolve().parents[2]

# What Issue rows and `sync_roster --json` have always said: renaming one breaks
# stored issues and every reader of the JSON.
STORED = {
    "teacher_email": ERROR,
    "parent_contact": ERROR,
    "parent_name": ERROR,
    "class_no_teacher": ERROR,
    "class_invalid_name": ERROR,
    "student_dob": ERROR,
    "device_in_use": "alert",
    "unsupported_phone": "alert",
    "invalid_email": "alert",
    "invalid_row": ERROR,
    "duplicate_id": ERROR,
    "unknown_reference": "alert",
    "file_encoding": "alert",
    "header_repaired": "alert",
    "value_truncated": "alert",
    "column_missing": "alert",
    "many_guardians": "alert",
    "school_drop": "alert",
}


def test_every_code_has_its_stored_value_severity_and_hint():
    assert {code.value: CODES[code].severity for code in IssueCode} == STORED
    assert set(CODES) == set(IssueCode)
    assert all(CODES[code].code is code and CODES[code].hint for code in IssueCode)


def test_a_code_is_its_string_wherever_it_goes():
    finding = Finding(code=IssueCode.INVALID_ROW, message="m")
    assert finding.code == "invalid_row" and f"{finding.code}" == "invalid_row"
    assert json.dumps({finding.code: [finding.code]}) == '{"invalid_row": ["invalid_row"]}'
    assert Finding(code="invalid_row", message="m").severity == ERROR  # a plain str works too


def _bare_codes(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    return [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and node.value in STORED and id(node) not in docstrings
    ]


def test_the_engine_names_codes_only_through_issue_code():
    """A bare "invalid_row" at a call site would not be caught if the code were renamed."""
    engine = ROOT / "syncs"
    files = [
        *sorted((engine / "formats").glob("*.py")),
        *sorted((engine / "rules").glob("*.py")),
        *sorted((engine / "pipeline").glob("*.py")),
    ]
    assert files
    assert [hit for path in files for hit in _bare_codes(path)] == []
