"""Probes for load balancers and orchestrators: /healthz (liveness), /readyz (readiness).

Both are public, so a failed check reports the exception's class only; the message, which
may name hosts, goes to the log.
"""

import logging
import uuid
from collections.abc import Callable

from django.core.cache import cache
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET
from django_q.brokers import Broker, get_broker
from django_q.conf import Conf
from django_q.status import Stat

logger = logging.getLogger(__name__)

Check = Callable[[], dict]


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process answers: no database, no cache, nothing that can block."""
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """200 when the database, the cache and a worker cluster all answer, else 503."""
    checks = {name: _run(name, check) for name, check in READY_CHECKS.items()}
    ready = all(result["ok"] for result in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )


def check_database() -> dict:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"ok": True}


def check_cache() -> dict:
    key = f"rollcall:readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=10)
    try:
        if cache.get(key) != "1":
            return {"ok": False, "error": "a value just written could not be read back"}
    finally:
        cache.delete(key)
    return {"ok": True}


def check_worker() -> dict:
    # Each cluster saves its Stat to the cache every 0.5 s with a 3 s expiry, so the
    # clusters listed are the ones seen in the last few seconds.
    stats = Stat.get_all(broker=_stats_broker())
    statuses = sorted(str(stat.status) for stat in stats)
    running = [s for s in statuses if s in (str(Conf.IDLE), str(Conf.WORKING))]
    result = {"ok": bool(running), "clusters": len(statuses), "statuses": statuses}
    if not statuses:
        result["error"] = "no worker cluster seen in the last few seconds"
    elif not running:
        result["error"] = "no worker cluster is Idle or Working"
    return result


def _stats_broker() -> Broker:
    # The ORM broker opens a database connection when it is built, but reads cluster
    # stats from the cache with the base class's methods: use those, so a database
    # outage is reported by the database check alone.
    if Conf.ORM and not Conf.BROKER_CLASS:
        return Broker(list_key=Conf.CLUSTER_NAME)
    return get_broker()


READY_CHECKS: dict[str, Check] = {
    "database": check_database,
    "cache": check_cache,
    "worker": check_worker,
}


def _run(name: str, check: Check) -> dict:
    try:
        return check()
    except Exception as exc:  # noqa: BLE001 - a probe reports every failure, never raises
        logger.warning("readyz: %s check failed: %s: %s", name, type(exc).__name__, exc)
        return {"ok": False, "error": f"{type(exc).__name__} (details in the server log)"}
