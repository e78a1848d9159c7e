"""Rules T6 and U on the database: a school over its own limit is held alone while the
rest of the district syncs, its archives can be approved school by school (T5), and a
mass update of names is held while every other change applies."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rostering.models import Enrollment, Person
from syncs.errors import SyncFailure
from syncs.explanations import explain_run, run_status
from syncs.models import PlannedArchive, SchoolSummary, SyncRun
from syncs.services import sync_run_approve_archives
from tests.builders import District

SCHOOLS = [f"{n:04d}" for n in range(1, 11)]


def ten_school_district(students: int = 20) -> District:
    """Ten schools, each with a teacher and a class of `students` students."""
    d = District()
    for school in SCHOOLS:
        d.school(school, f"Academy {school}")
        d.teacher(f"t{school}", school)
        ids = tuple(f"s{school}-{n:02d}" for n in range(students))
        for sid in ids:
            d.student(sid, school)
        d.klass(f"c{school}", school, f"Homeroom {school}", teacher=f"t{school}", students=ids)
    return d


def without_school(d: District, school: str) -> District:
    """The export left a school out entirely: its row, people, class and enrollments."""
    d.schools = [s for s in d.schools if s["sourcedId"] != school]
    d.users = [u for u in d.users if u["orgSourcedIds"] != school]
    d.classes = [c for c in d.classes if c["schoolSourcedId"] != school]
    d.enrollments = [e for e in d.enrollments if e["classSourcedId"] != f"c{school}"]
    return d


def active_at(school: str) -> int:
    return Person.objects.filter(schools__sis_id=school, archived_at__isnull=True).count()


@pytest.fixture
def school_3_held(sync) -> SyncRun:
    """School 0003 dropped out of the files; every other school lost one or two
    students (within their own limits) in the same export."""
    d = ten_school_district()
    assert sync(d).status == "succeeded"
    without_school(d, "0003")
    for school in SCHOOLS:
        if school != "0003":
            d.drop_user(f"s{school}-00")
    d.drop_user("s0009-01")
    return sync(d, threshold=10)


def test_T6_a_school_that_drops_out_is_held_and_every_other_school_applies(school_3_held):
    run = school_3_held
    assert (run.status, run.failure_reason) == ("failed", "threshold")
    assert "School 0003" in run.message and "held for approval" in run.message
    assert "Everything else was applied, the other schools' archives included." in run.message
    [held] = run.diagnostics["held"]
    assert held["sis_id"] == "0003" and held["name"] == "Academy 0003"
    assert held["kinds"]["students"] == {"active": 20, "planned": 20, "allowed": 2}
    assert held["kinds"]["teachers"] == {"active": 1, "planned": 1, "allowed": 0}
    # The other schools' archives applied: one student each, two at 0009.
    archived = set(
        Person.objects.filter(archived_at__isnull=False).values_list("source_id", flat=True)
    )
    assert archived == {f"s{s}-00" for s in SCHOOLS if s != "0003"} | {"s0009-01"}
    assert active_at("0003") == 21  # nothing of the held school was archived
    assert not Enrollment.objects.filter(section__school__sis_id="0003", archived_at__isnull=False)
    # The held school's records, and only those, wait for approval.
    planned = PlannedArchive.objects.filter(run=run)
    assert set(planned.values_list("school_sis_id", flat=True)) == {"0003"}
    assert planned.count() == held["records"] == 1 + 20 + 1 + 21  # + class and enrollments
    assert run.counts["students"]["archived"] == 10
    summaries = {s.sis_id: s for s in SchoolSummary.objects.filter(run=run)}
    assert (summaries["0003"].status, summaries["0003"].archived) == ("failed", 0)
    assert (summaries["0001"].status, summaries["0001"].archived) == ("succeeded", 1)
    assert summaries["0009"].archived == 2
    assert summaries["0001"].active == {"students": 19, "teachers": 1, "classes": 1}
    assert run_status(run) == "Failed: deletion threshold exceeded at 1 school"


def test_T6_the_explainer_shows_each_held_school_with_its_evidence(school_3_held):
    out = explain_run(school_3_held)
    assert out["headline"] == (
        "School 0003 (Academy 0003) exceeded its own deletion limit, so its 43 planned "
        "archives are held: the school is missing from the files."
    )
    [school] = [e for e in out["evidence"] if e.get("school") == "0003"]
    assert "students: 20 active, 20 to archive, 2 allowed" in school["text"]
    assert school["records"] == 43 and school["approved"] is False
    assert any("School 0003 (Academy 0003): 43" in step for step in out["next_steps"])
    assert [h["sis_id"] for h in out["held"]] == ["0003"]


def test_T5_approving_school_3_alone_archives_exactly_its_records(school_3_held, admin_user):
    run = school_3_held
    held = set(PlannedArchive.objects.filter(run=run).values_list("kind", "record_id"))
    before = set(Person.objects.filter(archived_at__isnull=False).values_list("pk", flat=True))
    assert sync_run_approve_archives(run=run, user=admin_user, school="0003") == 43
    newly = (
        set(Person.objects.filter(archived_at__isnull=False).values_list("pk", flat=True)) - before
    )
    assert newly == {pk for kind, pk in held if kind in ("students", "teachers")}
    assert active_at("0003") == 0
    assert (
        Enrollment.objects.filter(section__school__sis_id="0003", archived_at__isnull=False).count()
        == 21
    )
    # Every surface agrees: counts, summaries, the approvals, the message.
    run.refresh_from_db()
    assert run.counts["students"]["archived"] == 30
    assert run.counts["enrollments"]["archived"] == 10 + 21
    summary = SchoolSummary.objects.get(run=run, sis_id="0003")
    assert (summary.status, summary.archived) == ("succeeded", 22)
    assert summary.active == {}
    [approval] = run.diagnostics["approvals"]
    assert (approval["school"], approval["by"], approval["records"]) == (
        "0003",
        admin_user.get_username(),
        43,
    )
    assert run.message.endswith("for school 0003: 43 records archived.")
    # Nothing is left held: the run reads approved, and cannot be approved again.
    assert run.archives_approved_by == admin_user and run.archives_approved_at
    with pytest.raises(SyncFailure, match="already approved"):
        sync_run_approve_archives(run=run, user=admin_user, school="0003")
    out = explain_run(run)
    assert out["held"][0]["approved"] is True
    assert any(e["text"].startswith("Approved by") for e in out["evidence"])


def test_T5_one_school_at_a_time_until_none_is_held(sync, admin_user):
    d = ten_school_district()
    sync(d)
    without_school(without_school(d, "0003"), "0007")
    run = sync(d, threshold=10)
    assert [h["sis_id"] for h in run.diagnostics["held"]] == ["0003", "0007"]
    assert sync_run_approve_archives(run=run, user=admin_user, school="0003") == 43
    run.refresh_from_db()
    assert run.archives_approved_at is None  # 0007's archives are still held
    assert run_status(run).endswith("at 2 schools; 1 of 2 approved")
    assert active_at("0007") == 21
    with pytest.raises(SyncFailure, match="holds no archives of school 0005"):
        sync_run_approve_archives(run=run, user=admin_user, school="0005")
    # Approving the rest approves 0007's only.
    assert sync_run_approve_archives(run=run, user=admin_user) == 43
    run.refresh_from_db()
    assert run.archives_approved_at is not None and active_at("0007") == 0
    assert run.message.endswith("for the remaining held schools: 43 records archived.")
    statuses = set(SchoolSummary.objects.filter(run=run).values_list("status", flat=True))
    assert statuses == {"succeeded"}


def test_T6_district_remainder_still_over_its_limit_holds_everything_as_before(sync, config):
    d = ten_school_district()
    sync(d)
    without_school(d, "0003")
    # Three students leave each other school: within a looser per-school limit of 20%
    # (4 of 20), but 27 of the remaining 180 is over the district's 10% (18).
    for school in SCHOOLS:
        if school != "0003":
            for n in range(3):
                d.drop_user(f"s{school}-{n:02d}")
    config.school_threshold = Decimal("20")
    config.save()
    run = sync(d, threshold=10)
    assert (run.status, run.failure_reason) == ("failed", "threshold")
    assert "held" not in run.diagnostics
    assert run.diagnostics["archives_held"] == "all"
    assert [s["sis_id"] for s in run.diagnostics["threshold"]["schools_over"]] == ["0003"]
    assert not Person.objects.filter(archived_at__isnull=False).exists()
    assert "nothing was archived" in run.message
    assert PlannedArchive.objects.filter(run=run, kind="students").count() == 20 + 27
    assert set(SchoolSummary.objects.filter(run=run).values_list("status", flat=True)) == {"failed"}
    texts = [e["text"] for e in explain_run(run)["evidence"]]
    assert (
        "School 0003 (Academy 0003) is over its own limit, but the rest of the district "
        "would still archive more than the deletion threshold allows: every archive is held."
    ) in texts


def test_T5_approval_gives_a_held_school_without_a_summary_one(sync, admin_user):
    d = ten_school_district()
    sync(d)
    run = sync(without_school(d, "0003"), threshold=10)
    # A run recorded before held schools got a summary of their own.
    SchoolSummary.objects.filter(run=run, sis_id="0003").delete()
    sync_run_approve_archives(run=run, user=admin_user)
    summary = SchoolSummary.objects.get(run=run, sis_id="0003")
    assert (summary.status, summary.archived, summary.name) == ("succeeded", 22, "Academy 0003")
    assert summary.school.sis_id == "0003"


# ---------------------------------------------------------------- U: mass updates


def swapped_names(students: int = 20, swapped: int = 18) -> tuple[District, District]:
    """A district, and its next export with given and family names swapped for most
    students (a column mix-up), plus one new student."""
    d = District().school("0123").teacher("t1", "0123")
    ids = [f"s{n:02d}" for n in range(students)]
    for sid in ids:
        d.student(sid, "0123", given=f"Given{sid}", family=f"Family{sid}")
    d.klass("c1", "0123", "Homeroom", teacher="t1", students=tuple(ids))
    after = District(
        schools=list(d.schools),
        users=[dict(u) for u in d.users],
        classes=list(d.classes),
        enrollments=list(d.enrollments),
        birth_dates=dict(d.birth_dates),
    )
    for row in after.users:
        if row["role"] == "student" and int(row["sourcedId"][1:]) < swapped:
            row["givenName"], row["familyName"] = row["familyName"], row["givenName"]
    after.student("new1", "0123", given="New", family="Student")
    return d, after


def test_U_swapped_names_for_90_percent_of_students_are_held_with_the_guard_on(sync, config):
    config.update_threshold = Decimal("75")
    config.save()
    before, after = swapped_names()
    sync(before)
    run = sync(after)
    assert (run.status, run.failure_reason) == ("failed", "threshold")
    assert "Updates held: 18 of 20 students" in run.message
    assert "these updates were not applied" in run.message
    held = run.diagnostics["held_updates"]
    assert held["percent"] == "75.00" and held["schools"] == {"0123": 18}
    students = held["kinds"]["students"]
    assert (students["active"], students["changed"], students["allowed"]) == (20, 18, 15)
    assert len(students["samples"]) == 5
    assert students["samples"][0] == {
        "source_id": "s00",
        "school": "0123",
        "changes": {
            "given_name": ["Givens00", "Familys00"],
            "family_name": ["Familys00", "Givens00"],
        },
    }
    # The names stayed; every other change applied.
    assert Person.objects.get(source_id="s00").given_name == "Givens00"
    assert Person.objects.filter(source_id="new1").exists()
    assert run.counts["students"]["updated"] == 0
    assert run.counts["students"]["created"] == 1
    assert run.counts["students"]["unchanged"] == 20
    summary = SchoolSummary.objects.get(run=run, sis_id="0123")
    assert (summary.status, summary.updated) == ("failed", 0)
    assert run_status(run) == "Failed: mass updates held"
    out = explain_run(run)
    assert out["headline"].startswith("Updates held: 18 of 20 students")
    examples = [e["text"] for e in out["evidence"] if e.get("source_id")]
    assert examples[0] == (
        "For example s00: given name Givens00 → Familys00; family name Familys00 → Givens00."
    )


def test_U_with_the_guard_off_the_swapped_names_apply(sync, config):
    assert config.update_threshold is None
    before, after = swapped_names()
    sync(before)
    run = sync(after)
    assert run.status == "succeeded"
    assert Person.objects.get(source_id="s00").given_name == "Familys00"
    assert run.counts["students"]["updated"] == 18


def test_U_a_few_changed_names_under_the_update_threshold_apply(sync, config):
    config.update_threshold = Decimal("75")
    config.save()
    before, after = swapped_names(swapped=4)
    sync(before)
    run = sync(after)
    assert run.status == "succeeded"
    assert Person.objects.get(source_id="s00").given_name == "Familys00"
