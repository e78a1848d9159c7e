"""Why a run fails, said precisely, and the guards that keep a failed run from changing
anything: invalid files, schools not found, an unavailable source, internal errors."""

from __future__ import annotations

import pytest

from rostering.models import Person
from syncs.selectors import run_issue_queryset
from tests.builders import District
from tests.helpers import snapshot


def test_invalid_files_when_a_required_file_has_headers_only_while_records_are_active(
    sync, district
):
    sync(district)
    before = snapshot()
    district.enrollments = []
    run = sync(district, threshold=100)
    assert (run.status, run.failure_reason) == ("failed", "invalid_files")
    assert "enrollments.csv has a header row but no data rows" in run.message
    assert snapshot() == before


def test_headers_only_files_are_fine_for_a_brand_new_district(sync):
    run = sync(District().school("0123"))
    assert run.status == "succeeded", run.message


def test_invalid_files_for_an_unknown_header_names_the_closest_one(sync, district, tmp_path):
    folder = district.write(tmp_path / "roster")
    text = (folder / "users.csv").read_text().replace("givenName", "givneName", 1)
    (folder / "users.csv").write_text(text)
    from syncs.services import sync_run_create, sync_run_execute

    config = __import__("syncs.models", fromlist=["SyncConfig"]).SyncConfig.objects.get()
    run = sync_run_execute(run=sync_run_create(config=config))
    assert run.failure_reason == "invalid_files"
    assert "did you mean `givenName`" in run.message
    assert Person.objects.count() == 0


def test_bom_and_nbsp_header_sync_with_header_repaired_alerts(sync, district, tmp_path, config):
    folder = district.write(tmp_path / "roster")
    raw = (folder / "users.csv").read_bytes().replace(b"givenName", "givenName\u00a0".encode(), 1)
    (folder / "users.csv").write_bytes(b"\xef\xbb\xbf" + raw)
    from syncs.services import sync_run_create, sync_run_execute

    run = sync_run_execute(run=sync_run_create(config=config))
    assert run.status == "succeeded", run.message
    assert [(i.code, i.severity, i.field) for i in run_issue_queryset(run)] == [
        ("header_repaired", "alert", "givenName")
    ]


def test_schools_not_found_names_the_near_match_and_changes_nothing(sync, district):
    district.schools[0]["sourcedId"] = "123"
    for row in district.users + district.classes + district.enrollments:
        for key in ("orgSourcedIds", "schoolSourcedId"):
            if row.get(key) == "0123":
                row[key] = "123"
    run = sync(district, schools=["0123"])
    assert (run.status, run.failure_reason) == ("failed", "schools_not_found")
    assert "`0123` (did you mean `123`?)" in run.message
    assert Person.objects.count() == 0


def test_source_unavailable_when_the_folder_is_gone(config):
    from syncs.services import sync_run_create, sync_run_execute

    run = sync_run_execute(run=sync_run_create(config=config))
    assert (run.status, run.failure_reason) == ("failed", "source_unavailable")


def test_internal_error_mid_apply_leaves_the_mirror_exactly_as_before(sync, district, monkeypatch):
    sync(district)
    before = snapshot()
    district.users[0]["givenName"] = "Changed"
    district.student("s9", "0123")

    from syncs.pipeline import apply

    def boom(self, archive):
        raise RuntimeError("disk full")

    monkeypatch.setattr(apply._Writer, "devices", boom)
    run = sync(district)
    assert (run.status, run.failure_reason) == ("failed", "internal_error")
    assert "disk full" not in run.message and "Traceback" not in run.message
    assert run.diagnostics["failure"] == {"error": "RuntimeError", "applied": False}
    assert "nothing was changed" in run.message
    assert snapshot() == before


def test_internal_error_after_apply_does_not_claim_nothing_changed(sync, district, monkeypatch):
    from syncs.services import pipeline as services

    def boom(*args, **kwargs):
        raise RuntimeError("connection lost")

    monkeypatch.setattr(services, "record_success", boom)
    run = sync(district)
    assert (run.status, run.failure_reason) == ("failed", "internal_error")
    assert "the changes were applied" in run.message
    assert run.diagnostics["failure"]["applied"] is True
    assert Person.objects.count() == 8


def _break_users(folder, how):
    users = folder / "users.csv"
    if how == "missing file":
        users.unlink()
    elif how == "unknown header":
        users.write_text(users.read_text().replace("familyName", "famliyName", 1))
    elif how == "undecodable bytes":
        users.write_bytes(users.read_bytes() + b"zz,,,true,0123,student,zz,,Bad\x81Byte,X\n")
    elif how == "missing required header":
        lines = users.read_text().splitlines()
        header = lines[0].split(",")
        keep = [i for i, h in enumerate(header) if h != "role"]
        users.write_text("\n".join(",".join(line.split(",")[i] for i in keep) for line in lines))


@pytest.mark.parametrize(
    ("how", "says"),
    [
        ("missing file", "Required OneRoster 1.1 file(s) missing: users.csv"),
        ("unknown header", "unknown header `famliyName`: did you mean `familyName`?"),
        ("undecodable bytes", "users.csv: line 10 contains bytes"),
        ("missing required header", "required header `role` is missing"),
    ],
)
def test_invalid_files_fails_naming_the_problem_and_changes_nothing(
    sync, district, config, tmp_path, how, says
):
    from syncs.services import sync_run_create, sync_run_execute

    sync(district)
    before = snapshot()
    _break_users(tmp_path / "roster", how)
    run = sync_run_execute(run=sync_run_create(config=config))
    assert (run.status, run.failure_reason) == ("failed", "invalid_files")
    assert says in run.message
    assert snapshot() == before
    assert {s.status for s in run.school_summaries.all()} == {"failed"}
