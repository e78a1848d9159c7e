"""One generated district in three formats: OneRoster 1.1, OneRoster 1.2 and Clever CSV.

The formats must describe the same records, so the 1.1 and Clever outputs are parsed and
compared record by record. No database. The 1.2 output is checked file by file (headers,
rows, roles.csv against users.csv) against the 1.1 output of the same district.
"""

from __future__ import annotations

import csv
import filecmp
import hashlib
from collections import Counter
from datetime import date
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from devtools.generator import (
    FORMATS,
    HEADERS_12,
    HEADERS_CLEVER,
    PARSER_FORMATS,
    ROLES_12,
    clever_dob,
    generate_district,
)
from syncs.formats import clever_csv, detect, oneroster_csv
from syncs.rules.scope import scope
from syncs.rules.validate import parse_dob, validate

TODAY = date(2026, 11, 24)
STUDENTS, SEED = 1400, 3  # two schools (a K-8 and a high school), so siblings span schools


def rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def header(path: Path) -> tuple[str, ...]:
    with path.open(newline="", encoding="utf-8") as f:
        return tuple(next(csv.reader(f)))


@pytest.fixture(scope="module")
def district(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("district")
    for fmt in FORMATS:
        generate_district(students=STUDENTS, seed=SEED, out=base / fmt, format=fmt)
    return {fmt: base / fmt for fmt in FORMATS}


@pytest.fixture(scope="module")
def parsed(district):
    return {
        "oneroster11": oneroster_csv.parse(district["oneroster11"]),
        "clever": clever_csv.parse(district["clever"]),
    }


# -- determinism -------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_generator_each_format_is_deterministic_per_seed(tmp_path, fmt):
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        generate_district(students=300, seed=seed, out=tmp_path / name, format=fmt)
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    match, mismatch, errors = filecmp.cmpfiles(tmp_path / "a", tmp_path / "b", names, shallow=False)
    assert mismatch == errors == [] and len(match) == len(names) >= 6
    people = "students.csv" if fmt == "clever" else "users.csv"
    assert not filecmp.cmp(tmp_path / "a" / people, tmp_path / "c" / people, shallow=False)


# sha256 over the files (name and bytes, sorted by name) of students=300, seed=5. The
# OneRoster 1.1 output predates the format option and must stay byte-identical; change
# this digest only for a deliberate change to the generated district (last: staff phones
# left blank, as Clever files cannot carry them).
ONEROSTER11_DIGEST = "81f92fb86ceae3f2e3d01096ade005a1d5593ade68448971d7ded67d99318500"


def test_generator_oneroster11_is_the_default_and_its_bytes_are_pinned(tmp_path):
    generate_district(students=300, seed=5, out=tmp_path / "default")
    generate_district(students=300, seed=5, out=tmp_path / "explicit", format="oneroster11")
    digests = {}
    for name in ("default", "explicit"):
        h = hashlib.sha256()
        for path in sorted((tmp_path / name).iterdir()):
            h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        digests[name] = h.hexdigest()
    assert digests["default"] == digests["explicit"] == ONEROSTER11_DIGEST


def test_generator_rejects_an_unknown_format(tmp_path):
    with pytest.raises(ValueError, match="format must be one of"):
        generate_district(students=10, seed=1, out=tmp_path, format="csv")


def test_generate_district_command_writes_the_chosen_format(tmp_path):
    out = StringIO()
    call_command(
        "generate_district", students=40, seed=2, out=str(tmp_path), format="clever", stdout=out
    )
    assert "as clever" in out.getvalue()
    assert detect(tmp_path) == "clever_csv"


@pytest.mark.parametrize("fmt", FORMATS)
def test_generator_output_is_detected_as_its_format(district, fmt):
    assert detect(district[fmt]) == PARSER_FORMATS[fmt]


# -- OneRoster 1.1 and Clever: the same canonical records ---------------------------


def test_generator_formats_parse_without_findings(parsed):
    assert parsed["oneroster11"][1] == []
    assert parsed["clever"][1] == []


def test_generator_formats_have_the_same_people_with_the_same_roles_and_details(parsed):
    one, clever = parsed["oneroster11"][0], parsed["clever"][0]
    assert list(one.people) != [] and set(one.people) == set(clever.people)
    assert Counter(p.role for p in clever.people.values()) == Counter(
        p.role for p in one.people.values()
    )
    for sid, p in one.people.items():
        q = clever.people[sid]
        # The full name, email, first phone (the one claimed), schools and grade agree;
        # birth dates are written differently (2014-03-05 vs 3/5/2014) but mean the same.
        assert (q.role, q.name, q.email, q.grade, q.school_ids) == (
            p.role,
            p.name,
            p.email,
            p.grade,
            p.school_ids,
        ), sid
        assert parse_dob(q.dob, TODAY) == parse_dob(p.dob, TODAY), sid
        if p.dob and parse_dob(p.dob, TODAY) is None:
            assert q.dob == p.dob  # an invalid date is exactly as invalid
        if p.role in ("teacher", "administrator"):
            assert q.phone == "", sid  # teachers.csv and staff.csv have no phone column
        else:
            assert q.phone == p.phone, sid
        if p.role == "parent":  # Clever's one combined Contact_name, kept whole
            assert (q.given_name, q.family_name) == (p.name, ""), sid
    students = [p for p in one.people.values() if p.role == "student"]
    assert any(p.phone for p in students)  # students' own mobiles, via Clever `Self` rows


def test_generator_formats_have_the_same_schools_classes_and_enrollments(parsed):
    one, clever = parsed["oneroster11"][0], parsed["clever"][0]
    assert {k: s.name for k, s in clever.schools.items()} == {
        k: s.name for k, s in one.schools.items()
    }
    assert len(one.schools) == 2
    assert {k: (c.school_id, c.name, c.term) for k, c in clever.classes.items()} == {
        k: (c.school_id, c.name, c.term) for k, c in one.classes.items()
    }
    assert {k: (e.role, e.primary) for k, e in clever.enrollments.items()} == {
        k: (e.role, e.primary) for k, e in one.enrollments.items()
    }
    co_taught = [k for k, e in one.enrollments.items() if e.role == "teacher" and not e.primary]
    assert co_taught  # Teacher_2_id in Clever


def test_generator_formats_have_the_same_guardianships(parsed):
    one, clever = parsed["oneroster11"][0], parsed["clever"][0]
    assert clever.guardianships == one.guardianships
    parents = Counter(p for p, _s in one.guardianships)
    assert max(parents.values()) > 1  # siblings share a parent: one parent in Clever too
    assert any(len(one.people[p].school_ids) > 1 for p in parents)


def test_generator_formats_give_the_same_validation_issues(parsed):
    """Every injected problem shows up in both, as the same issue about the same record."""
    found = {}
    for fmt, (roster, _findings) in parsed.items():
        scoped, scope_findings, _dropped = scope(roster, [])
        result = validate(scoped, TODAY)
        found[fmt] = sorted(
            (f.code, f.source_id, f.name, f.field, f.value, f.school_id, f.message)
            for f in scope_findings + result.findings
        )
    assert found["clever"] == found["oneroster11"]
    codes = {f[0] for f in found["clever"]}
    assert codes >= {
        "student_dob",
        "parent_contact",
        "parent_name",
        "teacher_email",
        "class_no_teacher",
        "class_invalid_name",
        "unsupported_phone",
        "invalid_email",
        "many_guardians",
    }


# -- Clever files ----------------------------------------------------------------


def test_generator_clever_headers_are_columns_the_parser_knows(district):
    specs = {s.name: s for s in clever_csv.REQUIRED_FILES + clever_csv.OPTIONAL_FILES}
    assert set(HEADERS_CLEVER) == set(specs)
    for name, columns in HEADERS_CLEVER.items():
        assert header(district["clever"] / name) == columns
        assert set(columns) <= set(specs[name].columns), name
        assert specs[name].required <= set(columns), name


def test_generator_clever_writes_dob_as_m_d_yyyy_and_one_row_per_contact(district, parsed):
    students = rows(district["clever"] / "students.csv")
    dobs = [r["DOB"] for r in students]
    assert "2/11/2007" == clever_dob("2007-02-11") and clever_dob("2007-02-30") == "2007-02-30"
    assert any("/" in d and not d.split("/")[0].startswith("0") for d in dobs)
    one = parsed["oneroster11"][0]
    contacts = [r for r in students if r["Contact_relationship"] != "Self"]
    assert len(contacts) == len(one.guardianships)
    own = [r for r in students if r["Contact_relationship"] == "Self"]
    assert len(own) == sum(1 for p in one.people.values() if p.role == "student" and p.phone)
    staff = rows(district["clever"] / "staff.csv")
    assert {r["Title"] for r in staff} == {"Principal"} and len(staff) == 2


# -- OneRoster 1.2 files -----------------------------------------------------------


def test_generator_oneroster12_manifest_and_shared_files(district):
    v11, v12 = district["oneroster11"], district["oneroster12"]
    manifest = {r["propertyName"]: r["value"] for r in rows(v12 / "manifest.csv")}
    assert manifest["oneroster.version"] == "1.2"
    assert manifest["file.roles"] == manifest["file.users"] == "bulk"
    same = [
        "orgs.csv",
        "academicSessions.csv",
        "courses.csv",
        "classes.csv",
        "demographics.csv",
        "enrollments.csv",
    ]
    match, mismatch, errors = filecmp.cmpfiles(v11, v12, same, shallow=False)
    assert mismatch == errors == [] and len(match) == len(same)
    assert sorted(p.name for p in v12.iterdir()) == sorted(
        [*same, "manifest.csv", "users.csv", "roles.csv"]
    )


def test_generator_oneroster12_users_carry_the_11_values_without_role_and_orgs(district):
    users11 = rows(district["oneroster11"] / "users.csv")
    users12 = rows(district["oneroster12"] / "users.csv")
    assert header(district["oneroster12"] / "users.csv") == HEADERS_12["users.csv"]
    assert len(users12) == len(users11)
    for old, new in zip(users11, users12, strict=True):
        shared = set(old) & set(new)
        assert {k: new[k] for k in shared} == {k: old[k] for k in shared}
        assert new["primaryOrgSourcedId"] == old["orgSourcedIds"].split(",")[0]
    assert "role" not in users12[0] and "orgSourcedIds" not in users12[0]


def test_generator_oneroster12_roles_match_users_one_primary_role_each(district):
    users11 = rows(district["oneroster11"] / "users.csv")
    roles = rows(district["oneroster12"] / "roles.csv")
    assert header(district["oneroster12"] / "roles.csv") == HEADERS_12["roles.csv"]
    by_user: dict[str, list[dict]] = {}
    for r in roles:
        by_user.setdefault(r["userSourcedId"], []).append(r)
    assert list(by_user) == [u["sourcedId"] for u in users11]  # same order as users.csv
    for user in users11:
        mine = by_user[user["sourcedId"]]
        assert [r["orgSourcedId"] for r in mine] == user["orgSourcedIds"].split(",")
        assert [r["roleType"] for r in mine] == ["primary"] + ["secondary"] * (len(mine) - 1)
        assert {r["role"] for r in mine} == {ROLES_12.get(user["role"], user["role"])}
    assert len({r["sourcedId"] for r in roles}) == len(roles)
    assert Counter(r["role"] for r in roles if r["roleType"] == "primary")["siteAdministrator"] == 2
    assert any(r["roleType"] == "secondary" for r in roles)  # parents of kids at two schools
