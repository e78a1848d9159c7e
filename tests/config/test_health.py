"""/healthz answers without any I/O; /readyz names each check that fails."""

from queue import Queue
from types import SimpleNamespace
from unittest import mock

import pytest
from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache
from django.db import OperationalError, connections
from django.utils import timezone
from django_q.conf import Conf
from django_q.status import Stat

SECRET = "hunter2-not-for-probes"


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def _cluster_reports(status: str) -> None:
    """Save a cluster's Stat to the cache as a running qcluster's sentinel does."""
    sentinel = SimpleNamespace(
        parent_pid=4321,
        pid=4322,
        cluster_id="c0ffee",
        broker=None,
        tob=timezone.now(),
        reincarnations=0,
        status=lambda: status,
        task_queue=Queue(),
        result_queue=Queue(),
        monitor=None,
        pusher=None,
        pool=[],
    )
    Stat(sentinel).save()


def test_healthz_touches_neither_database_nor_cache(client):
    # Without the db fixture, pytest-django makes any database access raise.
    with (
        mock.patch.object(LocMemCache, "get", side_effect=AssertionError("cache read")),
        mock.patch.object(LocMemCache, "set", side_effect=AssertionError("cache write")),
    ):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_healthz_and_readyz_answer_get_only(client):
    assert client.post("/healthz").status_code == 405
    assert client.post("/readyz").status_code == 405


@pytest.mark.django_db
def test_readyz_is_unavailable_when_no_worker_cluster_is_seen(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["cache"] == {"ok": True}
    assert body["checks"]["worker"] == {
        "ok": False,
        "clusters": 0,
        "statuses": [],
        "error": "no worker cluster seen in the last few seconds",
    }


@pytest.mark.django_db
def test_readyz_is_ready_when_an_idle_cluster_reports(client):
    _cluster_reports(Conf.IDLE)
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "status": "ok",
        "checks": {
            "database": {"ok": True},
            "cache": {"ok": True},
            "worker": {"ok": True, "clusters": 1, "statuses": ["Idle"]},
        },
    }


@pytest.mark.django_db
def test_readyz_is_unavailable_while_the_only_cluster_stops(client):
    _cluster_reports(Conf.STOPPING)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"] == {
        "ok": False,
        "clusters": 1,
        "statuses": ["Stopping"],
        "error": "no worker cluster is Idle or Working",
    }


@pytest.mark.django_db
def test_readyz_names_the_database_without_its_message(client):
    _cluster_reports(Conf.WORKING)
    error = OperationalError(f'password authentication failed: "postgres://u:{SECRET}@db/x"')
    with mock.patch.object(connections["default"], "cursor", side_effect=error):
        response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"] == {
        "ok": False,
        "error": "OperationalError (details in the server log)",
    }
    assert checks["cache"]["ok"] and checks["worker"]["ok"]
    assert SECRET not in response.content.decode()
    assert "Traceback" not in response.content.decode()


@pytest.mark.django_db
def test_readyz_names_the_cache_when_it_raises(client):
    error = ConnectionError(f"Error connecting to redis://:{SECRET}@cache:6379")
    with (
        mock.patch.object(LocMemCache, "get", side_effect=error),
        mock.patch.object(LocMemCache, "set", side_effect=error),
    ):
        response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"] == {"ok": True}
    assert checks["cache"] == {"ok": False, "error": "ConnectionError (details in the server log)"}
    assert checks["worker"]["ok"] is False  # its stats live in the same cache
    assert SECRET not in response.content.decode()


@pytest.mark.django_db
def test_readyz_says_when_the_cache_loses_what_it_was_given(client):
    with mock.patch.object(LocMemCache, "get", return_value=None):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["cache"] == {
        "ok": False,
        "error": "a value just written could not be read back",
    }
