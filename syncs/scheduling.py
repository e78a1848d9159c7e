"""The nightly window in time: when a config's night opens and closes, its jittered start
minute, and its pre-flight slot. Pure functions of the clock (no database, no settings).

A *night* is the local date on which a config's window opens: the default window
23:00–05:00 of night 2026-11-24 ends at 05:00 on the 25th. A window whose end is not
after its start crosses midnight.

Daylight saving time. A local time is read as the first instant at which the wall clock
shows it or has passed it:

- a time the clock skips (spring forward, 02:30 on 2026-03-08 in Los Angeles) is the
  instant the clock jumps to 03:00 PDT: the window opens (or closes) as soon as the
  clock has passed its time;
- a time the clock shows twice (fall back, 01:30 on 2026-11-01) is its first
  occurrence (01:30 PDT), so the window opens when the clock first reads 01:30 and a
  window is never opened twice in one night.

Each window bound is therefore one unique UTC instant, and the window is that night's
wall-clock span: 01:00–04:00 lasts two hours on the spring-forward night and four on the
fall-back night. A window lying wholly inside the skipped hour (02:10–02:50) is empty on
the spring-forward night: the clock never shows it, and that night has no run.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo


class Window(NamedTuple):
    """One night's window: the night (local date it opens) and its bounds in UTC."""

    night: date
    start: datetime
    end: datetime


def local_instant(day: date, at: time, tz: str) -> datetime:
    """The UTC instant the wall clock in `tz` first shows `at` on `day` (or passes it,
    when daylight saving time skips it)."""
    zone = ZoneInfo(tz)
    wall = datetime.combine(day, at.replace(tzinfo=None))
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        # An existing time. For a repeated one, fold=0 is the earlier occurrence.
        return first
    # A skipped time. fold=0 read it with the offset before the jump (an instant after
    # the jump) and fold=1 with the offset after it (an instant before the jump); the
    # jump lies between them. Bisect for the first whole second whose wall time is at
    # or after `wall`: the moment the clock jumps over it.
    low = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    high = int(first.timestamp()) + 1
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def night_window(night: date, start: time, end: time, tz: str) -> tuple[datetime, datetime]:
    """The window of `night` in UTC: (start, end). It ends on the next day when `end` is
    not after `start`. Both bounds follow the daylight saving rule of the module."""
    end_day = night + timedelta(days=1) if end <= start else night
    return local_instant(night, start, tz), local_instant(end_day, end, tz)


def window_containing(now_utc: datetime, start: time, end: time, tz: str) -> Window | None:
    """The window `now_utc` falls in (start inclusive, end exclusive), if any.

    Only the night of the local date and the night before can contain it: a window is
    shorter than a day, and a night's window opens on its own date.
    """
    today = now_utc.astimezone(ZoneInfo(tz)).date()
    for night in (today, today - timedelta(days=1)):
        opens, closes = night_window(night, start, end, tz)
        if opens <= now_utc < closes:
            return Window(night, opens, closes)
    return None


def jittered_start(config_id: int, night: date, start_utc: datetime, end_utc: datetime) -> datetime:
    """The minute a config's night starts: fixed for (config, night), spread across
    configs so that districts do not all start at once, and in the first half of the
    window so that a sync has the second half to finish.

    The hash is SHA-256 of the config id and the night, not Python's `hash()`, which is
    salted per process: every worker and every tick must agree on the minute.
    """
    half_minutes = int((end_utc - start_utc).total_seconds() // 60) // 2
    if half_minutes <= 0:
        return start_utc
    digest = hashlib.sha256(f"rollcall-night:{config_id}:{night.isoformat()}".encode()).digest()
    return start_utc + timedelta(minutes=int.from_bytes(digest[:8], "big") % half_minutes)


def due_night(now_utc: datetime, *, config_id: int, start: time, end: time, tz: str) -> date | None:
    """The night to queue at `now_utc`: from the config's jittered minute until its
    window closes. None outside that span."""
    window = window_containing(now_utc, start, end, tz)
    if window is None:
        return None
    if jittered_start(config_id, window.night, window.start, window.end) <= now_utc:
        return window.night
    return None


def preflight_slot(
    night: date, start: time, end: time, tz: str, hours_before: float
) -> tuple[datetime, datetime]:
    """The span, in UTC, in which the night's pre-flight check is due: from
    `hours_before` hours before its window opens until it opens."""
    opens, _closes = night_window(night, start, end, tz)
    return opens - timedelta(hours=hours_before), opens


def preflight_due(
    now_utc: datetime, *, start: time, end: time, tz: str, hours_before: float
) -> date | None:
    """The night whose pre-flight slot `now_utc` falls in (start inclusive, end
    exclusive), or None. A slot can open on the evening before its night's date (a
    window at 00:30), so the local date's neighbours are looked at too; when slots
    overlap (more than a day before), the night that opens first is due."""
    if hours_before <= 0:
        return None
    today = now_utc.astimezone(ZoneInfo(tz)).date()
    for night in (today - timedelta(days=1), today, today + timedelta(days=1)):
        slot_start, slot_end = preflight_slot(night, start, end, tz, hours_before)
        if slot_start <= now_utc < slot_end:
            return night
    return None
