"""`manage.py setup_schedules`: the schedules that run the dispatcher, the reaper and the
pre-flight, set up idempotently at deploy."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils.module_loading import import_string
from django_q.models import Schedule

from syncs.services.schedules import SCHEDULES
from tests.helpers import utc


def setup_schedules(*args: str) -> str:
    out = StringIO()
    call_command("setup_schedules", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_setup_schedules_twice_leaves_exactly_the_listed_schedules_and_keeps_next_run():
    Schedule.objects.create(name="rollcall: old task", func="syncs.tasks.gone")
    Schedule.objects.create(name="someone else's", func="other.task")
    first = setup_schedules()
    assert "rollcall: dispatch nightly syncs: created" in first
    assert "rollcall: old task: removed" in first

    later = utc(2030, 1, 1, 12, 0)
    Schedule.objects.filter(name__startswith="rollcall:").update(next_run=later)
    second = setup_schedules()
    assert second.count(": unchanged") == len(SCHEDULES)

    ours = Schedule.objects.filter(name__startswith="rollcall:")
    assert {s.name for s in ours} == set(SCHEDULES)
    assert {(s.name, s.func, s.schedule_type, s.minutes, s.repeats) for s in ours} >= {
        ("rollcall: dispatch nightly syncs", "syncs.tasks.dispatch_nightly_syncs", "I", 1, -1),
        ("rollcall: reap stale runs", "syncs.tasks.reap_stale_runs", "I", 1, -1),
        ("rollcall: pre-flight checks", "syncs.tasks.preflight_checks", "I", 15, -1),
        ("rollcall: prune history", "syncs.tasks.prune_history", "I", 24 * 60, -1),
    }
    assert {s.next_run for s in ours} == {later}
    assert all(callable(import_string(s.func)) for s in ours)
    assert Schedule.objects.filter(name="someone else's").exists()


@pytest.mark.django_db
def test_setup_schedules_updates_a_changed_schedule_keeping_its_next_run_and_drops_duplicates():
    setup_schedules()
    later = utc(2030, 1, 1, 12, 0)
    Schedule.objects.filter(name="rollcall: pre-flight checks").update(minutes=60, next_run=later)
    Schedule.objects.create(name="rollcall: reap stale runs", func="syncs.tasks.reap_stale_runs")
    outcome = json.loads(setup_schedules("--json"))["schedules"]
    assert outcome == {
        **{name: "unchanged" for name in SCHEDULES},
        "rollcall: reap stale runs": "updated",
        "rollcall: pre-flight checks": "updated",
    }
    preflight_schedule = Schedule.objects.get(name="rollcall: pre-flight checks")
    assert (preflight_schedule.minutes, preflight_schedule.next_run) == (15, later)
    assert Schedule.objects.filter(name__startswith="rollcall:").count() == len(SCHEDULES)
