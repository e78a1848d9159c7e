"""OneRoster 1.1 CSV parsing into canonical records. No database."""

import shutil

import pytest

from syncs.errors import SyncFailure
from syncs.formats.oneroster_csv import parse
from tests.builders import small_district
from tests.helpers import ROSTER_SAMPLES

SAMPLES = ROSTER_SAMPLES


def test_parse_reads_schools_people_classes_and_enrollments(tmp_path):
    roster, findings = parse(small_district().write(tmp_path))
    assert findings == []
    assert set(roster.schools) == {"0123", "0456"}
    assert roster.people["t1"].email == "t1@district.k12.ca.us"
    assert roster.people["s1"].dob == "2014-03-09"
    assert roster.classes["c1"].school_id == "0123"
    assert roster.enrollments[("c1", "t1")].role == "teacher"
    assert roster.enrollments[("c1", "t1")].primary is True


def test_guardians_are_linked_from_the_student_side_or_the_parent_side(tmp_path):
    d = small_district()
    roster, _ = parse(d.write(tmp_path))
    # s1 lists p1 and p2; p3 lists s3 (only the parent side).
    assert roster.guardianships == {("p1", "s1"), ("p2", "s1"), ("p3", "s3")}


def test_guardian_and_relative_roles_are_parents(tmp_path):
    d = small_district()
    d.users[-1]["role"] = "relative"
    roster, _ = parse(d.write(tmp_path))
    assert roster.people["p3"].role == "parent"


def test_manifest_is_optional_and_delta_files_are_read_as_delta(tmp_path):
    folder = small_district().write(tmp_path)
    parse(folder)  # no manifest: bulk
    (folder / "manifest.csv").write_text("propertyName,value\nfile.users,delta\n")
    roster, _ = parse(folder)
    assert roster.delta is True


def test_missing_required_file_fails_invalid_files_listing_what_was_found(tmp_path):
    folder = small_district().write(tmp_path)
    (folder / "enrollments.csv").unlink()
    with pytest.raises(SyncFailure, match="missing: enrollments.csv") as exc:
        parse(folder)
    assert exc.value.reason == "invalid_files"
    assert "users.csv" in exc.value.details["found_files"]


def test_file_names_are_matched_without_regard_to_case(tmp_path):
    folder = small_district().write(tmp_path)
    (folder / "users.csv").rename(folder / "Users.CSV")
    roster, _ = parse(folder)
    assert "t1" in roster.people


def test_duplicate_ids_keep_the_first_and_report_the_rest(tmp_path):
    d = small_district()
    d.users.append(dict(d.users[0], givenName="Other"))
    roster, findings = parse(d.write(tmp_path))
    assert roster.people["t1"].given_name == "T1"
    assert [(f.code, f.source_id) for f in findings] == [("duplicate_id", "t1")]


def test_school_ids_keep_leading_zeros(tmp_path):
    roster, _ = parse(small_district().write(tmp_path))
    assert roster.people["s3"].school_ids == ("0456",)


def test_oea_sample_teacher_rows_with_too_few_cells_are_invalid_rows(tmp_path):
    """The real oea-m365-generated users.csv has two teacher rows one cell short."""
    src = SAMPLES / "oea-m365-generated"
    if not src.exists():
        pytest.skip("../shared/roster-samples is not beside the project")
    folder = tmp_path / "oea"
    shutil.copytree(src, folder)
    roster, findings = parse(folder)
    bad = [(f.code, f.file) for f in findings if f.code == "invalid_row"]
    assert bad == [("invalid_row", "users.csv")] * 2
    assert len([p for p in roster.people.values() if p.role == "student"]) == 10
    assert len(roster.classes) == 4
