"""Bad input never crashes a run and never loses data (regressions from review of #2)."""

from __future__ import annotations

import zipfile

import pytest

from accounts.models import ContactDevice
from rostering.models import Class, Enrollment, Person
from syncs.errors import SyncFailure
from syncs.formats.oneroster_csv import find_files
from syncs.rules.validate import _URL
from syncs.selectors import run_issue_queryset
from syncs.services import sync_run_create, sync_run_execute
from syncs.sources.local import fetch
from tests.builders import District, small_district

pytestmark = pytest.mark.django_db


def rerun(config):
    return sync_run_execute(run=sync_run_create(config=config))


def test_repeated_school_in_org_sourced_ids_syncs_and_settles(sync):
    d = District().school("0123")
    d.teacher("t1", "0123,0123")
    d.klass("c1", "0123", teacher="t1")
    first = sync(d)
    assert first.status == "succeeded", first.message
    assert Person.objects.get(source_id="t1").schools.count() == 1
    second = sync(d)
    assert second.counts["teachers"]["updated"] == 0


def test_Q_quarantined_parent_keeps_their_device_against_a_lower_role(sync):
    d = District().school("0123").teacher("t1", "0123")
    d.student("s1", "0123", email="fam@example.org")
    d.parent("p1", "0123", "s1", email="fam@example.org")
    d.klass("c1", "0123", teacher="t1", students=("s1",))
    sync(d)
    p1 = Person.objects.get(source_id="p1")
    d.users[-1].update(givenName="", familyName="")  # p1 now has a parent_name error
    run = sync(d)
    assert ContactDevice.objects.get(value="fam@example.org").account_id == p1.account_id
    student_issue = run_issue_queryset(run).get(source_id="s1")
    assert student_issue.code == "device_in_use" and "held by parent p1" in student_issue.message


def test_Q_quarantined_student_loses_a_device_to_a_parent_with_an_alert(sync):
    d = District().school("0123").teacher("t1", "0123")
    d.student("s1", "0123", email="fam@example.org")
    d.klass("c1", "0123", teacher="t1", students=("s1",))
    sync(d)
    d.birth_dates["s1"] = ""  # s1 now has a student_dob error
    d.parent("p1", "0123", "s1", email="fam@example.org")
    run = sync(d)
    holder = ContactDevice.objects.get(value="fam@example.org").account
    assert holder.person.source_id == "p1"
    codes = sorted(run_issue_queryset(run).filter(source_id="s1").values_list("code", flat=True))
    assert codes == ["device_in_use", "student_dob"]


def test_dotted_parent_folder_does_not_hide_the_files(tmp_path):
    folder = small_district().write(tmp_path / ".uploads" / "d1")
    assert "users.csv" in find_files(folder)


def test_a_stale_copy_in_a_subfolder_never_replaces_the_top_level_file(tmp_path):
    folder = small_district().write(tmp_path / "roster")
    (folder / "archive").mkdir()
    (folder / "archive" / "users.csv").write_text("old")
    assert find_files(folder)["users.csv"] == folder / "users.csv"


def test_two_nested_candidates_for_one_file_fail_invalid_files(tmp_path):
    folder = tmp_path / "roster"
    small_district().write(folder / "x")
    small_district().write(folder / "y")
    with pytest.raises(
        SyncFailure, match=r"More than one \w+\.csv was found \(x/\w+\.csv, y/"
    ) as exc:
        find_files(folder)
    assert exc.value.reason == "invalid_files"


def test_zip_with_two_exports_is_refused_instead_of_overwritten(tmp_path):
    files = small_district().write(tmp_path / "files")
    archive = tmp_path / "two.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in files.iterdir():
            zf.write(path, f"x/{path.name}")
            zf.write(path, f"y/{path.name}")
    with fetch(archive) as folder, pytest.raises(SyncFailure, match="More than one"):
        find_files(folder)


@pytest.mark.parametrize("damage", ["deflate64", "corrupt stream"])
def test_unreadable_zip_member_fails_invalid_files(tmp_path, damage):
    archive = tmp_path / "roster.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("users.csv", "a,b\n" * 100)
    data = bytearray(archive.read_bytes())
    local = data.find(b"PK\x03\x04")
    if damage == "deflate64":
        data[local + 8] = 9
        data[data.find(b"PK\x01\x02") + 10] = 9
    else:
        start = local + 30 + len("users.csv")
        data[start : start + 4] = b"\xff\xff\xff\xff"
    archive.write_bytes(bytes(data))
    with pytest.raises(SyncFailure) as exc, fetch(archive):
        pass
    assert exc.value.reason == "invalid_files"
    assert "users.csv" in exc.value.message


def test_nul_character_makes_an_invalid_row_not_an_internal_error(sync, district, config, tmp_path):
    sync(district)
    users = tmp_path / "roster" / "users.csv"
    users.write_text(users.read_text().replace("S2,", "S\x002,", 1))
    run = rerun(config)
    assert run.status == "succeeded", run.message
    assert ("invalid_row", "s2") in run_issue_queryset(run).values_list("code", "source_id")
    assert Person.objects.get(source_id="s2").archived_at is None  # rule Q


def test_unreadable_enrollment_row_keeps_the_existing_enrollment(sync, district, config, tmp_path):
    sync(district)
    path = tmp_path / "roster" / "enrollments.csv"
    lines = path.read_text().splitlines()
    lines = [line + ",extra" if ",c1,,s2," in line else line for line in lines]
    path.write_text("\n".join(lines) + "\n")
    config.deletion_threshold = 0
    config.save()
    run = rerun(config)
    assert run.status == "succeeded", run.message
    assert Enrollment.objects.get(source_id="c1/s2").archived_at is None


def test_duplicate_header_column_fails_naming_both(sync, district, config, tmp_path):
    users = tmp_path / "roster" / "users.csv"
    district.write(tmp_path / "roster")
    users.write_text(users.read_text().replace("username", "email", 1))
    run = rerun(config)
    assert run.failure_reason == "invalid_files"
    assert "two `email` columns" in run.message


def test_T2_guardian_links_are_counted_but_not_guarded(sync):
    d = District().school("0123").teacher("t1", "0123")
    for i in range(10):
        d.student(f"s{i}", "0123").parent(f"p{i}", "0123", f"s{i}")
    d.klass("c1", "0123", teacher="t1", students=tuple(f"s{i}" for i in range(10)))
    sync(d)
    for user in d.users:
        if user["sourcedId"] in ("p0", "p1"):
            user["agentSourcedIds"] = ""
    run = sync(d, threshold=10)
    assert run.status == "succeeded", run.message
    assert run.counts["guardianships"]["archived"] == 2
    assert "guardianships" not in run.diagnostics["threshold"]["kinds"]


def test_numeric_school_id_on_the_config_fails_clearly(sync, district, config):
    from django.core.exceptions import ValidationError

    config.school_ids = [123]
    with pytest.raises(ValidationError, match="as text"):
        config.full_clean()
    sync(district)
    config.school_ids = [123]
    config.save()
    run = rerun(config)
    assert run.failure_reason == "schools_not_found"
    assert "not text" in run.message


def test_unsupported_sms_falls_back_to_a_valid_phone(sync):
    d = District().school("0123").teacher("t1", "0123").student("s1", "0123")
    d.parent("p1", "0123", "s1", email="", sms="876-927-1234", phone="(206) 384-2291")
    d.klass("c1", "0123", teacher="t1", students=("s1",))
    run = sync(d)
    p1 = Person.objects.get(source_id="p1")
    assert list(p1.account.devices.values_list("value", flat=True)) == ["+12063842291"]
    assert list(run_issue_queryset(run).filter(source_id="p1").values_list("code", "value")) == [
        ("unsupported_phone", "876-927-1234")
    ]


@pytest.mark.parametrize(
    ("name", "is_url"),
    [
        ("Web Dev with ASP.NET", False),
        ("Chem 1.CO", False),
        ("Mr.Smith.Co", False),
        ("Algebra 2.1", False),
        ("Join at https://meet.example.org/abc", True),
        ("see www.example.org", True),
        ("bit.ly/x7", True),
        ("zoom.us", True),
    ],
)
def test_class_invalid_name_url_check_has_no_false_positives(name, is_url):
    assert bool(_URL.search(name)) is is_url


def test_class_invalid_name_course_code_is_created(sync):
    d = District().school("0123").teacher("t1", "0123")
    d.klass("c1", "0123", "Web Dev with ASP.NET", teacher="t1")
    sync(d)
    assert Class.objects.get(source_id="c1").name == "Web Dev with ASP.NET"


def test_a_file_only_in_a_subfolder_is_not_read_into_the_export(tmp_path):
    folder = small_district().write(tmp_path / "roster")
    (folder / "archive-2023").mkdir()
    (folder / "enrollments.csv").rename(folder / "archive-2023" / "enrollments.csv")
    with pytest.raises(SyncFailure, match="archive-2023/enrollments.csv is not beside") as exc:
        find_files(folder)
    assert exc.value.reason == "invalid_files"
