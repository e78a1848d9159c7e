"""CSV downloads neutralize formula cells (DESIGN §8)."""

import csv
import io

import pytest

from syncs.exports import csv_lines, neutralize


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx", "\0x"])
def test_formula_starts_are_prefixed_with_an_apostrophe(cell):
    assert neutralize(cell) == "'" + cell


def test_plain_cells_and_none_are_unchanged():
    assert neutralize("Ana") == "Ana"
    assert neutralize(None) == ""
    assert neutralize(12) == "12"


def test_csv_lines_quote_every_cell_and_stream_large_output():
    rows = [["=cmd", "ok"]] * 5000
    text = "".join(csv_lines(["a", "b"], rows))
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[0] == ["a", "b"]
    assert parsed[1] == ["'=cmd", "ok"]
    assert len(parsed) == 5001
