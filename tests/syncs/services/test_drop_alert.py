"""The watch on the database: a school whose active count falls sharply below the median
of its last applied runs, while staying under the deletion threshold, raises a
`school_drop` alert on that school, and a nearly empty run never reads as a plain
success."""

from __future__ import annotations

from decimal import Decimal

from notify.models import Event, EventKind
from notify.services.events import run_finished
from syncs.explanations import explain_run, run_status
from syncs.models import RunStatus, SchoolSummary, SyncRun
from syncs.selectors import run_issue_queryset
from tests.builders import District, big_district


def two_schools(lincoln: int, north: int = 30) -> District:
    """Lincoln (0004) with `lincoln` students and North (0001) with `north`."""
    d = District().school("0004", "Lincoln").school("0001", "North")
    d.teacher("t4", "0004").teacher("t1", "0001")
    for sid, school, n in (("b", "0004", lincoln), ("a", "0001", north)):
        ids = tuple(f"{sid}{k:03d}" for k in range(n))
        for student in ids:
            d.student(student, school)
        d.klass(f"c{school}", school, f"Homeroom {school}", teacher=f"t{school[-1]}", students=ids)
    return d


def seed_history(config, runs: int, lincoln: int, north: int = 30) -> None:
    """Applied runs from before: what each left active per school."""
    for _ in range(runs):
        run = SyncRun.objects.create(config=config, status=RunStatus.SUCCEEDED)
        SchoolSummary.objects.create(
            run=run, sis_id="0004", status=RunStatus.SUCCEEDED, active={"students": lincoln}
        )
        SchoolSummary.objects.create(
            run=run, sis_id="0001", status=RunStatus.SUCCEEDED, active={"students": north}
        )


def test_watch_812_to_410_students_raises_school_drop_on_that_school_only(sync, config):
    seed_history(config, 6, lincoln=812)
    d = two_schools(812)
    assert sync(d, threshold=60).status == "succeeded"  # the 7th applied run
    assert SchoolSummary.objects.filter(run__in=SyncRun.objects.order_by("-pk")[:1]).get(
        sis_id="0004"
    ).active == {"students": 812, "teachers": 1, "classes": 1}
    gone = {f"b{k:03d}" for k in range(410, 812)}
    d.users = [u for u in d.users if u["sourcedId"] not in gone]
    d.enrollments = [e for e in d.enrollments if e["userSourcedId"] not in gone]
    run = sync(d, threshold=60)  # 402 of 812 leave: under 60%
    assert run.status == "succeeded", run.message
    drops = list(run_issue_queryset(run).filter(code="school_drop"))
    assert [(i.school_sis_id, i.severity, i.field) for i in drops] == [
        ("0004", "alert", "students")
    ]
    assert drops[0].message.startswith("School 0004 (Lincoln) students: 812 → 410 active")
    assert drops[0].hint
    assert run.diagnostics["drops"] == [
        {
            "school": "0004",
            "name": "Lincoln",
            "kind": "students",
            "usual": 812,
            "after": 410,
            "fell_by": 50,
        }
    ]
    assert SchoolSummary.objects.get(run=run, sis_id="0004").alerts == 1
    assert SchoolSummary.objects.get(run=run, sis_id="0001").alerts == 0
    # Never a plain success: the status line and the explanation say so.
    assert run_status(run) == "Synced with a sharp drop at 1 school"
    out = explain_run(run)
    assert out["headline"] == "Synced with a sharp drop at 1 school"
    assert out["evidence"][0]["text"] == (
        "School 0004 (Lincoln) students: 812 → 410 active (50% below its usual count)."
    )
    assert out["help_url"] == "/help/school-drop/"
    # Notifications already listen for school_drop alerts.
    run_finished(run.pk)
    event = Event.objects.get(kind=EventKind.SCHOOL_DROP, run_id=run.pk)
    assert event.data["schools"][0]["sis_id"] == "0004"


def test_watch_a_drop_within_the_alert_percent_is_quiet(sync, config):
    seed_history(config, 6, lincoln=40)
    d = two_schools(40)
    sync(d, threshold=60)
    d.drop_user("b000").drop_user("b001").drop_user("b002")  # 3 of 40: 7.5%
    run = sync(d, threshold=60)
    assert run.status == "succeeded" and "drops" not in run.diagnostics
    assert not run_issue_queryset(run).filter(code="school_drop").exists()


def test_watch_the_alert_percent_is_the_configs(sync, config):
    config.drop_alert_percent = Decimal("5")
    config.save()
    d = two_schools(40)
    sync(d, threshold=60)
    d.drop_user("b000").drop_user("b001").drop_user("b002")
    run = sync(d, threshold=60)
    assert [d["kind"] for d in run.diagnostics["drops"]] == ["students"]


def test_watch_a_nearly_empty_users_csv_alerts_even_with_every_limit_off(sync, config):
    config.drop_alert_percent = Decimal("100")
    config.save()
    d = big_district(50)
    sync(d)
    for n in range(47):
        d.drop_user(f"s{n:04d}")
    run = sync(d, threshold=100)
    assert run.status == "succeeded"
    assert run.diagnostics["drops"][0]["fell_by"] == 94
    assert run_status(run) == "Synced with a sharp drop at 1 school"


def test_watch_a_held_school_raises_no_drop_alert(sync):
    d = two_schools(40, north=40)
    sync(d)
    lincoln = {u["sourcedId"] for u in d.users if u["sourcedId"].startswith("b")}
    d.users = [u for u in d.users if u["sourcedId"] not in lincoln]
    d.enrollments = [e for e in d.enrollments if e["userSourcedId"] not in lincoln]
    run = sync(d, threshold=10)  # Lincoln's students left users.csv: held (T6)
    assert [h["sis_id"] for h in run.diagnostics["held"]] == ["0004"]
    assert "drops" not in run.diagnostics
