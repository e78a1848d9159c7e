"""Handing work to the worker: a django-q2 task by dotted path, once the transaction
that made its rows has committed. A task that cannot be queued is only logged: the
schedule sweeps up what is left pending (notify.tasks.send_due)."""

from __future__ import annotations

import logging

from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue(func: str, *args: object, name: str) -> None:
    def send() -> None:
        from django_q.tasks import async_task  # type: ignore[import-untyped]

        try:
            async_task(func, *args, task_name=name, group="notify")
        except Exception:  # noqa: BLE001 - left pending, the sweeping schedule sends it
            logger.exception("%s could not be queued; the next sweep will send it", name)

    transaction.on_commit(send)
