"""Evidence that lasts (issue 12): every run's issues stay readable, a night that repeats
the night before adds no rows, what is new is said once, and old history is pruned."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

import pytest
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from devtools.generator import generate_district
from syncs import tasks
from syncs.models import Issue, PlannedArchive, SchoolSummary, SyncConfig, SyncRun
from syncs.pipeline import report
from syncs.selectors import issue_rows, run_issue_queryset, run_report
from syncs.services import sync_run_create, sync_run_execute
from syncs.services.history import history_prune
from syncs.services.schedules import SCHEDULES
from tests.builders import District, small_district
from tests.helpers import NOW

DAY = timedelta(days=1)


def found_row(f) -> tuple:
    """A finding as `issue_rows` lists an issue (ISSUE_COLUMNS order)."""
    return (
        f.severity,
        str(f.code),
        f.school_id,
        f.kind,
        f.source_id,
        f.name,
        f.field,
        f.value,
        f.file,
        f.line,
        f.message,
        f.hint,
    )


def _in_order(rows) -> list[tuple]:
    """Rows sorted whatever their values (a line may be None)."""
    return sorted(rows, key=lambda row: [(v is not None, 0 if v is None else v) for v in row])


def listed(run: SyncRun) -> list[tuple]:
    return _in_order(issue_rows(run_issue_queryset(run)))


def new_ones(run: SyncRun) -> list[tuple]:
    return sorted(run_issue_queryset(run).filter(is_new=True).values_list("code", "source_id"))


@pytest.fixture
def found(monkeypatch) -> dict[int, list[tuple]]:
    """Run id -> the findings the run handed to the report stage, as rows."""
    seen: dict[int, list[tuple]] = {}
    store = report.store_issues

    def spy(run, findings, **kwargs):
        seen[run.pk] = _in_order(found_row(f) for f in findings)
        return store(run, findings, **kwargs)

    monkeypatch.setattr(report, "store_issues", spy)
    return seen


@pytest.fixture
def night(config, tmp_path):
    """night(district, **options): the district's files, synced one day after the last."""
    days = count()

    def run(d: District, *, dry_run: bool = False, threshold=None, schools=None) -> SyncRun:
        d.write(tmp_path / "roster")
        if threshold is not None:
            config.deletion_threshold = threshold
        config.school_ids = schools or []
        config.save()
        now = NOW + next(days) * DAY
        return sync_run_execute(run=sync_run_create(config=config, dry_run=dry_run), now=now)

    return run


def bad_dob(d: District, *students: str, value: str = "") -> District:
    for sid in students:
        d.birth_dates[sid] = value
    return d


def fixed_dob(d: District, *students: str) -> District:
    for sid in students:
        d.birth_dates[sid] = "2014-03-09"
    return d


# ---------------------------------------------------------------- every run, as found


def test_history_every_run_lists_its_issues_exactly_as_found(night, found):
    d = bad_dob(small_district(), "s2")
    runs = [night(d), night(d)]
    bad_dob(d, "s3")  # new issues in the middle
    d.users[-1].update(phone="")  # p3 (no email) loses its only contact: parent_contact
    runs += [night(d), night(d)]
    bad_dob(d, "s2", value="13/45/2014")  # the same issue, saying something else
    fixed_dob(d, "s3")
    runs += [night(d), night(d)]
    fixed_dob(d, "s2")
    runs += [night(d)]
    assert all(r.status == "succeeded" for r in runs)
    assert len({tuple(found[r.pk]) for r in runs}) == 4  # what they found changed
    for r in runs:
        assert listed(r) == found[r.pk], f"run #{r.pk} (seq {r.issue_seq})"
        assert len(run_report(r)["issues"]) == len(found[r.pk])
    assert [r.issue_seq for r in runs] == [1, 2, 3, 4, 5, 6, 7]


def test_history_a_night_with_the_same_issues_adds_no_issue_rows(night, found):
    d = bad_dob(small_district(), "s2", "s3")
    first = night(d)
    rows = Issue.objects.count()
    assert rows == len(found[first.pk]) >= 2
    for _ in range(3):
        again = night(d)
        assert listed(again) == found[again.pk] == found[first.pk]
    assert Issue.objects.count() == rows
    assert listed(first) == found[first.pk]


def test_history_an_issue_is_new_the_night_it_appears_and_again_when_it_returns(night):
    d = bad_dob(small_district(), "s2")
    first = night(d)
    assert new_ones(first) == [("student_dob", "s2")]
    second = night(bad_dob(d, "s3"))
    assert new_ones(second) == [("student_dob", "s3")]
    third = night(d)
    assert new_ones(third) == []
    fourth = night(fixed_dob(d, "s3"))
    fifth = night(bad_dob(d, "s3"))
    assert new_ones(fourth) == []
    assert new_ones(fifth) == [("student_dob", "s3")]
    # Each run still says what was new that night.
    assert new_ones(second) == [("student_dob", "s3")] and new_ones(third) == []

    def first_seen(run, sid):
        return run_issue_queryset(run).get(source_id=sid).first_seen_at

    assert first_seen(fifth, "s2") == first.started_at
    assert first_seen(third, "s3") == second.started_at
    assert first_seen(fifth, "s3") == fifth.started_at  # it went away: seen afresh


def test_history_changed_content_is_a_new_row_but_not_a_new_issue(night, found):
    d = bad_dob(small_district(), "s2")
    first = night(d)
    second = night(bad_dob(d, "s2", value="13/45/2014"))
    issue = run_issue_queryset(second).get(source_id="s2")
    assert issue.value == "13/45/2014" and not issue.is_new
    assert issue.first_seen_at == first.started_at
    assert run_issue_queryset(first).get(source_id="s2").value == ""
    assert listed(first) == found[first.pk] and listed(second) == found[second.pk]


def test_history_dry_runs_and_failed_runs_keep_their_own_issues_off_the_track(night, found):
    d = bad_dob(small_district(), "s2")
    first = night(d)
    dry = night(bad_dob(d, "s3"), dry_run=True)
    d.users.append({"sourcedId": "", "role": "student", "orgSourcedIds": "0123"})  # invalid_row
    failed = night(d, schools=["0123", "9999"])
    assert (failed.status, failed.failure_reason) == ("failed", "schools_not_found")
    rows = Issue.objects.count()
    fixed_dob(d, "s3")
    d.users.pop()
    last = night(d)
    assert (dry.issue_seq, failed.issue_seq, last.issue_seq) == (None, None, 2)
    assert Issue.objects.count() == rows  # the track went on: s2's span stayed open
    assert found[failed.pk] and any(r[1] == "invalid_row" for r in found[failed.pk])
    for r in (first, dry, failed, last):
        assert listed(r) == found[r.pk], r
    # Off the track, "new" is against the latest applied run before it.
    assert new_ones(dry) == [("student_dob", "s3")]
    assert new_ones(failed) == [("invalid_row", "")]
    assert new_ones(last) == []


def test_history_a_threshold_failure_is_on_the_track(night, found):
    d = bad_dob(small_district(), "s2")
    night(d)
    blocked = night(d.drop_user("p3"), threshold=0)  # after s2 in users.csv: s2 stays put
    assert (blocked.failure_reason, blocked.issue_seq) == ("threshold", 2)
    assert listed(blocked) == found[blocked.pk]
    assert new_ones(blocked) == []
    assert Issue.objects.filter(source_id="s2").count() == 1  # one span, not a row a night


def test_history_an_issue_whose_line_moved_is_listed_at_its_new_line(night, found):
    """The line is part of what a run found: a row removed above it moves it, and the
    run lists it where it found it (a new row; the issue is not new)."""
    d = bad_dob(small_district(), "s2")
    first = night(d)
    moved = night(d.drop_user("t1"))
    lines = [run_issue_queryset(r).get(source_id="s2").line for r in (first, moved)]
    assert lines[1] == lines[0] - 1
    assert listed(first) == found[first.pk] and listed(moved) == found[moved.pk]
    assert not run_issue_queryset(moved).get(source_id="s2").is_new


# ---------------------------------------------------------------- prune


def _aged(run: SyncRun, day: int) -> SyncRun:
    SyncRun.objects.filter(pk=run.pk).update(created_at=NOW + day * DAY)
    run.refresh_from_db()
    return run


def test_history_prune_keeps_recent_runs_and_the_latest_applied_and_failed(night, found):
    d = bad_dob(small_district(), "s2")
    r1 = _aged(night(d), 0)
    gone = _aged(night(d, schools=["9999"]), 1)  # failed, then a later failure
    r2 = _aged(night(bad_dob(d, "s3")), 2)  # s3 only here: its span goes
    dry = _aged(night(d, dry_run=True), 3)
    r3 = _aged(night(fixed_dob(d, "s3")), 4)
    failed = _aged(night(d, schools=["9999"]), 5)
    r4 = _aged(night(bad_dob(d, "s1")), 6)
    PlannedArchive.objects.create(run=r1, kind="students", record_id=1, source_id="x")
    assert SyncRun.objects.count() == 7
    assert r3.issue_seq == 3

    assert history_prune(now=NOW + 30 * DAY) == {
        "runs": 0,
        "issues": 0,
        "school_summaries": 0,
        "planned_archives": 0,
    }
    summaries = SchoolSummary.objects.filter(run__in=[r1, gone, r2, dry, r3]).count()
    deleted = history_prune(now=NOW + 35 * DAY)  # 30 days: what is older than day 5 goes
    assert set(SyncRun.objects.all()) == {failed, r4}
    assert (deleted["runs"], deleted["planned_archives"]) == (5, 1)
    assert deleted["school_summaries"] == summaries > 0
    for r in (failed, r4):
        assert listed(r) == found[r.pk]
    # What is left is what the kept runs found: no span covers only deleted runs.
    assert Issue.objects.count() == len(found[failed.pk]) + len(found[r4.pk])
    s2 = Issue.objects.get(source_id="s2", first_seq__isnull=False)
    assert (s2.first_seq, s2.last_seq, s2.run_id) == (1, None, None)  # open; r1 is gone
    assert new_ones(r4) == [("student_dob", "s1")]


def test_history_prune_always_keeps_the_latest_applied_and_failed_run(night, found):
    d = bad_dob(small_district(), "s2")
    applied = _aged(night(d), 0)
    failed = _aged(night(d, schools=["9999"]), 1)
    dry = _aged(night(d, dry_run=True), 2)
    deleted = history_prune(now=NOW + 365 * DAY)
    assert (deleted["runs"], set(SyncRun.objects.all())) == (1, {applied, failed})
    assert not SyncRun.objects.filter(pk=dry.pk).exists()
    assert listed(applied) == found[applied.pk] and listed(failed) == found[failed.pk]


def test_history_days_is_a_setting_and_the_daily_schedule_prunes(night, settings):
    settings.ROLLCALL = {**settings.ROLLCALL, "HISTORY_DAYS": 7}
    d = small_district()
    old, latest, dry = night(d), night(d), night(d, dry_run=True)
    today = timezone.now()
    SyncRun.objects.filter(pk=old.pk).update(created_at=today - 8 * DAY)
    SyncRun.objects.filter(pk__in=[latest.pk, dry.pk]).update(created_at=today - 6 * DAY)
    assert tasks.prune_history()["runs"] == 1
    assert set(SyncRun.objects.all()) == {latest, dry}
    assert SCHEDULES["rollcall: prune history"] == ("syncs.tasks.prune_history", 24 * 60)


# ---------------------------------------------------------------- admin


@pytest.mark.django_db
def test_history_admin_lists_a_runs_issues_shared_with_earlier_runs(admin_client, night):
    d = bad_dob(small_district(), "s2")
    first = night(d)
    second = night(bad_dob(d, "s3"))
    url = reverse("admin:syncs_issue_changelist")
    for run, n in ((first, 1), (second, 2)):
        response = admin_client.get(url, {"run": run.pk})
        assert response.status_code == 200
        assert sorted(i.pk for i in response.context["cl"].result_list) == sorted(
            run_issue_queryset(run).values_list("pk", flat=True)
        )
        assert len(response.context["cl"].result_list) == n
        page = admin_client.get(reverse("admin:syncs_syncrun_change", args=[run.pk]))
        assert f"?run={run.pk}" in page.content.decode()
        assert f"{n} issue(s)" in page.content.decode()
    assert len(admin_client.get(url, {"run": "nope"}).context["cl"].result_list) == 0


# ---------------------------------------------------------------- migration


@pytest.mark.django_db(transaction=True)
def test_history_migration_keeps_existing_issues_as_their_runs_own():
    before, after = [("syncs", "0008_permissions")], [("syncs", "0009_issue_history")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps
        org = old.get_model("rostering", "Organization").objects.create(name="O", slug="o")
        config = old.get_model("syncs", "SyncConfig").objects.create(
            organization_id=org.pk, name="c", source_kind="local_files"
        )
        run = old.get_model("syncs", "SyncRun").objects.create(
            config_id=config.pk, status="succeeded"
        )
        old.get_model("syncs", "Issue").objects.create(
            run_id=run.pk, severity="error", code="student_dob", record_kind="person"
        )
        executor = MigrationExecutor(connection)
        executor.migrate(after)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    run = SyncRun.objects.get()
    issue = Issue.objects.get()
    assert (issue.config_id, issue.run_id, issue.first_seq, issue.last_seq) == (
        config.pk,
        run.pk,
        None,
        None,
    )
    assert issue.first_seen_at == run.created_at
    assert run.issue_seq is None
    assert list(run_issue_queryset(run).values_list("pk", "is_new")) == [(issue.pk, False)]


# ---------------------------------------------------------------- a generated district


def _issue_bytes() -> int | None:
    """The Issue table's size with its indexes, where the database can say."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SELECT pg_total_relation_size('syncs_issue')")
            return cur.fetchone()[0]
        try:
            cur.execute(
                "SELECT SUM(pgsize) FROM dbstat WHERE name IN "
                "(SELECT name FROM sqlite_master WHERE tbl_name = 'syncs_issue')"
            )
        except DatabaseError:  # SQLite built without the dbstat table
            return None
        return cur.fetchone()[0]


@pytest.mark.slow
def test_history_ten_nights_of_a_generated_district_store_about_one_night(tmp_path, org, found):
    """History: 10 nights of the same 10,000-student district (every kind of issue) keep
    every night's issues as found in little more than one night's rows; an issue that
    appears on night 11 is new there."""
    folder = tmp_path / "district"
    generate_district(students=10_000, seed=12, out=folder)
    config = SyncConfig.objects.create(
        organization=org, name="gen", source_kind="local_files", path=str(folder)
    )

    def night(n: int) -> SyncRun:
        run = sync_run_execute(run=sync_run_create(config=config), now=NOW + n * DAY)
        assert run.status == "succeeded", run.message
        return run

    runs = [night(1)]
    one_night = (Issue.objects.count(), _issue_bytes())
    runs += [night(n) for n in range(2, 11)]
    assert one_night[0] == len(found[runs[0].pk]) > 500
    for run in runs:
        assert listed(run) == found[run.pk] == found[runs[0].pk]
    ten_nights = (Issue.objects.count(), _issue_bytes())
    figures = f"{ten_nights[0]:,} rows after 10 nights, {one_night[0]:,} after one"
    if one_night[1] and ten_nights[1]:
        figures += f"; {ten_nights[1]:,} bytes after 10 nights, {one_night[1]:,} after one"
    print(f"history ({connection.vendor}): {figures}")
    assert ten_nights[0] < 1.5 * one_night[0]
    if one_night[1] and ten_nights[1]:
        assert ten_nights[1] < 1.5 * one_night[1]

    # Night 11: one student's birth date is no longer a date (the line stays put).
    demographics = folder / "demographics.csv"
    header, *rows = demographics.read_text(encoding="utf-8").splitlines()
    good = next(i for i, row in enumerate(rows) if row.split(",")[3][:2] in ("19", "20"))
    student = rows[good].split(",")[0]
    cells = rows[good].split(",")
    cells[3] = "2014-02-30"
    rows[good] = ",".join(cells)
    demographics.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    eleventh = night(11)
    assert listed(eleventh) == found[eleventh.pk]
    assert new_ones(eleventh) == [("student_dob", student)]
    assert Issue.objects.count() == ten_nights[0] + 1
    assert listed(runs[-1]) == found[runs[-1].pk]
