"""Rule Q on the database: a record in error or unreadable is neither created, changed
nor archived; it keeps its last good state."""

from __future__ import annotations

from rostering.models import Class, Enrollment, Person
from tests.helpers import issue_codes


def test_Q_new_record_with_an_error_is_not_created(sync, district):
    district.birth_dates["s2"] = "2014-02-30"
    run = sync(district)
    assert not Person.objects.filter(source_id="s2").exists()
    assert ("student_dob", "s2") in issue_codes(run)
    assert not Enrollment.objects.filter(source_id="c1/s2").exists()


def test_Q_existing_record_with_an_error_keeps_its_last_good_state_and_is_not_archived(
    sync, district
):
    sync(district)
    district.birth_dates["s2"] = ""
    district.users[3]["givenName"] = "Renamed"
    run = sync(district, threshold=0)
    assert run.status == "succeeded", run.message
    s2 = Person.objects.get(source_id="s2")
    assert s2.archived_at is None and s2.given_name == "S2" and s2.account.is_active
    assert Enrollment.objects.get(source_id="c1/s2").archived_at is None
    assert run.counts["students"]["quarantined"] == 1


def test_Q_unreadable_row_keeps_the_existing_person(sync, district, tmp_path):
    sync(district)
    folder = district.write(tmp_path / "roster")
    users = (folder / "users.csv").read_text().splitlines()
    users = [line + ",extra" if line.startswith("s2,") else line for line in users]
    (folder / "users.csv").write_text("\n".join(users) + "\n")
    from syncs.services import sync_run_create, sync_run_execute

    config = Person.objects.get(source_id="s2").sync_config
    config.deletion_threshold = 0
    config.save()
    run = sync_run_execute(run=sync_run_create(config=config))
    assert run.status == "succeeded", run.message
    assert Person.objects.get(source_id="s2").archived_at is None
    assert ("invalid_row", "s2") in issue_codes(run)


def test_Q_quarantined_class_keeps_its_enrollments(sync, district):
    sync(district)
    district.classes[0]["title"] = "Visit https://example.org"
    run = sync(district, threshold=0)
    assert run.status == "succeeded", run.message
    c1 = Class.objects.get(source_id="c1")
    assert c1.name == "Math 3" and c1.archived_at is None
    assert not Enrollment.objects.filter(section=c1, archived_at__isnull=False).exists()


def test_Q_teacher_with_an_error_still_counts_as_the_class_teacher(sync, district):
    district.users[0]["email"] = ""
    run = sync(district)
    assert ("teacher_email", "t1") in issue_codes(run)
    assert not any(code == "class_no_teacher" for code, _ in issue_codes(run))
