"""Stage 3 (scope) and the `schools_not_found` failure. No database."""

import pytest

from syncs.errors import SyncFailure
from syncs.records import ClassRecord, EnrollmentRecord, PersonRecord, Roster, SchoolRecord
from syncs.rules.scope import scope


def roster():
    return Roster(
        schools={"123": SchoolRecord("123", "Lincoln"), "0456": SchoolRecord("0456", "Roosevelt")},
        people={
            "t1": PersonRecord("t1", "teacher", school_ids=("district",)),
            "s1": PersonRecord("s1", "student", school_ids=("123",)),
            "s2": PersonRecord("s2", "student", school_ids=("0456",)),
            "p1": PersonRecord("p1", "parent", school_ids=("district",)),
        },
        classes={"c1": ClassRecord("c1", "123", "Math")},
        enrollments={
            ("c1", "t1"): EnrollmentRecord("c1", "t1", "teacher"),
            ("c1", "s1"): EnrollmentRecord("c1", "s1", "student"),
        },
        guardianships={("p1", "s1")},
    )


def test_schools_not_found_names_the_leading_zero_near_match():
    with pytest.raises(SyncFailure, match=r"`0123` \(did you mean `123`\?\)") as exc:
        scope(roster(), ["0123"])
    assert exc.value.reason == "schools_not_found"
    assert exc.value.details["near_matches"] == {"0123": ["123"]}


def test_school_ids_are_strings_and_never_compared_as_numbers():
    scoped, _f, _d = scope(roster(), ["0456"])
    assert set(scoped.schools) == {"0456"}


def test_people_get_schools_from_classes_and_their_students():
    scoped, _f, dropped = scope(roster(), ["123"])
    assert set(scoped.people) == {"t1", "s1", "p1"}
    assert scoped.people["t1"].school_ids == ("123",)
    assert scoped.people["p1"].school_ids == ("123",)
    assert dropped["people"] == 1  # s2 is in another school


def test_Q_an_unreadable_class_naming_an_unknown_school_gives_nobody_that_school():
    # classes.csv: one row of c2 names a school not in the files, another row of c2 is
    # unreadable. c2 is held (rule Q), and its school must not reach s1's schools: apply
    # has no such school to link (found by make fuzz on PostgreSQL, internal_error).
    r = roster()
    r.classes["c2"] = ClassRecord("c2", "ctl\x01\x1f\x7f", "History")
    r.unreadable_classes.add("c2")
    r.enrollments[("c2", "s1")] = EnrollmentRecord("c2", "s1", "student")
    scoped, _f, _d = scope(r, [])
    assert scoped.people["s1"].school_ids == ("123",)


def test_enrollment_into_an_unknown_class_is_an_alert():
    r = roster()
    r.enrollments[("nope", "s1")] = EnrollmentRecord("nope", "s1", "student")
    _scoped, findings, _d = scope(r, [])
    assert [(f.code, f.value) for f in findings] == [("unknown_reference", "nope")]


# ---------------------------------------------------------------- references (issue 13)


def test_a_reference_made_by_someone_out_of_scope_is_not_an_issue():
    """Parsers hold their references to people not in the files until scope knows who is
    synced: s2 (school 0456) is not, when only 123 is."""
    from syncs.findings import Finding, IssueCode

    r = roster()
    r.references = [
        Finding(code=IssueCode.UNKNOWN_REFERENCE, source_id=sid, value="ghost", message="m")
        for sid in ("s1", "s2")
    ]
    _scoped, findings, _d = scope(r, ["123"])
    assert [(f.source_id, f.school_id) for f in findings] == [("s1", "123")]


def test_schools_not_found_reports_no_references():
    from syncs.findings import Finding, IssueCode

    r = roster()
    r.references = [Finding(code=IssueCode.UNKNOWN_REFERENCE, source_id="s1", message="m")]
    with pytest.raises(SyncFailure):
        scope(r, ["123", "999"])


def test_enrollment_into_an_unknown_class_of_someone_out_of_scope_is_not_an_issue():
    r = roster()
    r.enrollments[("nope", "s2")] = EnrollmentRecord("nope", "s2", "student")
    r.enrollments[("nope", "s1")] = EnrollmentRecord("nope", "s1", "student")
    _scoped, findings, _d = scope(r, ["123"])
    assert [(f.source_id, f.school_id) for f in findings] == [("nope/s1", "123")]


def test_enrollments_into_a_users_file_with_no_rows_are_one_alert():
    r = roster()
    r.people.clear()
    r.guardianships.clear()
    r.empty_files["people"] = "users.csv"
    r.enrollments[("c1", "s1")] = EnrollmentRecord("c1", "s1", "student", file="enrollments.csv")
    _scoped, findings, dropped = scope(r, [])
    assert [(f.code, f.kind, f.file) for f in findings] == [
        ("unknown_reference", "file", "enrollments.csv")
    ]
    assert findings[0].message == (
        "enrollments.csv: 2 enrollments name users, but users.csv has no data rows; they "
        "were skipped."
    )
    assert dropped["enrollments"] == 2


def test_scope_keeps_what_later_stages_read_about_the_files():
    r = roster()
    r.district_name, r.format, r.file_rows = "Demo USD", "oneroster_1_1_csv", {"users.csv": 4}
    scoped, _f, _d = scope(r, ["123"])
    assert (scoped.district_name, scoped.format, scoped.file_rows) == (
        "Demo USD",
        "oneroster_1_1_csv",
        {"users.csv": 4},
    )
    assert scoped.out_of_scope_schools == {"0456"}
