"""Nothing a district sends can lose data or crash a run (issue #10).

One test per defect the probe found and per case real exports produce, each named after
the rule it protects. They run on SQLite and, in CI, on PostgreSQL, which refuses what
SQLite accepts (NUL in text, values longer than their column).
"""

from __future__ import annotations

import codecs
import os
import warnings
import zipfile
from pathlib import Path

import pytest
from django.apps import apps
from django.db import models

from rostering.models import Enrollment, Guardianship, Person, School
from syncs.formats import csvfiles
from syncs.models import SyncRun
from syncs.pipeline import report
from syncs.records import MAX_ID, link_key
from syncs.services import sync_run_create, sync_run_execute
from tests.builders import District
from tests.conftest import NOW
from tests.syncs.test_sync_run import snapshot

pytestmark = pytest.mark.django_db


def rerun(config, *, dry_run: bool = False) -> SyncRun:
    return sync_run_execute(run=sync_run_create(config=config, dry_run=dry_run), now=NOW)


def nothing_stored_holds_a_nul() -> list[str]:
    """Every text and JSON value of every Rollcall table, searched for NUL."""
    found = []
    for label in ("accounts", "rostering", "syncs"):
        for model in apps.get_app_config(label).get_models():
            fields = [
                f.name
                for f in model._meta.concrete_fields
                if isinstance(f, models.CharField | models.TextField | models.JSONField)
            ]
            for row in model.objects.values_list("pk", *fields):
                for name, value in zip(fields, row[1:], strict=True):
                    if any("\0" in text for text in _strings(value)):
                        found.append(f"{model.__name__}.{name} #{row[0]}")
    return found


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def settled(run: SyncRun) -> None:
    """The outcome every bad input must have: finished, with a specific reason."""
    run.refresh_from_db()
    assert run.status in ("succeeded", "failed"), run.status
    assert run.failure_reason != "internal_error", run.message
    assert nothing_stored_holds_a_nul() == []


def school_district() -> District:
    """Two schools with a teacher, students, their parents and a class each."""
    d = District().school("0123", "Lincoln Elementary").school("0456", "Roosevelt Middle")
    for school, n in (("0123", 1), ("0456", 2)):
        d.teacher(f"t{n}", school)
        students = tuple(f"s{n}{i}" for i in range(4))
        for sid in students:
            d.student(sid, school).parent(f"p{sid}", school, sid)
        d.klass(f"c{n}", school, teacher=f"t{n}", students=students)
    return d


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# ---------------------------------------------------------------- 1. unreadable school row


@pytest.mark.parametrize("damage", ["one cell too many", "NUL in the name"])
def test_Q_unreadable_school_row_holds_its_school_and_everything_in_it(
    sync, config, tmp_path, damage
):
    d = school_district()
    sync(d)
    before = snapshot()
    d.drop_user("s13")  # a student really gone from the files: held too, with the school
    d.users[1]["givenName"] = "Renamed"  # a change in the held school waits for its row
    folder = d.write(tmp_path / "roster")
    orgs = folder / "orgs.csv"
    if damage == "one cell too many":
        edit(orgs, "0123,,,Lincoln Elementary,school,,", "0123,,,Lincoln Elementary,school,,,x")
    else:
        edit(orgs, "Lincoln Elementary", "Lincoln\0Elementary")
    config.deletion_threshold = 60
    config.save()
    run = rerun(config)
    settled(run)
    assert run.status == "succeeded", run.message
    assert run.counts["students"]["archived"] == 0
    assert not Person.objects.filter(archived_at__isnull=False).exists()
    assert not Enrollment.objects.filter(archived_at__isnull=False).exists()
    assert snapshot() == before  # school 0123 is exactly as it was; 0456 had no change
    bad = run.issues.get(code="invalid_row", file="orgs.csv")
    assert bad.source_id == "0123" and bad.line == 3


def test_Q_unreadable_school_row_of_a_configured_school_is_not_schools_not_found(
    sync, config, tmp_path
):
    d = school_district()
    sync(d, schools=["0123"])
    edit(d.write(tmp_path / "roster") / "orgs.csv", "Lincoln Elementary", "Lincoln\0Elementary")
    run = rerun(config)
    settled(run)
    assert run.status == "succeeded", run.message
    assert not Person.objects.filter(archived_at__isnull=False).exists()


def test_Q_unreadable_district_row_holds_nothing(sync, config, tmp_path):
    d = school_district()
    sync(d)
    d.users[1]["givenName"] = "Renamed"
    edit(d.write(tmp_path / "roster") / "orgs.csv", "District,district", "District,district,x")
    run = rerun(config)
    settled(run)
    assert Person.objects.get(source_id=d.users[1]["sourcedId"]).given_name == "Renamed"


def test_Q_unreadable_clever_school_row_holds_its_school(sync, config, tmp_path):
    from devtools.generator import generate_district

    folder = tmp_path / "clever"
    generate_district(out=folder, students=60, seed=3, format="clever", problems=False)
    config.path = str(folder)
    config.deletion_threshold = 100
    config.save()
    assert rerun(config).status == "succeeded"
    before = snapshot()
    schools = folder / "schools.csv"
    lines = schools.read_text(encoding="utf-8").splitlines()
    lines[1] += ",one cell too many"
    schools.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = rerun(config)
    settled(run)
    assert run.status == "succeeded", run.message
    assert snapshot() == before


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
    assert not run.issues.filter(code="invalid_row").exists()


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
    bad = run.issues.get(code="invalid_row", field="id")
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
    cut = sorted(run.issues.filter(code="value_truncated").values_list("source_id", "field"))
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


# ---------------------------------------------------------------- 5. folders and links named *.csv


def test_a_zip_member_inside_a_folder_named_users_csv_fails_invalid_files(sync, config, tmp_path):
    files = school_district().write(tmp_path / "files")
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in files.iterdir():
            if path.name != "users.csv":
                zf.write(path, path.name)
        zf.writestr("users.csv/readme.txt", "not a roster")
    config.path = str(archive)
    config.save()
    run = rerun(config)
    settled(run)
    assert run.failure_reason == "invalid_files"
    assert "users.csv is a folder, not a file" in run.message


def test_users_csv_being_a_folder_fails_invalid_files(sync, config, tmp_path):
    folder = school_district().write(tmp_path / "roster")
    (folder / "users.csv").unlink()
    (folder / "users.csv").mkdir()
    run = rerun(config)
    settled(run)
    assert run.failure_reason == "invalid_files"
    assert "users.csv is a folder, not a file" in run.message


def test_stray_folders_and_broken_links_named_like_csv_files_are_ignored(sync, config, tmp_path):
    d = school_district()
    sync(d)
    folder = tmp_path / "roster"
    (folder / "backup.csv").mkdir()
    os.symlink(folder / "gone.csv", folder / "old.csv")
    run = rerun(config)
    settled(run)
    assert run.status == "succeeded", run.message


# ---------------------------------------------------------------- 6. a cell over the field limit


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_cell_over_the_csv_field_limit_is_an_invalid_row(sync, config, tmp_path, dry_run):
    d = school_district()
    sync(d)
    d.users[1]["givenName"] = "A" * (csvfiles.FIELD_LIMIT + 10)
    d.write(tmp_path / "roster")
    run = rerun(config, dry_run=dry_run)
    settled(run)
    assert run.status == "succeeded", run.message
    bad = run.issues.get(code="invalid_row")
    assert bad.source_id == d.users[1]["sourcedId"]
    assert "longer than the 10 MB limit" in bad.message
    assert not Person.objects.filter(archived_at__isnull=False).exists()


def test_a_manifest_cell_over_the_csv_field_limit_fails_invalid_files(sync, config, tmp_path):
    folder = school_district().write(tmp_path / "roster")
    (folder / "manifest.csv").write_text(
        "propertyName,value\noneroster.version,1.1\nnote," + "x" * (csvfiles.FIELD_LIMIT + 1)
    )
    run = rerun(config)
    settled(run)
    assert run.failure_reason == "invalid_files"
    assert "manifest.csv cannot be read" in run.message


# ---------------------------------------------------------------- 7. enrollment roles


@pytest.mark.parametrize("role", ["stduent", ""])
def test_Q_an_enrollment_whose_role_is_a_typo_or_empty_is_held(sync, config, tmp_path, role):
    d = school_district()
    sync(d)
    for e in d.enrollments:
        if e["userSourcedId"] == "s11":
            e["role"] = role
    config.deletion_threshold = 0
    run = sync(d, threshold=0)
    settled(run)
    assert run.status == "succeeded", run.message
    kept = Enrollment.objects.get(person__source_id="s11")
    assert kept.archived_at is None
    bad = run.issues.get(code="invalid_row", file="enrollments.csv")
    assert bad.field == "role" and bad.value == role


# ---------------------------------------------------------------- 8. conflicting duplicates


def test_conflicting_birth_dates_report_duplicate_id_and_keep_the_first(sync, tmp_path, config):
    d = school_district()
    folder = d.write(tmp_path / "roster")
    with (folder / "demographics.csv").open("a") as f:
        f.write("s11,,,2015-01-02" + "," * 12 + "\n")
    run = rerun(config)
    assert run.status == "succeeded", run.message
    dup = run.issues.get(code="duplicate_id")
    assert (dup.file, dup.source_id) == ("demographics.csv", "s11")
    assert str(Person.objects.get(source_id="s11").dob) == "2014-03-09"


def test_one_school_id_under_two_names_reports_duplicate_id_and_keeps_the_first(
    sync, tmp_path, config
):
    d = school_district()
    d.school("0123", "Lincoln Middle")
    run = sync(d)
    assert run.status == "succeeded", run.message
    dup = run.issues.get(code="duplicate_id")
    assert (dup.file, dup.source_id) == ("orgs.csv", "0123")
    assert School.objects.get(sis_id="0123").name == "Lincoln Elementary"


# ---------------------------------------------------------------- also expected


def test_a_file_that_ends_mid_row_fails_as_truncated_and_changes_nothing(sync, config, tmp_path):
    d = school_district()
    sync(d)
    before = snapshot()
    users = d.write(tmp_path / "roster") / "users.csv"
    data = users.read_bytes()
    users.write_bytes(data[: int(len(data) * 0.9)].rstrip(b"\n"))
    config.deletion_threshold = 100
    config.save()
    run = rerun(config)
    settled(run)
    assert run.failure_reason == "invalid_files"
    assert "users.csv ends mid-row at line" in run.message
    assert "the file looks truncated" in run.message
    assert snapshot() == before


def test_a_file_without_a_final_line_break_is_not_truncated(sync, config, tmp_path):
    d = school_district()
    users = d.write(tmp_path / "roster") / "users.csv"
    users.write_bytes(users.read_bytes().rstrip(b"\r\n"))
    assert rerun(config).status == "succeeded"


def test_one_non_utf8_line_is_decoded_alone_and_named(sync, config, tmp_path):
    d = school_district()
    d.users[1]["givenName"] = "Zoë"
    d.users[2]["givenName"] = "José"
    users = d.write(tmp_path / "roster") / "users.csv"
    users.write_bytes(users.read_bytes().replace("José".encode(), "José".encode("cp1252")))
    run = rerun(config)
    assert run.status == "succeeded", run.message
    assert Person.objects.get(source_id=d.users[1]["sourcedId"]).given_name == "Zoë"
    assert Person.objects.get(source_id=d.users[2]["sourcedId"]).given_name == "José"
    alert = run.issues.get(code="file_encoding")
    assert alert.line == 4
    assert "UTF-8 except line(s) 4" in alert.message


def test_a_byte_order_mark_inside_the_file_is_not_part_of_an_id(sync, config, tmp_path):
    d = school_district()
    sync(d)
    users = d.write(tmp_path / "roster") / "users.csv"
    lines = users.read_bytes().split(b"\n")
    header, rows = lines[0], [line for line in lines[1:] if line]
    # Two exports pasted together: the second begins with its own BOM and header.
    second = codecs.BOM_UTF8 + header + b"\n" + b"\n".join(rows[5:]) + b"\n"
    users.write_bytes(header + b"\n" + b"\n".join(rows[:5]) + b"\n" + second)
    run = rerun(config)
    settled(run)
    assert run.status == "succeeded", run.message
    assert not run.issues.filter(code="invalid_row").exists()
    assert run.counts["students"]["created"] == 0
    assert not Person.objects.filter(archived_at__isnull=False).exists()


@pytest.mark.parametrize("second", ["users.csv", "Users.csv"])
def test_a_zip_with_two_members_of_one_name_is_refused_naming_both(sync, config, tmp_path, second):
    files = school_district().write(tmp_path / "files")
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate it writes
        for path in files.iterdir():
            zf.write(path, path.name)
        zf.write(files / "users.csv", second)
    config.path = str(archive)
    config.save()
    run = rerun(config)
    settled(run)
    assert run.failure_reason == "invalid_files"
    assert "'users.csv'" in run.message and f"'{second}'" in run.message


def test_a_folder_with_users_csv_beside_Users_csv_is_refused(sync, config, tmp_path):
    folder = school_district().write(tmp_path / "roster")
    (folder / "Users.csv").write_bytes((folder / "users.csv").read_bytes())
    run = rerun(config)
    settled(run)
    assert run.failure_reason == "invalid_files"
    assert "Users.csv and users.csv are both in the export" in run.message


def test_an_absent_optional_column_keeps_what_the_mirror_holds(sync, config, tmp_path):
    d = school_district()
    sync(d)
    before = snapshot()
    users = d.write(tmp_path / "roster") / "users.csv"
    rows = list(csvfiles.csv.reader(users.open(encoding="utf-8", newline="")))
    drop = [rows[0].index(c) for c in ("email", "agentSourcedIds")]
    with users.open("w", encoding="utf-8", newline="") as f:
        writer = csvfiles.csv.writer(f)
        for row in rows:
            writer.writerow([cell for n, cell in enumerate(row) if n not in drop])
    run = rerun(config)
    assert run.status == "succeeded", run.message
    assert snapshot() == before  # emails, devices and guardian links all stand
    missing = sorted(run.issues.filter(code="column_missing").values_list("field", flat=True))
    assert missing == ["agentSourcedIds", "email"]


def test_a_present_column_with_an_empty_cell_still_clears_the_value(sync, config):
    d = school_district()
    sync(d)
    parent = next(u for u in d.users if u["sourcedId"] == "ps10")
    parent["email"] = ""
    parent["phone"] = "(206) 384-2291"
    run = sync(d)
    assert run.status == "succeeded", run.message
    assert Person.objects.get(source_id="ps10").email == ""


def test_a_quote_left_open_in_a_header_fails_invalid_files(sync, config, tmp_path):
    # Found by the fuzz suite: the header read leniently, then the rows strictly.
    folder = school_district().write(tmp_path / "roster")
    edit(folder / "demographics.csv", "birthDate,sex", 'birthDate,"sex')
    run = rerun(config)
    settled(run)
    assert run.failure_reason == "invalid_files"
    assert "demographics.csv: the header row cannot be read" in run.message


@pytest.mark.parametrize("codec", ["utf-16", "utf-32", "utf-16-le"])
def test_a_wide_encoded_file_cut_mid_character_fails_invalid_files(sync, config, tmp_path, codec):
    # Found by the fuzz suite: UTF-16/32 had no check that every byte decodes.
    folder = school_district().write(tmp_path / "roster")
    orgs = folder / "orgs.csv"
    data = orgs.read_text(encoding="utf-8").encode(codec)
    orgs.write_bytes(data[: len(data) // 2 * 2 - 1])  # an odd number of bytes
    run = rerun(config)
    settled(run)
    assert run.failure_reason == "invalid_files"
    assert "looks truncated or damaged" in run.message
