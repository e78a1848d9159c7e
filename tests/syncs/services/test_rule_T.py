"""Rule T on the database: the deletion threshold blocks archives, explains itself, and
support can approve the blocked archives once."""

from __future__ import annotations

import pytest

from accounts.models import ContactDevice
from rostering.models import Enrollment, Person
from syncs.explanations import explain_run
from tests.builders import District, big_district


@pytest.mark.parametrize(("leaving", "status"), [(50, "succeeded"), (51, "failed")])
def test_T2_501_students_at_10_percent_allow_exactly_50_archives(sync, leaving, status):
    d = big_district(501)
    sync(d)
    for n in range(leaving):
        d.drop_user(f"s{n:04d}")
    run = sync(d, threshold=10)
    assert run.status == status
    kinds = run.diagnostics["threshold"]["kinds"]
    assert kinds["students"] == {
        "active": 501,
        "planned": leaving,
        "allowed": 50,
        "exceeded": leaving > 50,
    }
    archived = Person.objects.filter(role="student", archived_at__isnull=False).count()
    assert archived == (50 if status == "succeeded" else 0)


def test_T3_threshold_failure_applies_creates_and_updates_and_archives_nothing(sync):
    d = big_district(20)
    sync(d)
    for n in range(10):
        d.drop_user(f"s{n:04d}")
    d.student("new1", "0123").enroll("c1", "new1", "student")
    d.users[0]["givenName"] = "Changed"
    run = sync(d, threshold=10)
    assert (run.status, run.failure_reason) == ("failed", "threshold")
    assert Person.objects.filter(source_id="new1").exists()
    assert Person.objects.get(source_id="t1").given_name == "Changed"
    assert not Person.objects.filter(archived_at__isnull=False).exists()
    assert not Enrollment.objects.filter(archived_at__isnull=False).exists()
    assert run.counts["students"] == {
        "created": 1,
        "updated": 0,
        "unarchived": 0,
        "archived": 0,
        "unchanged": 10,
        "quarantined": 0,
    }
    # People planned for archive keep their devices while the archive is blocked.
    assert ContactDevice.objects.filter(account__person__source_id="t1").exists()


def test_T4_diagnostics_explain_a_threshold_failure(sync):
    d = District().school("0123").school("0456")
    d.teacher("t1", "0123").teacher("t2", "0456")
    for n in range(5):
        d.student(f"a{n}", "0123").student(f"b{n}", "0456")
    d.klass("c1", "0123", "A", teacher="t1", students=tuple(f"a{n}" for n in range(5)))
    d.klass("c2", "0456", "B", teacher="t2", students=tuple(f"b{n}" for n in range(5)))
    sync(d)
    # The next export lost school 0456 entirely.
    d.schools = [s for s in d.schools if s["sourcedId"] != "0456"]
    d.users = [u for u in d.users if u["orgSourcedIds"] != "0456"]
    d.classes = [c for c in d.classes if c["schoolSourcedId"] != "0456"]
    d.enrollments = [e for e in d.enrollments if e["classSourcedId"] != "c2"]
    run = sync(d)
    assert run.failure_reason == "threshold"
    diag = run.diagnostics
    assert diag["threshold"]["kinds"]["students"] == {
        "active": 10,
        "planned": 5,
        "allowed": 1,
        "exceeded": True,
    }
    assert diag["threshold"]["archives_by_school"] == {"0456": 7}
    assert any("School 0456" in cause for cause in diag["likely_causes"])
    assert "students (5 to archive, 1 allowed of 10)" in run.message


def test_T5_support_approves_the_blocked_archives_once(sync, admin_user):
    from syncs.errors import SyncFailure
    from syncs.exports import PLANNED_ARCHIVE_HEADER, csv_lines
    from syncs.services import sync_run_approve_archives

    d = big_district(20)
    sync(d)
    for n in range(5):
        d.drop_user(f"s{n:04d}")
    run = sync(d, threshold=10)
    assert run.failure_reason == "threshold"
    listing = "".join(
        csv_lines(
            PLANNED_ARCHIVE_HEADER,
            run.planned_archives.values_list("kind", "source_id", "name", "school_sis_id"),
        )
    )
    assert listing.count("students") == 5 and '"s0000"' in listing

    assert sync_run_approve_archives(run=run, user=admin_user) == 10  # 5 people + 5 enrollments
    run.refresh_from_db()
    assert run.archives_approved_by == admin_user and run.archives_approved_at
    assert Person.objects.filter(archived_at__isnull=False).count() == 5
    assert not ContactDevice.objects.filter(account__person__archived_at__isnull=False).exists()
    with pytest.raises(SyncFailure, match="already approved"):
        sync_run_approve_archives(run=run, user=admin_user)


def test_T5_only_the_latest_run_can_be_approved(sync, admin_user):
    from syncs.errors import SyncFailure
    from syncs.services import sync_run_approve_archives

    d = big_district(20)
    sync(d)
    for n in range(5):
        d.drop_user(f"s{n:04d}")
    blocked = sync(d, threshold=10)
    sync(d, threshold=10)
    with pytest.raises(SyncFailure, match="no longer the latest"):
        sync_run_approve_archives(run=blocked, user=admin_user)


def rekeyed(d: District, ids: list[str], school: str = "0123") -> District:
    """Re-keyed IDs, the failure thresholds exist for: each student leaves the export
    and comes back under a new ID, in the same class."""
    for sid in ids:
        d.drop_user(sid)
        d.student(f"k{sid}", school).enroll("c1", f"k{sid}", "student")
    return d


def test_T3_a_held_night_stays_held_when_the_same_files_come_again(sync):
    # At 60% (back-to-school guidance) night 1 holds the 20 archives (20 of 20) and, as
    # T3 says, creates the 20 new students.
    d = big_district(20)
    sync(d)
    rekeyed(d, [f"s{n:04d}" for n in range(20)])
    first = sync(d, threshold=60)
    assert first.failure_reason == "threshold"
    assert Person.objects.filter(source_id__startswith="ks", archived_at=None).count() == 20
    # Night 2, the same files. Counted with night 1's creates, 20 of 40 would be within
    # 60% and the held archives would go through with nobody approving them; counted as
    # the district stood before the hold, it is 20 of 20 again.
    for _night in (2, 3):
        again = sync(d, threshold=60)
        assert again.failure_reason == "threshold"
        assert again.diagnostics["threshold"]["kinds"]["students"] == {
            "active": 20,
            "planned": 20,
            "allowed": 12,
            "exceeded": True,
        }
        assert again.diagnostics["threshold"]["counted_as_of_run"] == first.pk
    assert not Person.objects.filter(source_id__startswith="s", archived_at__isnull=False)
    texts = [e["text"] for e in explain_run(again)["evidence"]]
    assert any(f"from before run #{first.pk} held its archives" in t for t in texts)


def test_T6_a_held_school_stays_held_when_the_same_files_come_again(sync):
    d = District().school("0123").school("0456")
    d.teacher("t1", "0123").teacher("t2", "0456")
    a, b = [f"a{n}" for n in range(10)], [f"b{n}" for n in range(10)]
    for sid in a:
        d.student(sid, "0123")
    for sid in b:
        d.student(sid, "0456")
    d.klass("c1", "0123", "A", teacher="t1", students=tuple(a))
    d.klass("c2", "0456", "B", teacher="t2", students=tuple(b))
    sync(d)
    rekeyed(d, a)  # school 0123 only: 10 of 10 there, 10 of 20 in the district
    first = sync(d, threshold=60)
    assert [h["sis_id"] for h in first.diagnostics["held"]] == ["0123"]
    again = sync(d, threshold=60)
    assert again.failure_reason == "threshold"
    assert [h["sis_id"] for h in again.diagnostics["held"]] == ["0123"]
    assert again.diagnostics["held"][0]["kinds"]["students"]["active"] == 10
    assert not Person.objects.filter(source_id__in=a, archived_at__isnull=False)


def test_T5_an_approval_ends_the_hold_and_the_next_night_counts_everyone(sync, admin_user):
    from syncs.services import sync_run_approve_archives

    d = big_district(20)
    sync(d)
    rekeyed(d, [f"s{n:04d}" for n in range(20)])
    first = sync(d, threshold=60)
    assert sync_run_approve_archives(run=first, user=admin_user) == 40  # people + enrollments
    after = sync(d, threshold=60)
    assert after.status == "succeeded"
    assert after.diagnostics["threshold"]["kinds"]["students"]["active"] == 20  # the new IDs
    assert "counted_as_of_run" not in after.diagnostics["threshold"]


def test_T3_a_failure_for_another_reason_does_not_end_the_hold(sync):
    d = big_district(20)
    sync(d)
    rekeyed(d, [f"s{n:04d}" for n in range(20)])
    first = sync(d, threshold=60)
    # A night that fails for another reason applies nothing, so it changes nothing here.
    assert sync(d, schools=["9999"]).failure_reason == "schools_not_found"
    again = sync(d, threshold=60, schools=[])
    assert again.failure_reason == "threshold"
    assert again.diagnostics["threshold"]["counted_as_of_run"] == first.pk
