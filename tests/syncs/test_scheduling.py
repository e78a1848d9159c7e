"""The nightly window in time (syncs.scheduling): pure functions, no database.

Expected instants are written out by hand from the Los Angeles offsets: PST is UTC-8,
PDT is UTC-7; 2026-03-08 02:00 PST jumps to 03:00 PDT, 2026-11-01 02:00 PDT falls back
to 01:00 PST.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from syncs.scheduling import (
    due_night,
    jittered_start,
    local_instant,
    night_window,
    preflight_due,
    preflight_slot,
    window_containing,
)

LA = "America/Los_Angeles"
DEFAULT = (time(23, 0), time(5, 0))
EARLY = (time(1, 0), time(4, 0))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ---------------------------------------------------------------- night_window


def test_night_window_crossing_midnight_ends_on_the_next_day():
    assert night_window(date(2026, 11, 24), *DEFAULT, LA) == (
        utc(2026, 11, 25, 7, 0),  # 23:00 PST on the 24th
        utc(2026, 11, 25, 13, 0),  # 05:00 PST on the 25th
    )


def test_night_window_after_midnight_opens_and_closes_on_its_night():
    assert night_window(date(2026, 11, 24), *EARLY, LA) == (
        utc(2026, 11, 24, 9, 0),
        utc(2026, 11, 24, 12, 0),
    )


def test_night_window_in_summer_uses_daylight_time():
    assert night_window(date(2026, 7, 1), *DEFAULT, LA) == (
        utc(2026, 7, 2, 6, 0),
        utc(2026, 7, 2, 12, 0),
    )


@pytest.mark.parametrize(
    ("night", "window", "expected"),
    [
        # Spring forward: the clock skips 02:00-03:00, so the windows are an hour shorter.
        (date(2026, 3, 7), DEFAULT, (utc(2026, 3, 8, 7, 0), utc(2026, 3, 8, 12, 0))),
        (date(2026, 3, 8), EARLY, (utc(2026, 3, 8, 9, 0), utc(2026, 3, 8, 11, 0))),
        # Fall back: the clock shows 01:00-02:00 twice, so they are an hour longer.
        (date(2026, 10, 31), DEFAULT, (utc(2026, 11, 1, 6, 0), utc(2026, 11, 1, 13, 0))),
        (date(2026, 11, 1), EARLY, (utc(2026, 11, 1, 8, 0), utc(2026, 11, 1, 12, 0))),
    ],
)
def test_night_window_across_a_dst_change_spans_the_nights_wall_clock_hours(
    night, window, expected
):
    assert night_window(night, *window, LA) == expected


def test_local_instant_skipped_by_spring_forward_is_when_the_clock_jumps_past_it():
    # 02:30 never shows on 2026-03-08: the window opens at the jump, 03:00 PDT.
    assert local_instant(date(2026, 3, 8), time(2, 30), LA) == utc(2026, 3, 8, 10, 0)
    assert local_instant(date(2026, 3, 8), time(2, 0), LA) == utc(2026, 3, 8, 10, 0)
    assert local_instant(date(2026, 3, 8), time(3, 0), LA) == utc(2026, 3, 8, 10, 0)
    assert local_instant(date(2026, 3, 8), time(1, 59), LA) == utc(2026, 3, 8, 9, 59)


def test_local_instant_repeated_by_fall_back_is_its_first_occurrence():
    # 01:30 shows at 08:30 UTC (PDT) and again at 09:30 UTC (PST): the first counts.
    assert local_instant(date(2026, 11, 1), time(1, 30), LA) == utc(2026, 11, 1, 8, 30)
    assert local_instant(date(2026, 11, 1), time(2, 0), LA) == utc(2026, 11, 1, 10, 0)


def test_night_window_with_a_skipped_end_closes_when_the_clock_jumps():
    start, end = night_window(date(2026, 3, 8), time(1, 30), time(2, 30), LA)
    assert (start, end) == (utc(2026, 3, 8, 9, 30), utc(2026, 3, 8, 10, 0))


def test_night_window_with_a_repeated_start_is_never_opened_twice():
    start, end = night_window(date(2026, 11, 1), time(1, 30), time(2, 30), LA)
    assert (start, end) == (utc(2026, 11, 1, 8, 30), utc(2026, 11, 1, 10, 30))
    # The second 01:30 (PST) is inside the same, single window of the night.
    assert window_containing(utc(2026, 11, 1, 9, 30), time(1, 30), time(2, 30), LA) == (
        date(2026, 11, 1),
        start,
        end,
    )


def test_night_window_wholly_inside_the_skipped_hour_is_empty_that_night():
    start, end = night_window(date(2026, 3, 8), time(2, 10), time(2, 50), LA)
    assert start == end
    assert window_containing(start, time(2, 10), time(2, 50), LA) is None


# ---------------------------------------------------------------- window_containing


def test_window_containing_after_midnight_is_the_night_before():
    found = window_containing(utc(2026, 11, 25, 10, 0), *DEFAULT, LA)  # 02:00 PST on the 25th
    assert found == (date(2026, 11, 24), utc(2026, 11, 25, 7, 0), utc(2026, 11, 25, 13, 0))


def test_window_containing_includes_the_start_and_excludes_the_end():
    start, end = night_window(date(2026, 11, 24), *DEFAULT, LA)
    assert window_containing(start, *DEFAULT, LA).night == date(2026, 11, 24)
    assert window_containing(start - timedelta(minutes=1), *DEFAULT, LA) is None
    assert window_containing(end - timedelta(minutes=1), *DEFAULT, LA).night == date(2026, 11, 24)
    assert window_containing(end, *DEFAULT, LA) is None


def test_window_containing_is_none_during_the_day():
    assert window_containing(utc(2026, 11, 24, 20, 0), *DEFAULT, LA) is None  # noon PST


# ---------------------------------------------------------------- jittered_start


def test_jittered_start_is_a_fixed_minute_for_a_config_and_night():
    # Fixed values: a salted hash (Python's hash()) would differ from process to process.
    start, end = night_window(date(2026, 11, 24), *DEFAULT, LA)
    assert jittered_start(1, date(2026, 11, 24), start, end) == utc(2026, 11, 25, 8, 39)
    assert jittered_start(42, date(2026, 11, 24), start, end) == utc(2026, 11, 25, 9, 21)
    assert jittered_start(1, date(2026, 11, 24), start, end) == jittered_start(
        1, date(2026, 11, 24), start, end
    )


@pytest.mark.parametrize("window", [DEFAULT, EARLY, (time(1, 30), time(2, 30))])
def test_jittered_start_is_a_whole_minute_in_the_first_half_of_the_window(window):
    for night in [date(2026, 3, 7) + timedelta(days=d) for d in range(3)] + [
        date(2026, 10, 31) + timedelta(days=d) for d in range(3)
    ]:
        start, end = night_window(night, *window, LA)
        for config_id in range(1, 60):
            at = jittered_start(config_id, night, start, end)
            assert start <= at < start + (end - start) / 2
            assert (at - start) % timedelta(minutes=1) == timedelta(0)


def test_jittered_start_spreads_configs_across_the_window():
    night = date(2026, 11, 24)
    start, end = night_window(night, *DEFAULT, LA)
    minutes = {jittered_start(config_id, night, start, end) for config_id in range(1, 51)}
    # 50 configs over 180 possible minutes: about 44 distinct ones are expected.
    assert len(minutes) >= 30


def test_jittered_start_of_a_config_changes_from_night_to_night():
    starts = set()
    for day in range(30):
        night = date(2026, 11, 1) + timedelta(days=day)
        start, end = night_window(night, *DEFAULT, LA)
        starts.add(jittered_start(7, night, start, end) - start)
    assert len(starts) >= 15


def test_jittered_start_of_a_window_too_short_to_split_is_its_start():
    start = utc(2026, 11, 24, 9, 0)
    assert jittered_start(3, date(2026, 11, 24), start, start + timedelta(minutes=1)) == start
    assert jittered_start(3, date(2026, 11, 24), start, start) == start


# ---------------------------------------------------------------- due_night


def test_due_night_from_the_jittered_minute_until_the_window_closes():
    night = date(2026, 11, 24)
    start, end = night_window(night, *DEFAULT, LA)
    at = jittered_start(5, night, start, end)
    due = {"config_id": 5, "start": DEFAULT[0], "end": DEFAULT[1], "tz": LA}
    assert due_night(start - timedelta(minutes=1), **due) is None
    assert due_night(at - timedelta(minutes=1), **due) is None
    assert due_night(at, **due) == night
    assert due_night(end - timedelta(minutes=1), **due) == night
    assert due_night(end, **due) is None


# ---------------------------------------------------------------- pre-flight


def test_preflight_due_only_in_the_hours_before_the_window():
    slot = {"start": DEFAULT[0], "end": DEFAULT[1], "tz": LA, "hours_before": 3}
    night = date(2026, 11, 24)
    assert preflight_due(utc(2026, 11, 25, 3, 59), **slot) is None  # 19:59 PST
    assert preflight_due(utc(2026, 11, 25, 4, 0), **slot) == night  # 20:00 PST
    assert preflight_due(utc(2026, 11, 25, 6, 59), **slot) == night  # 22:59 PST
    assert preflight_due(utc(2026, 11, 25, 7, 0), **slot) is None  # 23:00: the window
    assert preflight_slot(night, *DEFAULT, LA, 3) == (utc(2026, 11, 25, 4, 0), utc(2026, 11, 25, 7))


def test_preflight_due_for_a_window_after_midnight_opens_the_evening_before():
    slot = {"start": time(0, 30), "end": time(4, 0), "tz": LA, "hours_before": 3}
    # 22:00 PST on the 24th: the night of the 25th opens at 00:30.
    assert preflight_due(utc(2026, 11, 25, 6, 0), **slot) == date(2026, 11, 25)


def test_preflight_due_follows_the_window_across_spring_forward():
    slot = {"start": EARLY[0], "end": EARLY[1], "tz": LA, "hours_before": 1.5}
    # The window of 2026-03-08 opens at 01:00 PST (09:00 UTC): the slot is 07:30-09:00.
    assert preflight_due(utc(2026, 3, 8, 7, 29), **slot) is None
    assert preflight_due(utc(2026, 3, 8, 7, 30), **slot) == date(2026, 3, 8)
    assert preflight_due(utc(2026, 3, 8, 9, 0), **slot) is None


def test_preflight_due_never_with_no_hours_before():
    slot = {"start": DEFAULT[0], "end": DEFAULT[1], "tz": LA, "hours_before": 0}
    assert preflight_due(utc(2026, 11, 25, 6, 59), **slot) is None
