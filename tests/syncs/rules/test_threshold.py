"""Rule T (DESIGN §4), the arithmetic: no database."""

from decimal import Decimal

from syncs.rules.threshold import allowed_archives, check_threshold, likely_causes


def test_T1_threshold_default_is_ten_percent():
    from syncs.models import SyncConfig

    assert SyncConfig._meta.get_field("deletion_threshold").default == Decimal("10")


def test_T2_501_students_at_10_percent_allow_50():
    assert allowed_archives(501, Decimal("10")) == 50


def test_T2_51_archives_of_501_students_exceed_10_percent():
    (ok,) = check_threshold({"students": 501}, {"students": 50}, Decimal("10"))
    (bad,) = check_threshold({"students": 501}, {"students": 51}, Decimal("10"))
    assert not ok.exceeded
    assert bad.exceeded
    assert bad.as_dict() == {"active": 501, "planned": 51, "allowed": 50, "exceeded": True}


def test_T2_floor_is_exact_for_fractional_thresholds():
    # 12.5% of 8 is exactly 1; binary floats would risk 0.999...
    assert allowed_archives(8, Decimal("12.5")) == 1
    assert allowed_archives(7, Decimal("12.5")) == 0


def test_T2_each_kind_is_checked_on_its_own():
    checks = check_threshold(
        {"students": 100, "classes": 10}, {"students": 10, "classes": 2}, Decimal("10")
    )
    assert {c.kind: c.exceeded for c in checks} == {"classes": True, "students": False}


def test_T4_likely_causes_name_empty_files_missing_schools_and_leading_zeros():
    causes = likely_causes(
        empty_files={"enrollments": "enrollments.csv"},
        missing_schools=["0123"],
        leading_zero_pairs=[("0123", "123")],
        ignored_headers={"users.csv": ["emial"]},
        archives_by_school={"0123": 40},
        active_by_school={"0123": 40},
    )
    text = " ".join(causes)
    assert "enrollments.csv has a header row but no data rows" in text
    assert "School 0123" in text
    assert "differ only by leading zeros" in text
    assert "`emial`" in text
    assert "Every active record of school 0123" in text


def test_T4_likely_causes_say_when_nothing_looks_wrong():
    causes = likely_causes(
        empty_files={},
        missing_schools=[],
        leading_zero_pairs=[],
        ignored_headers={},
        archives_by_school={},
        active_by_school={},
    )
    assert "real change" in causes[0]


# ---------------------------------------------------------------- T4 ranked (issue 13)


def test_T4_a_school_in_the_files_without_its_students_is_the_cause_not_a_real_change():
    """All planned archives from one school that is still in orgs.csv, its students gone
    from users.csv: before issue 13 this said "No file problem was found"."""
    from syncs.rules.threshold import rank_causes

    causes = rank_causes(
        fmt="oneroster_1_1_csv",
        schools={
            "0004": {
                "name": "Lincoln",
                "in_files": True,
                "active": {"students": 912, "classes": 30},
                "planned": {"students": 912},
            }
        },
    )
    assert [(c.code, c.weight) for c in causes] == [("school_records_missing", 912)]
    assert causes[0].text == (
        "School 0004 (Lincoln) is still in the files, but none of its 912 active students "
        "are in users.csv."
    )


def test_T4_causes_are_ranked_by_the_archives_they_explain():
    from syncs.rules.threshold import rank_causes

    causes = rank_causes(
        fmt="clever_csv",
        schools={
            "A": {"in_files": False, "active": {"students": 10}, "planned": {"students": 10}},
            "B": {"in_files": True, "active": {"students": 40}, "planned": {"students": 30}},
        },
        ignored_headers={"students.csv": ["Stduent_id"]},
    )
    assert [c.code for c in causes] == [
        "school_records_dropped",
        "school_missing",
        "ignored_headers",
    ]
    assert causes[0].text == (
        "School B is still in the files, but 30 of its 40 active students are missing from "
        "students.csv."
    )


def test_T4_out_of_scope_school_is_named_as_such():
    from syncs.rules.threshold import rank_causes

    (cause,) = rank_causes(
        schools={
            "0789": {
                "in_files": True,
                "out_of_scope": True,
                "active": {"teachers": 3},
                "planned": {"teachers": 3},
            }
        }
    )
    assert cause.text == (
        "School 0789 is in the files but not among this sync's school IDs, so its 3 teachers "
        "would be archived."
    )


def test_T4_headers_only_file_fails_invalid_files_when_records_depend_on_it():
    import pytest

    from syncs.errors import SyncFailure
    from syncs.rules.threshold import check_empty_files

    check_empty_files({"people": "users.csv"}, {"students": 0, "classes": 4})
    with pytest.raises(SyncFailure, match="users.csv has a header row but no data rows") as exc:
        check_empty_files({"people": "users.csv"}, {"students": 3, "teachers": 1})
    assert exc.value.reason == "invalid_files"
    assert exc.value.details["active"] == 4
