"""The worker settings check (issue #6): settings that would run a sync twice, hang a
worker forever or replay missed nights are refused at start-up."""

from __future__ import annotations

from django.conf import settings

from syncs.checks import q_cluster_problems

SAFE = {
    "orm": "default",
    "workers": 2,
    "queue_limit": 2,
    "timeout": 1800,
    "retry": 3900,
    "max_attempts": 3,
    "catch_up": False,
}
SHARED = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache"}}


def ids(conf, caches=SHARED):
    return [m.id for m in q_cluster_problems(conf, caches)]


def test_the_shipped_worker_settings_pass():
    shipped = {k: v for k, v in settings.Q_CLUSTER.items() if k != "sync"}
    assert ids(shipped) == []


def test_retry_not_above_timeout_is_refused():
    assert ids({**SAFE, "retry": 1800}) == ["rollcall.E002"]
    assert ids({**SAFE, "retry": 60}) == ["rollcall.E002"]


def test_retry_that_ignores_the_time_in_the_clusters_queue_is_warned():
    assert ids({**SAFE, "retry": 3000}) == ["rollcall.W001"]


def test_no_timeout_is_refused():
    assert ids({**SAFE, "timeout": None}) == ["rollcall.E001"]


def test_unbounded_attempts_are_refused():
    assert ids({**SAFE, "max_attempts": 0}) == ["rollcall.E003"]
    assert ids({k: v for k, v in SAFE.items() if k != "max_attempts"}) == ["rollcall.E003"]


def test_catch_up_is_refused_and_is_on_unless_turned_off():
    assert ids({**SAFE, "catch_up": True}) == ["rollcall.E004"]
    assert ids({k: v for k, v in SAFE.items() if k != "catch_up"}) == ["rollcall.E004"]


def test_redis_broker_and_a_private_cache_are_warned():
    conf = {k: v for k, v in SAFE.items() if k != "orm"} | {"redis": "redis://127.0.0.1"}
    assert ids(conf) == ["rollcall.W002"]
    locmem = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert ids(SAFE, locmem) == ["rollcall.W003"]


def test_sync_mode_has_no_delivery_to_check():
    assert ids({"sync": True, "retry": 1}) == []


def test_manage_py_check_reports_unsafe_settings(settings):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    settings.Q_CLUSTER = {**SAFE, "retry": 100}
    try:
        call_command("check")
    except SystemCheckError as exc:
        assert "rollcall.E002" in str(exc)
    else:
        raise AssertionError("manage.py check accepted retry below timeout")
