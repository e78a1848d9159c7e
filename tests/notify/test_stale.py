"""Stale syncs on a fixed clock: a config silent past `stale_after_hours` is marked stale
and notified once per episode; paused and disabled configs never are."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from notify.models import ConfigWatch, Event, EventKind, Notification
from notify.selectors import config_health
from notify.services.stale import configs_check_stale
from syncs.models import RunStatus, SyncConfig
from tests.helpers import NOW
from tests.notify.conftest import finished_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def check(django_capture_on_commit_callbacks):
    def run(now):
        with django_capture_on_commit_callbacks(execute=True):
            return configs_check_stale(now=now)

    return run


@pytest.fixture
def alpha(listeners):
    """Alpha's config, created long ago, last synced successfully at NOW (Beta's is
    disabled, so only Alpha's can go stale)."""
    SyncConfig.objects.filter(pk=listeners.config.pk).update(created_at=NOW - timedelta(days=30))
    SyncConfig.objects.filter(pk=listeners.other_config.pk).update(enabled=False)
    finished_run(listeners.config, NOW, status=RunStatus.SUCCEEDED)
    return SyncConfig.objects.get(pk=listeners.config.pk)


def test_stale_after_37_silent_hours_once_and_notifies_once(smtp, listeners, alpha, check):
    assert check(NOW + timedelta(hours=35))["notified"] == []
    assert check(NOW + timedelta(hours=37))["notified"] == [alpha.pk]
    assert check(NOW + timedelta(hours=37, minutes=30))["notified"] == []  # same episode
    assert check(NOW + timedelta(hours=60))["notified"] == []
    assert Event.objects.filter(kind=EventKind.SYNC_STALE).count() == 1
    assert smtp.recipients == sorted([listeners.admin.email, listeners.watcher.email])
    (message,) = smtp.to(listeners.admin.email)
    assert "no successful sync for 37 hours" in message["Subject"]
    watch = ConfigWatch.objects.get(config=alpha)
    assert watch.stale_since == NOW + timedelta(hours=36)
    assert watch.stale_notified_at == NOW + timedelta(hours=37)


def test_stale_health_reads_stale_with_hours_silent(listeners, alpha):
    health = config_health(alpha, NOW + timedelta(hours=37))
    assert health["state"] == "stale"
    assert health["hours_silent"] == 37.0
    assert health["since"] == NOW + timedelta(hours=36)
    assert health["last_success_at"] == NOW
    assert config_health(alpha, NOW + timedelta(hours=2))["state"] == "ok"


def test_stale_episode_ends_with_a_success_and_a_new_one_notifies_again(
    smtp, listeners, alpha, check
):
    check(NOW + timedelta(hours=37))
    finished_run(alpha, NOW + timedelta(hours=40), status=RunStatus.SUCCEEDED)
    assert check(NOW + timedelta(hours=41))["recovered"] == [alpha.pk]
    assert ConfigWatch.objects.get(config=alpha).stale_since is None
    assert check(NOW + timedelta(hours=40 + 37))["notified"] == [alpha.pk]
    assert len(smtp.to(listeners.admin.email)) == 2


def test_stale_failed_runs_do_not_count_as_syncing(smtp, listeners, alpha, check):
    finished_run(alpha, NOW + timedelta(hours=24), reason="source_unavailable")
    finished_run(alpha, NOW + timedelta(hours=30), status=RunStatus.SUCCEEDED, dry_run=True)
    assert check(NOW + timedelta(hours=37))["notified"] == [alpha.pk]


def test_stale_never_while_paused(smtp, listeners, alpha, check):
    """Summer: paused from June to August (the config's dates), silent for weeks."""
    ConfigWatch.objects.create(
        config=alpha, paused_from=date(2026, 11, 20), paused_until=date(2026, 12, 31)
    )
    for hours in (37, 24 * 10, 24 * 30):
        assert check(NOW + timedelta(hours=hours))["notified"] == []
    assert config_health(alpha, NOW + timedelta(days=10))["state"] == "paused"
    assert not Notification.objects.exists() and smtp.messages == []


def test_stale_clock_restarts_when_a_pause_ends(smtp, listeners, alpha, check):
    ConfigWatch.objects.create(
        config=alpha, paused_from=date(2026, 11, 24), paused_until=date(2026, 12, 31)
    )
    # 2027-01-01 12:00 in Los Angeles: 12 hours after the pause ended.
    first_day = NOW + timedelta(days=38, hours=17)
    assert config_health(alpha, first_day)["state"] == "ok"
    assert check(first_day)["notified"] == []
    assert check(first_day + timedelta(hours=30))["notified"] == [alpha.pk]


def test_stale_never_while_disabled(smtp, listeners, alpha, check):
    SyncConfig.objects.filter(pk=alpha.pk).update(enabled=False)
    assert check(NOW + timedelta(days=5))["notified"] == []
    alpha.refresh_from_db()
    assert config_health(alpha, NOW + timedelta(days=5))["state"] == "disabled"
    assert smtp.messages == []


def test_stale_after_hours_is_per_config(smtp, listeners, alpha, check):
    ConfigWatch.objects.create(config=alpha, stale_after_hours=72)
    assert check(NOW + timedelta(hours=60))["notified"] == []
    assert check(NOW + timedelta(hours=73))["notified"] == [alpha.pk]


def test_stale_check_runs_a_fixed_number_of_queries(
    listeners, alpha, django_assert_max_num_queries
):
    for n in range(10):
        SyncConfig.objects.create(
            organization=listeners.org, name=f"Extra {n}", source_kind="upload"
        )
    configs_check_stale(now=NOW + timedelta(hours=1))  # nothing stale: reads only
    with django_assert_max_num_queries(2):
        configs_check_stale(now=NOW + timedelta(hours=2))
