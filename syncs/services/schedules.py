"""The worker's schedules (django-q2 `Schedule` rows), kept in code.

Idempotent: each schedule is found by its name, so running this at every deploy (and
from `make run`) never duplicates one. A schedule already waiting keeps its `next_run`.
Schedules named "rollcall: ..." that are no longer listed here are removed.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule

PREFIX = "rollcall:"
# name -> (task, every N minutes). The nightly window and the pre-flight slot are decided
# inside the tasks (syncs.services.nightly); the schedules only wake them up.
SCHEDULES = {
    "rollcall: dispatch nightly syncs": ("syncs.tasks.dispatch_nightly_syncs", 1),
    "rollcall: reap stale runs": ("syncs.tasks.reap_stale_runs", 1),
    "rollcall: pre-flight checks": ("syncs.tasks.preflight_checks", 15),
    "rollcall: stale-sync check": ("notify.tasks.check_stale", 30),
    "rollcall: notifications due": ("notify.tasks.send_due", 1),
    "rollcall: prune history": ("syncs.tasks.prune_history", 24 * 60),
}


def schedules_setup() -> dict[str, str]:
    """Bring the "rollcall:" schedules in line with SCHEDULES. Returns name -> what was
    done: created, updated, unchanged or removed."""
    now = timezone.now()
    outcome: dict[str, str] = {}
    with transaction.atomic():
        for name, (func, minutes) in SCHEDULES.items():
            wanted = {
                "func": func,
                "schedule_type": Schedule.MINUTES,
                "minutes": minutes,
                "repeats": -1,
                "args": None,
                "kwargs": None,
                "hook": None,
                "cluster": None,
                "intended_date_kwarg": None,
            }
            # One row per name: duplicates made by hand (update_or_create would refuse
            # them with MultipleObjectsReturned) are dropped, the oldest kept.
            rows = list(Schedule.objects.select_for_update().filter(name=name).order_by("pk"))
            for extra in rows[1:]:
                extra.delete()
            current = rows[0] if rows else None
            stale = current is not None and (
                current.next_run is None or any(getattr(current, k) != v for k, v in wanted.items())
            )
            if current is not None and not stale and len(rows) == 1:
                outcome[name] = "unchanged"
                continue
            defaults = dict(wanted)
            if current is None or current.next_run is None:
                defaults["next_run"] = now  # a waiting next_run is kept
            _schedule, created = Schedule.objects.update_or_create(
                name=name, defaults=defaults, create_defaults={**wanted, "next_run": now}
            )
            outcome[name] = "created" if created else "updated"
        obsolete = Schedule.objects.filter(name__startswith=PREFIX).exclude(name__in=SCHEDULES)
        for name in obsolete.values_list("name", flat=True):
            outcome[name] = "removed"
        obsolete.delete()
    return outcome
