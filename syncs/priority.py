"""Syncs yield the CPU to people. A sync is a batch job with a window of hours; a district
admin waiting on the sync tab, or a script polling a run, wants an answer now. When the
web and the worker share a machine (`make run` does, and so do small installs), a sync
at the same CPU priority as the web takes a core or more and every request queues
behind it. So the worker process runs syncs at a higher nice value,
ROLLCALL_WORKER_NICE (10 by default, 0 to keep the priority it was started with): it
still gets every cycle the web leaves idle, which at 3 a.m. is nearly all of them.

A nice value only counts within one scheduling group (a session under Linux's
autogroup, or a cgroup): `serve` keeps both in its session; two systemd services need
CPUWeight= on the worker's unit instead (README, Operate)."""

from __future__ import annotations

import logging
import os

from django.conf import settings

logger = logging.getLogger(__name__)


def lower_cpu_priority(niceness: int | None = None) -> int:
    """Raise this process's nice value to `niceness` (the setting by default) when it is
    lower, and return the value in effect. Never lowers it: a process may only yield,
    and an operator who started the worker nicer still has their way. On Linux the value
    belongs to the calling thread, and threads it starts later (the run's heartbeat)
    inherit it: call this first."""
    wanted = settings.ROLLCALL["WORKER_NICE"] if niceness is None else niceness
    current = os.getpriority(os.PRIO_PROCESS, 0)
    if wanted == 0 or wanted <= current:  # 0: as started, even at a negative nice value
        return current
    try:
        os.setpriority(os.PRIO_PROCESS, 0, min(wanted, 19))
    except OSError as exc:  # a sandbox that forbids it: run as we are, and say why
        logger.warning("Could not lower the sync's CPU priority to nice %s: %s", wanted, exc)
        return current
    return os.getpriority(os.PRIO_PROCESS, 0)
