"""A sync run end to end on a real database: what it creates, updates, archives and
unarchives, dry runs, and what a run leaves behind it."""

from __future__ import annotations

import pytest

from rostering.models import Class, Enrollment, Guardianship, Person, School
from syncs.models import Issue, SchoolSummary
from tests.builders import District, big_district
from tests.helpers import devices_of, issue_codes, snapshot

# ---------------------------------------------------------------- a whole sync


def test_first_sync_provisions_accounts_classes_and_school_summaries(sync, district):
    run = sync(district)
    assert run.status == "succeeded", run.message
    assert Person.objects.filter(account__isnull=False).count() == 8
    assert Class.objects.count() == 2
    assert Enrollment.objects.count() == 5
    assert Guardianship.objects.count() == 3
    assert devices_of("t1") == [("email", "t1@district.k12.ca.us")]
    assert devices_of("p3") == [("phone", "+12063847710")]
    assert run.counts["students"]["created"] == 3
    summaries = {s.sis_id: (s.created, s.errors) for s in SchoolSummary.objects.filter(run=run)}
    assert summaries == {"0123": (6, 0), "0456": (4, 0)}


def test_school_ids_keep_leading_zeros_end_to_end(sync, district):
    sync(district)
    assert sorted(School.objects.values_list("sis_id", flat=True)) == ["0123", "0456"]
    assert Person.objects.get(source_id="s3").schools.get().sis_id == "0456"


def test_resync_of_the_same_input_changes_nothing(sync, district):
    sync(district)
    before = snapshot()
    run = sync(district)
    assert snapshot() == before
    for kind, counts in run.counts.items():
        assert (counts["created"], counts["updated"], counts["archived"], counts["unarchived"]) == (
            0,
            0,
            0,
            0,
        ), kind


def test_changed_name_updates_the_person_and_their_account(sync, district):
    sync(district)
    district.users[0]["givenName"] = "Anabel"
    run = sync(district)
    assert run.counts["teachers"]["updated"] == 1
    t1 = Person.objects.get(source_id="t1")
    assert (t1.given_name, t1.account.first_name) == ("Anabel", "Anabel")


def test_person_who_leaves_is_archived_with_account_deactivated_and_devices_released(
    sync, district
):
    sync(district)
    run = sync(district.drop_user("s2"), threshold=50)
    assert run.status == "succeeded", run.message
    s2 = Person.objects.get(source_id="s2")
    assert s2.archived_at is not None
    assert s2.account.is_active is False
    assert Enrollment.objects.get(source_id="c1/s2").archived_at is not None
    assert run.counts["students"]["archived"] == 1


def test_person_who_returns_is_unarchived(sync, district):
    sync(district)
    without = District(
        **{k: list(v) if isinstance(v, list) else dict(v) for k, v in vars(district).items()}
    )
    sync(without.drop_user("s2"), threshold=50)
    run = sync(district, threshold=50)
    s2 = Person.objects.get(source_id="s2")
    assert s2.archived_at is None and s2.account.is_active
    assert run.counts["students"]["unarchived"] == 1


# ---------------------------------------------------------------- dry runs and reports


def test_dry_run_stores_plan_and_issues_and_applies_nothing(sync, district):
    sync(district)
    before = snapshot()
    district.drop_user("s2")
    district.student("s9", "0456", dob="")
    run = sync(district, dry_run=True, threshold=50)
    assert run.status == "succeeded" and run.dry_run
    assert snapshot() == before
    assert run.counts["students"]["archived"] == 1
    assert sorted(run.planned_archives.values_list("kind", "source_id")) == [
        ("enrollments", "c1/s2"),
        ("students", "s2"),
    ]
    assert ("student_dob", "s9") in issue_codes(run)


def test_issues_of_a_run_stay_readable_after_the_next_runs(sync, district):
    district.birth_dates["s2"] = ""
    first = sync(district)
    assert issue_codes(first) == [("student_dob", "s2")]
    district.birth_dates["s2"] = "2014-01-01"
    second = sync(district)
    dry = sync(district, dry_run=True)
    assert issue_codes(first) == [("student_dob", "s2")]
    assert issue_codes(second) == issue_codes(dry) == []


def test_sync_reads_a_zip_and_removes_what_it_extracted(
    sync, district, config, tmp_path, monkeypatch
):
    import tempfile
    import zipfile

    from syncs.services import sync_run_create, sync_run_execute

    folder = district.write(tmp_path / "files")
    archive = tmp_path / "roster.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in folder.iterdir():
            zf.write(path, f"export/{path.name}")
    config.path = str(archive)
    config.save()
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    run = sync_run_execute(run=sync_run_create(config=config))
    assert run.status == "succeeded", run.message
    assert Person.objects.count() == 8
    assert list(scratch.iterdir()) == []


def test_last_seen_run_names_the_last_run_that_saw_a_missing_record(sync):
    d = big_district(20)
    first = sync(d)
    second = sync(d)  # sees everything, changes nothing
    for n in range(5):
        d.drop_user(f"s{n:04d}")
    blocked = sync(d, threshold=10)
    again = sync(d, threshold=10)  # still missing: the stamp must not move
    assert (blocked.failure_reason, again.failure_reason) == ("threshold", "threshold")
    missing = Person.objects.get(source_id="s0000")
    assert missing.archived_at is None
    assert missing.last_seen_run_id == second.pk
    assert Enrollment.objects.get(source_id="c1/s0000").last_seen_run_id == second.pk
    assert Person.objects.get(source_id="s0010").last_seen_run_id == first.pk  # unchanged since


def test_provenance_links_are_still_enforced_by_django(sync, district, config):
    """sync_config and last_seen_run have no database constraint (for speed); Django's
    on_delete still protects records from losing their config and nulls a deleted run."""
    from django.db.models import ProtectedError

    run = sync(district)
    with pytest.raises(ProtectedError):
        config.delete()
    Issue.objects.filter(run=run).delete()
    run.delete()
    assert Person.objects.filter(last_seen_run__isnull=False).count() == 0
    assert Person.objects.count() == 8


def test_progress_never_goes_back_when_apply_hands_over_to_report(sync, monkeypatch):
    """A heartbeat just before every write of a run's stage, and the percentage a poller
    reads after each: it only rises. Apply's gate once wrote "report" over apply's count
    (99%), and the report stage then started from 0 (97%): a real worker's poller saw
    the bar go back."""
    from syncs import progress
    from syncs.models import SyncRun
    from syncs.services import pipeline, runs

    seen: list[int] = []
    real_hold = runs.hold

    def beat_then_hold(run_id, **fields):
        tracked = progress.current()
        if tracked is not None:
            progress.beat(run_id, tracked)
            seen.append(SyncRun.objects.get(pk=run_id).percent)
        real_hold(run_id, **fields)
        seen.append(SyncRun.objects.get(pk=run_id).percent)

    monkeypatch.setattr(runs, "hold", beat_then_hold)
    monkeypatch.setattr(pipeline, "hold", beat_then_hold)
    sync(big_district(30))
    assert len(seen) > 10 and seen == sorted(seen), seen
