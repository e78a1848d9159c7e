"""Damaged files and folders never lose data or crash a run (issue #10): folders and
links named like CSV files, cells over the field limit, conflicting duplicates, truncated
files, stray encodings and byte order marks, repeated names, absent columns.

They run on SQLite and, in CI, on PostgreSQL. Shared helpers: tests/syncs/hostile.py.
"""

from __future__ import annotations

import codecs
import os
import warnings
import zipfile

import pytest

from rostering.models import Person, School
from syncs.formats import csvfiles
from syncs.selectors import run_issue_queryset
from tests.helpers import snapshot
from tests.syncs.hostile import edit, rerun, school_district, settled

pytestmark = pytest.mark.django_db


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
    bad = run_issue_queryset(run).get(code="invalid_row")
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


# ---------------------------------------------------------------- 8. conflicting duplicates


def test_conflicting_birth_dates_report_duplicate_id_and_keep_the_first(sync, tmp_path, config):
    d = school_district()
    folder = d.write(tmp_path / "roster")
    with (folder / "demographics.csv").open("a") as f:
        f.write("s11,,,2015-01-02" + "," * 12 + "\n")
    run = rerun(config)
    assert run.status == "succeeded", run.message
    dup = run_issue_queryset(run).get(code="duplicate_id")
    assert (dup.file, dup.source_id) == ("demographics.csv", "s11")
    assert str(Person.objects.get(source_id="s11").dob) == "2014-03-09"


def test_one_school_id_under_two_names_reports_duplicate_id_and_keeps_the_first(
    sync, tmp_path, config
):
    d = school_district()
    d.school("0123", "Lincoln Middle")
    run = sync(d)
    assert run.status == "succeeded", run.message
    dup = run_issue_queryset(run).get(code="duplicate_id")
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
    alert = run_issue_queryset(run).get(code="file_encoding")
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
    assert not run_issue_queryset(run).filter(code="invalid_row").exists()
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
    missing = sorted(
        run_issue_queryset(run).filter(code="column_missing").values_list("field", flat=True)
    )
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
