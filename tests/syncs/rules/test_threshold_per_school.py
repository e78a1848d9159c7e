"""Rule T6 (per-school limits), rule U (mass updates) and the sharp-drop watch, the
arithmetic: no database."""

from __future__ import annotations

from decimal import Decimal

from syncs.rules.threshold import (
    NEARLY_EMPTY_PERCENT,
    check_updates,
    decide_archives,
    sharp_drops,
    usual_count,
)

TEN = Decimal("10")


def ten_schools(planned: dict[str, int]) -> dict:
    """Ten schools of 20 students; `planned` archives per school."""
    schools = [f"{n:04d}" for n in range(1, 11)]
    return {
        "active": {"students": 200},
        "planned": {"students": sum(planned.values())},
        "active_by_school": {s: {"students": 20} for s in schools},
        "planned_by_school": {s: {"students": n} for s, n in planned.items()},
    }


def test_T6_one_school_over_its_limit_is_held_alone_while_the_rest_applies():
    # School 0003 left the files (20 of 20); nine others lose one or two each (within
    # their 2 of 20). The district as a whole is over (29 > 20), the rest is not (9).
    planned = {"0003": 20, **{f"{n:04d}": 1 for n in (1, 2, 4, 5, 6, 7, 8)}, "0009": 2}
    decision = decide_archives(**ten_schools(planned), threshold=TEN)
    assert [c.exceeded for c in decision.district] == [True]
    assert [s.sis_id for s in decision.held] == ["0003"]
    assert not decision.hold_all and decision.blocked == []
    (rest,) = decision.remainder
    assert (rest.active, rest.planned, rest.allowed, rest.exceeded) == (180, 9, 18, False)
    assert decision.held[0].kinds() == {"students": {"active": 20, "planned": 20, "allowed": 2}}


def test_T6_every_school_over_its_limit_leaves_the_district_to_decide_as_T3():
    # 9%: each school of 20 may lose 1; every school loses 2 or more, so every school is
    # over its own limit: nothing is left to apply, and the district is over too.
    planned = {"0003": 20, **{f"{n:04d}": 2 for n in (1, 2, 4, 5, 6, 7, 8, 9, 10)}}
    decision = decide_archives(**ten_schools(planned), threshold=Decimal("9"))
    assert decision.hold_all and decision.held == []
    assert [c.kind for c in decision.blocked] == ["students"]


def test_T6_remainder_over_the_district_limit_when_not_every_school_is_over():
    active = {"students": 300}
    by_school = {"0001": {"students": 100}, "0002": {"students": 100}, "0003": {"students": 100}}
    # 0001 is over its own 10 of 100; 0002 and 0003 lose 10 each (within theirs), but the
    # remainder is 20 of 200, and a district threshold of 9% allows 18 of it.
    decision = decide_archives(
        active=active,
        planned={"students": 50},
        active_by_school=by_school,
        planned_by_school={
            "0001": {"students": 30},
            "0002": {"students": 10},
            "0003": {"students": 10},
        },
        threshold=Decimal("9"),
        school_threshold=TEN,
    )
    assert [s.sis_id for s in decision.over] == ["0001"]
    assert decision.hold_all and decision.held == []
    assert [c.kind for c in decision.blocked] == ["students"]


def test_T6_a_school_over_its_own_stricter_limit_is_held_while_the_district_is_within():
    decision = decide_archives(
        active={"students": 400},
        planned={"students": 8},
        active_by_school={"0001": {"students": 100}, "0002": {"students": 300}},
        planned_by_school={"0001": {"students": 8}},
        threshold=TEN,
        school_threshold=Decimal("5"),
    )
    assert not any(c.exceeded for c in decision.district)
    assert [s.sis_id for s in decision.held] == ["0001"]
    assert decision.held[0].kinds()["students"]["allowed"] == 5


def test_T6_a_per_config_school_threshold_can_be_looser_than_the_districts():
    decision = decide_archives(
        **ten_schools({"0003": 5, "0004": 5}), threshold=TEN, school_threshold=Decimal("30")
    )
    assert decision.passed and decision.over == []


def test_T6_records_of_no_school_are_never_held_on_their_own():
    decision = decide_archives(
        active={"parents": 10},
        planned={"parents": 10},
        active_by_school={"": {"parents": 10}},
        planned_by_school={"": {"parents": 10}},
        threshold=TEN,
    )
    assert decision.over == [] and decision.hold_all


def test_T6_within_every_limit_passes():
    decision = decide_archives(**ten_schools({"0001": 2, "0002": 1}), threshold=TEN)
    assert decision.passed and not decision.hold_all and decision.held == []


def test_U_more_than_the_update_threshold_of_a_kind_is_held():
    (students,) = check_updates({"students": 20, "teachers": 2}, {"students": 18}, Decimal("75"))
    assert (students.kind, students.active, students.planned, students.allowed) == (
        "students",
        20,
        18,
        15,
    )
    assert students.exceeded


def test_U_exactly_the_share_is_not_more_than_it():
    (check,) = check_updates({"students": 20}, {"students": 15}, Decimal("75"))
    assert not check.exceeded


def test_U_off_checks_nothing():
    assert check_updates({"students": 20}, {"students": 20}, None) == []


def test_watch_812_to_410_is_a_sharp_drop_at_that_school_only():
    history = {"0004": [{"students": 812}] * 7, "0001": [{"students": 300}] * 7}
    (drop,) = sharp_drops(
        after={"0004": {"students": 410}, "0001": {"students": 299}},
        before={"0004": {"students": 812}, "0001": {"students": 300}},
        history=history,
        percent=Decimal("20"),
    )
    assert (drop.school, drop.kind, drop.usual, drop.after) == ("0004", "students", 812, 410)
    assert "School 0004 students: 812 → 410" in drop.message


def test_watch_the_usual_count_is_the_median_of_the_last_seven_runs():
    assert usual_count([1000, 10, 812, 812, 811, 813, 812, 20]) == 812
    assert usual_count([100, 200]) == 100  # an even count: the lower middle


def test_watch_a_drop_within_the_alert_percent_is_not_one():
    assert (
        sharp_drops(
            after={"0004": {"students": 700}},
            before={},
            history={"0004": [{"students": 812}]},
            percent=Decimal("20"),
        )
        == []
    )


def test_watch_without_history_compares_with_the_count_before_the_run():
    (drop,) = sharp_drops(
        after={"0004": {"students": 5}}, before={"0004": {"students": 100}}, history={}, percent=TEN
    )
    assert (drop.usual, drop.after) == (100, 5)


def test_watch_a_nearly_empty_school_alerts_whatever_the_alert_percent():
    (drop,) = sharp_drops(
        after={"0004": {"students": 5}},
        before={"0004": {"students": 100}},
        history={},
        percent=Decimal("100"),
    )
    assert drop.percent == NEARLY_EMPTY_PERCENT and drop.fell_by == 95


def test_watch_skips_held_schools_and_small_counts():
    after = {"0003": {}, "0004": {"students": 2}}
    before = {"0003": {"students": 50}, "0004": {"students": 9}}
    assert sharp_drops(after=after, before=before, history={}, percent=TEN, skip={"0003"}) == []
