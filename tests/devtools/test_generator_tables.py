"""The generator's tables come from its data files, and its Clever headers from the
parser's specs (issue #11: the hand-copied headers had drifted, lacking Contact_phone_type)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from devtools.generator import HEADERS_CLEVER, generate_district, tables
from devtools.generator import clever as clever_writer
from syncs.formats import clever_csv


def rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_generator_tables_are_read_from_the_data_files():
    assert len(tables.ORIGINS) == 13 and all(o.weight > 0 for o in tables.ORIGINS)
    assert all(o.female and o.male and o.family for o in tables.ORIGINS)
    assert {o.race for o in tables.ORIGINS} <= set(tables.RACE_COLUMNS)
    assert "Nguyễn" in tables.ORIGINS[3].family and "O'Brien" in tables.ORIGINS[1].family
    assert tables.US_BIRTH[0][:2] == ("CA", 85) and len(tables.SCHOOL_STEMS) == 60
    assert len(tables.AREA_CODES) == len(tables.AREA_CUM) == 36
    assert len(tables.PARENT_PROVIDERS) == len(tables.PROVIDER_CUM) == 7


def test_generator_clever_headers_are_the_specs_less_the_named_columns():
    specs = {s.name: s for s in clever_csv.REQUIRED_FILES + clever_csv.OPTIONAL_FILES}
    for name, header in HEADERS_CLEVER.items():
        left_out = clever_writer.LEFT_OUT.get(name, ())
        assert set(left_out) <= set(specs[name].columns), name
        assert header == tuple(c for c in specs[name].columns if c not in left_out), name
    assert HEADERS_CLEVER["students.csv"] == clever_csv.STUDENTS.columns


def test_generator_clever_left_out_column_the_spec_lacks_fails():
    spec = clever_csv.SCHOOLS
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(clever_writer.LEFT_OUT, "schools.csv", ("Nces_id", "District_id"))
        with pytest.raises(ValueError, match="District_id"):
            clever_writer.spec_header(spec)


def test_generator_clever_contact_phone_type_says_mobile_or_landline(tmp_path):
    generate_district(students=400, seed=4, out=tmp_path / "or", format="oneroster11")
    generate_district(students=400, seed=4, out=tmp_path / "clever", format="clever")
    users = {u["sourcedId"]: u for u in rows(tmp_path / "or" / "users.csv")}
    students = rows(tmp_path / "clever" / "students.csv")
    seen = set()
    for row in students:
        person = users[row["Contact_sis_id"] or row["Student_id"]]
        if row["Contact_relationship"] == "":
            continue
        expected = "Cell" if person["sms"] else ("Home" if person["phone"] else "")
        assert row["Contact_phone_type"] == expected, row
        seen.add(expected)
    assert seen == {"Cell", "Home", ""}
