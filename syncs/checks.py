"""System checks: refuse worker settings that would run a sync twice or replay nights."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Warning, register

DOCS = "See README.md, 'Configure' and 'The worker, schedules and health'."


def q_cluster_problems(conf: dict, caches: dict | None = None) -> list:
    """What is unsafe about a Q_CLUSTER dict, as check messages (pure, for tests)."""
    if conf.get("sync"):
        return []  # tasks run inline (tests): no delivery, no re-delivery
    return _timing_problems(conf) + _delivery_problems(conf, caches)


def _timing_problems(conf: dict) -> list:
    """`timeout` and `retry`: a running sync must never be handed to a second worker."""
    problems: list = []
    timeout, retry = conf.get("timeout"), conf.get("retry", 60)
    workers = conf.get("workers") or 1
    queue_limit = conf.get("queue_limit") or workers**2
    if not timeout:
        problems.append(
            Error(
                "Q_CLUSTER has no 'timeout': a hung sync would hold its worker forever.",
                hint="Set ROLLCALL_TASK_TIMEOUT well above the longest sync (default "
                "1800 s). " + DOCS,
                id="rollcall.E001",
            )
        )
    elif retry is None or retry <= timeout:
        problems.append(
            Error(
                f"Q_CLUSTER 'retry' ({retry}) is not above 'timeout' ({timeout}): the broker "
                "would hand a sync that is still running to a second worker.",
                hint="Set ROLLCALL_TASK_RETRY above ROLLCALL_TASK_TIMEOUT × (1 + 2 / "
                "ROLLCALL_WORKERS) (2 is the cluster's queue_limit). " + DOCS,
                id="rollcall.E002",
            )
        )
    elif retry <= timeout * (1 + queue_limit / workers):
        problems.append(
            Warning(
                f"Q_CLUSTER 'retry' ({retry}) does not cover a task's time in the cluster's "
                f"own queue: timeout × (1 + queue_limit / workers) = "
                f"{timeout * (1 + queue_limit / workers):g}.",
                hint="Raise ROLLCALL_TASK_RETRY (fewer workers need a longer retry). " + DOCS,
                id="rollcall.W001",
            )
        )
    return problems


def _delivery_problems(conf: dict, caches: dict | None) -> list:
    """Bounded attempts, no replayed nights, a broker with receipts, a shared cache."""
    problems: list = []
    attempts = conf.get("max_attempts", 0)
    if not attempts or attempts < 0:
        problems.append(
            Error(
                "Q_CLUSTER 'max_attempts' is unbounded: a task that keeps failing would be "
                "delivered forever.",
                hint="Set 'max_attempts' to a small number such as 3. " + DOCS,
                id="rollcall.E003",
            )
        )
    if conf.get("catch_up", True):
        problems.append(
            Error(
                "Q_CLUSTER 'catch_up' is on: after downtime the scheduler would replay every "
                "missed dispatcher and reaper run at once.",
                hint="Set 'catch_up': False. " + DOCS,
                id="rollcall.E004",
            )
        )
    if "redis" in conf or "django_redis" in conf:
        problems.append(
            Warning(
                "Q_CLUSTER uses Redis as the broker: Redis has no delivery receipts, so a "
                "sync running when a worker dies is lost instead of re-delivered.",
                hint="Use the ORM broker ('orm': 'default'); keep Redis as the cache. " + DOCS,
                id="rollcall.W002",
            )
        )
    backend = ((caches or {}).get(conf.get("cache", "default")) or {}).get("BACKEND", "")
    if backend.endswith(("locmem.LocMemCache", "dummy.DummyCache")):
        problems.append(
            Warning(
                "The cache is private to each process, so /readyz cannot see the worker.",
                hint="Use the file cache (the default) or REDIS_URL.",
                id="rollcall.W003",
            )
        )
    return problems


@register("rollcall")
def check_q_cluster(app_configs=None, **kwargs) -> list:
    return q_cluster_problems(getattr(settings, "Q_CLUSTER", {}), settings.CACHES)
