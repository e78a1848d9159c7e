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
