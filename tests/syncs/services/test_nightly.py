"""The nightly dispatcher (syncs.services.nightly): each config queued once a night,
inside its window, across daylight saving time.

The dispatcher is fed a fixed clock, stepped minute by minute. Runs it queues are not
executed (their on-commit enqueue never fires inside the test transaction); the test
marks them finished between ticks, so the one-active-run rule cannot hide a second
queueing of the same night.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

import pytest
from cryptography.fernet import Fernet
from django.test import override_settings

from syncs import scheduling
from syncs.models import RunStatus, SourceKind, SyncConfig, SyncRun, Trigger
from syncs.services.nightly import sync_configs_dispatch
from tests.helpers import LA, MINUTE, local, make_config, utc


def step(start: datetime, end: datetime) -> list[tuple[int, date, datetime]]:
    """Tick the dispatcher each minute from `start` to `end`; (config, night, tick) of
    each run queued. Each run is marked succeeded right after the tick that queued it."""
    queued = []
    now = start
    while now < end:
        created = sync_configs_dispatch(now=now)
        if created:
            runs = SyncRun.objects.filter(pk__in=created)
            queued += [(c, night, now) for c, night in runs.values_list("config", "scheduled_for")]
            runs.update(status=RunStatus.SUCCEEDED)
        now += MINUTE
    return queued


def inside_wall_clock_window(now: datetime, start: time, end: time) -> date | None:
    """The night whose window the Los Angeles wall clock at `now` shows, read off the
    clock face alone (independently of syncs.scheduling)."""
    wall = now.astimezone(LA)
    clock = wall.time().replace(tzinfo=None)
    if end <= start:  # crosses midnight
        if clock >= start:
            return wall.date()
        if clock < end:
            return wall.date() - timedelta(days=1)
        return None
    return wall.date() if start <= clock < end else None


# ---------------------------------------------------------------- dispatcher


# Hand-computed UTC bounds of the DST nights' windows (PST = UTC-8, PDT = UTC-7).
DST_WINDOWS = {
    ("default", date(2026, 3, 7)): (utc(2026, 3, 8, 7), utc(2026, 3, 8, 12)),  # 5 h
    ("early", date(2026, 3, 8)): (utc(2026, 3, 8, 9), utc(2026, 3, 8, 11)),  # 2 h
    ("default", date(2026, 10, 31)): (utc(2026, 11, 1, 6), utc(2026, 11, 1, 13)),  # 7 h
    ("early", date(2026, 11, 1)): (utc(2026, 11, 1, 8), utc(2026, 11, 1, 12)),  # 4 h
}


@pytest.mark.parametrize(
    "first_day",
    [date(2026, 3, 6), date(2026, 10, 30)],
    ids=["spring-forward-2026-03-08", "fall-back-2026-11-01"],
)
def test_dispatch_queues_each_config_exactly_once_per_night_inside_its_window_across_dst(
    org, first_day
):
    windows = {"default": (time(23), time(5)), "early": (time(1), time(4))}
    configs = {
        label: make_config(org, label, window_start=start, window_end=end)
        for label, (start, end) in windows.items()
    }
    never = [
        make_config(org, "disabled", enabled=False),
        make_config(org, "disabled early", enabled=False, window_start=time(1), window_end=time(4)),
        make_config(org, "upload", source_kind=SourceKind.UPLOAD),
    ]

    # Three whole days, noon to noon, minute by minute, over the change.
    start = local(first_day.year, first_day.month, first_day.day, 12)
    last = first_day + timedelta(days=3)
    queued = step(start, local(last.year, last.month, last.day, 12))

    by_config = {
        label: [(n, t) for c, n, t in queued if c == cfg.pk] for label, cfg in configs.items()
    }
    days = [first_day + timedelta(days=d) for d in range(4)]
    expected = {"default": days[:3], "early": days[1:]}
    for label, runs in by_config.items():
        nights = [night for night, _tick in runs]
        assert sorted(nights) == expected[label], label  # each night once, none missed
        for night, tick in runs:
            assert inside_wall_clock_window(tick, *windows[label]) == night, (label, tick)
            if (label, night) in DST_WINDOWS:
                opens, closes = DST_WINDOWS[label, night]
                assert opens <= tick < closes, (label, night, tick)
    assert not SyncRun.objects.filter(config__in=never).exists()
    assert set(SyncRun.objects.values_list("trigger", flat=True)) == {Trigger.SCHEDULED}
    assert Counter(SyncRun.objects.values_list("config", "scheduled_for")).most_common(1)[0][1] == 1


def test_dispatch_never_queues_a_disabled_config(org):
    config = make_config(org, "off", enabled=False)
    closing = local(2026, 11, 25, 4, 59)  # the last minute of the window: always due
    assert sync_configs_dispatch(now=closing) == []
    assert not config.runs.exists()


def test_dispatch_never_queues_an_upload_config(org):
    config = make_config(org, "uploads", source_kind=SourceKind.UPLOAD)
    assert sync_configs_dispatch(now=local(2026, 11, 25, 4, 59)) == []
    assert not config.runs.exists()


def test_dispatch_a_config_with_an_active_manual_run_is_queued_later_in_the_window_once(org):
    config = make_config(org, "busy")
    night = date(2026, 11, 24)
    opens, closes = scheduling.night_window(night, time(23), time(5), "America/Los_Angeles")
    minute = scheduling.jittered_start(config.pk, night, opens, closes)
    manual = SyncRun.objects.create(config=config, status=RunStatus.RUNNING)

    # The manual run is still running at the config's minute and for 20 minutes after.
    assert step(opens, minute + 20 * MINUTE) == []
    assert set(config.runs.values_list("pk", flat=True)) == {manual.pk}

    SyncRun.objects.filter(pk=manual.pk).update(status=RunStatus.SUCCEEDED)
    queued = step(minute + 20 * MINUTE, closes + 60 * MINUTE)
    assert queued == [(config.pk, night, minute + 20 * MINUTE)]
    assert config.runs.filter(trigger=Trigger.SCHEDULED).count() == 1


def test_dispatch_a_night_whose_window_closed_while_a_run_was_active_is_not_queued_after(org):
    config = make_config(org, "busy all night")
    SyncRun.objects.create(config=config, status=RunStatus.RUNNING)
    assert step(local(2026, 11, 24, 22, 59), local(2026, 11, 25, 5, 0)) == []
    config.runs.update(status=RunStatus.SUCCEEDED)
    assert step(local(2026, 11, 25, 5, 0), local(2026, 11, 25, 8, 0)) == []


def test_dispatch_a_failed_scheduled_run_is_not_queued_again_that_night(org):
    config = make_config(org, "fails")
    queued = step(local(2026, 11, 24, 23, 0), local(2026, 11, 25, 2, 0))
    assert len(queued) == 1
    config.runs.update(status=RunStatus.FAILED)
    assert step(local(2026, 11, 25, 2, 0), local(2026, 11, 25, 5, 0)) == []


def test_dispatch_queries_do_not_grow_with_the_number_of_configs(org, django_assert_num_queries):
    for n in range(25):
        make_config(org, f"config {n}")
    with django_assert_num_queries(1):  # noon: nothing is due
        assert sync_configs_dispatch(now=local(2026, 11, 24, 12, 0)) == []
    closing = local(2026, 11, 25, 4, 59)
    queued = sync_configs_dispatch(now=closing)
    assert len(queued) == 25
    SyncRun.objects.update(status=RunStatus.SUCCEEDED)
    with django_assert_num_queries(2):  # every night served: the configs, then their runs
        assert sync_configs_dispatch(now=closing) == []


def test_dispatch_a_config_whose_secrets_cannot_be_decrypted_is_still_queued(org):
    sftp = make_config(org, "sftp", source_kind=SourceKind.SFTP, sftp_password="pw")
    with override_settings(FIELD_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
        queued = sync_configs_dispatch(now=local(2026, 11, 25, 4, 59))
    assert list(SyncRun.objects.filter(pk__in=queued).values_list("config", flat=True)) == [sftp.pk]


@pytest.mark.django_db
def test_a_config_with_an_invalid_time_zone_says_so_on_the_config_once(org, caplog):
    from syncs.services.nightly import sync_configs_dispatch

    broken = SyncConfig.objects.create(
        organization=org, name="Broken", source_kind="local_files", time_zone="Mars/Olympus"
    )
    now = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    assert sync_configs_dispatch(now=now) == []
    broken.refresh_from_db()
    assert broken.preflight_ok is False
    assert "time zone 'Mars/Olympus'" in broken.preflight_message
    caplog.clear()
    sync_configs_dispatch(now=now)  # the next tick: nothing new to say
    assert not [r for r in caplog.records if "cannot be scheduled" in r.getMessage()]
