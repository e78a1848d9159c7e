"""What a damaged file puts in the database always fits it (issue #10): nothing stored
holds a NUL, IDs and names too long for their columns, IDs containing "/", and a run
that cannot record its report still ends with a reason.

They run on SQLite and, in CI, on PostgreSQL, which refuses what SQLite accepts (NUL in
text, values longer than their column). Shared helpers: tests/syncs/hostile.py.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from rostering.models import Enrollment, Guardianship, Person, School
from syncs.pipeline import report
from syncs.records import MAX_ID, link_key
from syncs.selectors import run_issue_queryset
from tests.builders import District
from tests.syncs.hostile import edit, rerun, school_district, settled

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------- 2. NUL reaching storage


def _users(folder: Path) -> Path:
    return folder / "users.csv"


def nul_in_source_id(folder: Path) -> None:
    edit(_users(folder), "\ns11,", "\ns1\x001,")


def nul_in_a_header(folder: Path) -> None:
    edit(_users(folder), "givenName", "given\0Name")


def padded_with_nuls(folder: Path) -> None:
    with _users(folder).open("ab") as f:
        f.write(b"\0" * 4096)


def utf16_without_bom(folder: Path) -> None:
    path = _users(folder)
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16-le"))


def utf32(folder: Path) -> None:
    path = _users(folder)
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-32"))


def xlsx_saved_as_csv(folder: Path) -> None:
    path = _users(folder)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")


@pytest.mark.parametrize(
    "damage",
    [
        nul_in_source_id,
        nul_in_a_header,
        padded_with_nuls,
        utf16_without_bom,
        utf32,
        xlsx_saved_as_csv,
    ],
)
def test_nothing_stored_ever_holds_a_nul_and_the_run_ends_with_a_reason(
    sync, config, tmp_path, damage
):
    d = school_district()
    sync(d)
    damage(d.write(tmp_path / "roster"))
    config.deletion_threshold = 100
    config.save()
    run = rerun(config)
    settled(run)
    # Rule Q: the student whose ID holds a NUL is still in the file, so is not archived.
    assert Person.objects.get(source_id="s11").archived_at is None


def test_wide_encodings_without_a_bom_are_read_as_text(sync, config, tmp_path):
    d = school_district()
    sync(d)
    utf16_without_bom(d.write(tmp_path / "roster"))
    run = rerun(config)
    assert run.status == "succeeded", run.message
    assert not run_issue_queryset(run).filter(code="invalid_row").exists()


def test_a_workbook_saved_as_csv_is_named(sync, config, tmp_path):
    d = school_district()
    sync(d)
    xlsx_saved_as_csv(d.write(tmp_path / "roster"))
    run = rerun(config)
    assert run.failure_reason == "invalid_files"
    assert "users.csv is a zip archive or an Excel workbook" in run.message


def test_an_error_while_recording_a_failure_still_fails_the_run(
    sync, config, tmp_path, monkeypatch
):
    d = school_district()
    sync(d)
    edit(d.write(tmp_path / "roster") / "users.csv", "givenName", "givneName")

    def refuse(*_args, **_kwargs):
        raise ValueError("the database refused a value")

    monkeypatch.setattr(report, "store_issues", refuse)
    run = rerun(config)
    assert run.status == "failed"
    assert run.failure_reason == "invalid_files"  # the known reason stands
    assert "did you mean `givenName`" in run.message
    assert "report could not be recorded; nothing was changed" in run.message


def test_an_error_while_recording_a_success_still_fails_the_run(
    sync, config, tmp_path, monkeypatch
):
    d = school_district()
    sync(d)
    monkeypatch.setattr(report, "store_issues", lambda *_a, **_k: 1 / 0)
    run = rerun(config)
    assert run.status == "failed"
    assert run.failure_reason == "internal_error"
    assert "the changes were applied" in run.message


# ---------------------------------------------------------------- 3. IDs and names that do not fit


def test_a_255_character_student_id_syncs_with_its_enrollments_and_parents(sync):
    d = school_district()
    long_id = "s" * MAX_ID
    d.student(long_id, "0123").parent("plong", "0123", long_id)
    d.enroll("c1", long_id, "student", "0123")
    run = sync(d)
    assert run.status == "succeeded", run.message
    student = Person.objects.get(source_id=long_id)
    assert Enrollment.objects.get(person=student).source_id == link_key("c1", long_id)
    assert Guardianship.objects.filter(student=student).count() == 1
    assert sync(d).counts["enrollments"]["created"] == 0  # and it settles


@pytest.mark.parametrize("length", [MAX_ID + 1, 10_000])
@pytest.mark.parametrize("kind", ["student", "class", "school"])
def test_an_id_too_long_to_store_is_an_invalid_row_naming_file_line_and_limit(
    sync, config, kind, length
):
    d = school_district()
    sync(d)
    long_id = "x" * length
    if kind == "student":
        d.student(long_id, "0123")
        d.enroll("c1", long_id, "student", "0123")
    elif kind == "class":
        d.klass(long_id, "0123", teacher="t1", students=("s10",))
    else:
        d.school(long_id)
        d.teacher("tx", long_id)
    run = sync(d)
    settled(run)
    assert run.status == "succeeded", run.message
    bad = run_issue_queryset(run).get(code="invalid_row", field="id")
    assert bad.file == {"student": "users.csv", "class": "classes.csv", "school": "orgs.csv"}[kind]
    assert bad.line is not None
    assert f"at most {MAX_ID} characters" in bad.message
    assert not Person.objects.filter(archived_at__isnull=False).exists()


def test_a_name_too_long_to_store_is_cut_with_an_alert_and_settles(sync, config):
    d = school_district()
    d.schools[0]["name"] = "L" * 1_000_000
    d.users[0]["givenName"] = "G" * 300
    run = sync(d)
    settled(run)
    assert run.status == "succeeded", run.message
    assert School.objects.get(sis_id="0123").name == "L" * 255
    assert Person.objects.get(source_id="t1").given_name == "G" * 255
    cut = sorted(
        run_issue_queryset(run).filter(code="value_truncated").values_list("source_id", "field")
    )
    assert cut == [("0123", "name"), ("t1", "given_name")]
    again = sync(d)
    assert again.counts["teachers"]["updated"] == 0  # the cut value is what is kept
    assert again.school_summaries.get(sis_id="0123").name == "L" * 255


# ---------------------------------------------------------------- 4. IDs containing "/"


def test_link_keys_are_unambiguous_whatever_the_ids_hold():
    assert link_key("cls-k", "x/y") != link_key("cls-k/x", "y")
    assert link_key("a%2Fb", "c") != link_key("a/b", "c")
    assert link_key("c1", "s1") == "c1/s1"  # unchanged for the IDs districts use
    assert len(link_key("a" * 255, "b" * 255)) <= MAX_ID


def test_ids_containing_a_slash_never_collide(sync):
    d = District().school("0123").teacher("t1", "0123")
    d.student("x/y", "0123").student("y", "0123")
    d.klass("cls-k", "0123", teacher="t1", students=("x/y",))
    d.klass("cls-k/x", "0123", teacher="t1", students=("y",))
    d.parent("p/q", "0123", "x/y").parent("p", "0123", "q/x/y")
    run = sync(d)
    settled(run)
    assert run.status == "succeeded", run.message
    assert Enrollment.objects.filter(role="student").count() == 2
    assert sync(d).counts["enrollments"]["created"] == 0
