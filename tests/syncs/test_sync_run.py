"""A sync run end to end on a real database: rules D, T, Q, failure reasons, dry runs."""

from __future__ import annotations

import pytest

from accounts.models import ContactDevice, User
from rostering.models import Class, Enrollment, Guardianship, Person, School
from syncs.models import Issue, SchoolSummary
from tests.builders import District


def snapshot():
    """Everything a sync may write, as comparable plain data."""
    return {
        "people": sorted(
            Person.objects.values_list(
                "source_id",
                "role",
                "given_name",
                "family_name",
                "email",
                "phone",
                "dob",
                "archived_at",
                "account_id",
            )
        ),
        "classes": sorted(
            Class.objects.values_list("source_id", "name", "school__sis_id", "archived_at")
        ),
        "enrollments": sorted(
            Enrollment.objects.values_list("source_id", "role", "primary", "archived_at")
        ),
        "guardianships": sorted(Guardianship.objects.values_list("source_id", "archived_at")),
        "devices": sorted(ContactDevice.objects.values_list("account_id", "kind", "value")),
        "users": sorted(User.objects.values_list("pk", "first_name", "last_name", "is_active")),
        "schools": sorted(School.objects.values_list("sis_id", "name")),
    }


def devices_of(source_id):
    person = Person.objects.get(source_id=source_id)
    return sorted(
        ContactDevice.objects.filter(account=person.account_id).values_list("kind", "value")
    )


def issue_codes(run):
    return sorted(run.issues.values_list("code", "source_id"))


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


# ---------------------------------------------------------------- rule D on the database


def test_D1_shared_household_phone_goes_to_one_parent(sync, district):
    district.users[-2]["phone"] = "(206) 384-2291"  # p2 now shares p1's phone
    run = sync(district)
    assert devices_of("p1") == [("email", "p1@example.org"), ("phone", "+12063842291")]
    assert devices_of("p2") == [("email", "p2@example.org")]
    assert ("device_in_use", "p2") in issue_codes(run)
    assert ContactDevice.objects.filter(value="+12063842291").count() == 1


def test_D2_teacher_outranks_parent_for_a_shared_email(sync, district):
    district.users[-1]["email"] = "t2@district.k12.ca.us"  # p3 claims t2's email
    run = sync(district)
    assert devices_of("t2") == [("email", "t2@district.k12.ca.us")]
    assert devices_of("p3") == [("phone", "+12063847710")]
    issue = run.issues.get(source_id="p3")
    assert issue.code == "device_in_use" and "held by teacher t2" in issue.message


def test_D3_hand_made_account_keeps_its_email_and_the_teacher_gets_an_error(sync, district):
    hand = User.objects.create(username="signed-up-by-hand")
    ContactDevice.objects.create(account=hand, kind="email", value="t1@district.k12.ca.us")
    run = sync(district)
    assert ContactDevice.objects.get(value="t1@district.k12.ca.us").account == hand
    assert not Person.objects.filter(source_id="t1").exists()  # errors create nothing (Q)
    issue = run.issues.get(source_id="t1")
    assert issue.code == "teacher_email" and "an existing account" in issue.message


def test_D4_rerun_keeps_every_device_where_it_was(sync, district):
    district.users[-2]["phone"] = "(206) 384-2291"
    sync(district)
    first = sorted(ContactDevice.objects.values_list("account__person__source_id", "value"))
    sync(district)
    assert sorted(ContactDevice.objects.values_list("account__person__source_id", "value")) == first


def test_D_device_moves_between_two_accounts_of_the_config(sync, district):
    sync(district)
    district.users[-3]["phone"] = ""  # p1 gives up the phone ...
    district.users[-2]["phone"] = "(206) 384-2291"  # ... and p2 now has it
    run = sync(district)
    assert run.status == "succeeded", run.message
    assert ("phone", "+12063842291") in devices_of("p2")
    assert ("phone", "+12063842291") not in devices_of("p1")


def test_D5_issue_names_the_holder_by_role_and_source_id(sync, district):
    district.users[1]["email"] = "t1@district.k12.ca.us"  # t2 claims t1's email
    run = sync(district)
    issue = run.issues.get(code="teacher_email")
    assert issue.source_id == "t2"
    assert "held by teacher t1" in issue.message
    assert issue.hint


# ---------------------------------------------------------------- rule Q


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


# ---------------------------------------------------------------- rule T


def big_district(students: int) -> District:
    d = District().school("0123")
    d.teacher("t1", "0123")
    ids = [f"s{n:04d}" for n in range(students)]
    for sid in ids:
        d.student(sid, "0123")
    d.klass("c1", "0123", "Homeroom", teacher="t1", students=tuple(ids))
    return d


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


# ---------------------------------------------------------------- failure reasons and guards


def test_invalid_files_when_a_required_file_has_headers_only_while_records_are_active(
    sync, district
):
    sync(district)
    before = snapshot()
    district.enrollments = []
    run = sync(district, threshold=100)
    assert (run.status, run.failure_reason) == ("failed", "invalid_files")
    assert "enrollments.csv has a header row but no data rows" in run.message
    assert snapshot() == before


def test_headers_only_files_are_fine_for_a_brand_new_district(sync):
    run = sync(District().school("0123"))
    assert run.status == "succeeded", run.message


def test_invalid_files_for_an_unknown_header_names_the_closest_one(sync, district, tmp_path):
    folder = district.write(tmp_path / "roster")
    text = (folder / "users.csv").read_text().replace("givenName", "givneName", 1)
    (folder / "users.csv").write_text(text)
    from syncs.services import sync_run_create, sync_run_execute

    config = __import__("syncs.models", fromlist=["SyncConfig"]).SyncConfig.objects.get()
    run = sync_run_execute(run=sync_run_create(config=config))
    assert run.failure_reason == "invalid_files"
    assert "did you mean `givenName`" in run.message
    assert Person.objects.count() == 0


def test_bom_and_nbsp_header_sync_with_header_repaired_alerts(sync, district, tmp_path, config):
    folder = district.write(tmp_path / "roster")
    raw = (folder / "users.csv").read_bytes().replace(b"givenName", "givenName\u00a0".encode(), 1)
    (folder / "users.csv").write_bytes(b"\xef\xbb\xbf" + raw)
    from syncs.services import sync_run_create, sync_run_execute

    run = sync_run_execute(run=sync_run_create(config=config))
    assert run.status == "succeeded", run.message
    assert [(i.code, i.severity, i.field) for i in run.issues.all()] == [
        ("header_repaired", "alert", "givenName")
    ]


def test_schools_not_found_names_the_near_match_and_changes_nothing(sync, district):
    district.schools[0]["sourcedId"] = "123"
    for row in district.users + district.classes + district.enrollments:
        for key in ("orgSourcedIds", "schoolSourcedId"):
            if row.get(key) == "0123":
                row[key] = "123"
    run = sync(district, schools=["0123"])
    assert (run.status, run.failure_reason) == ("failed", "schools_not_found")
    assert "`0123` (did you mean `123`?)" in run.message
    assert Person.objects.count() == 0


def test_source_unavailable_when_the_folder_is_gone(config):
    from syncs.services import sync_run_create, sync_run_execute

    run = sync_run_execute(run=sync_run_create(config=config))
    assert (run.status, run.failure_reason) == ("failed", "source_unavailable")


def test_internal_error_mid_apply_leaves_the_mirror_exactly_as_before(sync, district, monkeypatch):
    sync(district)
    before = snapshot()
    district.users[0]["givenName"] = "Changed"
    district.student("s9", "0123")

    from syncs.pipeline import apply

    def boom(self, archive):
        raise RuntimeError("disk full")

    monkeypatch.setattr(apply._Writer, "devices", boom)
    run = sync(district)
    assert (run.status, run.failure_reason) == ("failed", "internal_error")
    assert "disk full" not in run.message and "Traceback" not in run.message
    assert run.diagnostics["failure"] == {"error": "RuntimeError", "applied": False}
    assert "nothing was changed" in run.message
    assert snapshot() == before


def test_internal_error_after_apply_does_not_claim_nothing_changed(sync, district, monkeypatch):
    from syncs.services import pipeline as services

    def boom(*args, **kwargs):
        raise RuntimeError("connection lost")

    monkeypatch.setattr(services, "record_success", boom)
    run = sync(district)
    assert (run.status, run.failure_reason) == ("failed", "internal_error")
    assert "the changes were applied" in run.message
    assert run.diagnostics["failure"]["applied"] is True
    assert Person.objects.count() == 8


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


def test_issues_of_a_run_replace_the_previous_runs(sync, district):
    district.birth_dates["s2"] = ""
    first = sync(district)
    assert first.issues.exists()
    district.birth_dates["s2"] = "2014-01-01"
    second = sync(district)
    assert not Issue.objects.filter(run=first).exists()
    assert not second.issues.exists()


def test_dry_run_does_not_replace_the_last_real_runs_issues(sync, district):
    district.birth_dates["s2"] = ""
    real = sync(district)
    sync(district, dry_run=True)
    assert real.issues.exists()


def _break_users(folder, how):
    users = folder / "users.csv"
    if how == "missing file":
        users.unlink()
    elif how == "unknown header":
        users.write_text(users.read_text().replace("familyName", "famliyName", 1))
    elif how == "undecodable bytes":
        users.write_bytes(users.read_bytes() + b"zz,,,true,0123,student,zz,,Bad\x81Byte,X\n")
    elif how == "missing required header":
        lines = users.read_text().splitlines()
        header = lines[0].split(",")
        keep = [i for i, h in enumerate(header) if h != "role"]
        users.write_text("\n".join(",".join(line.split(",")[i] for i in keep) for line in lines))


@pytest.mark.parametrize(
    ("how", "says"),
    [
        ("missing file", "Required OneRoster 1.1 file(s) missing: users.csv"),
        ("unknown header", "unknown header `famliyName`: did you mean `familyName`?"),
        ("undecodable bytes", "users.csv: line 10 contains bytes"),
        ("missing required header", "required header `role` is missing"),
    ],
)
def test_invalid_files_fails_naming_the_problem_and_changes_nothing(
    sync, district, config, tmp_path, how, says
):
    from syncs.services import sync_run_create, sync_run_execute

    sync(district)
    before = snapshot()
    _break_users(tmp_path / "roster", how)
    run = sync_run_execute(run=sync_run_create(config=config))
    assert (run.status, run.failure_reason) == ("failed", "invalid_files")
    assert says in run.message
    assert snapshot() == before
    assert {s.status for s in run.school_summaries.all()} == {"failed"}


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


def test_device_normalization_is_remembered_between_runs(sync, district, monkeypatch):
    from accounts import devices
    from accounts.models import NormalizedDevice

    sync(district)
    assert NormalizedDevice.objects.filter(
        kind="email", raw="t1@district.k12.ca.us", value="t1@district.k12.ca.us"
    ).exists()

    def not_again(raw):
        raise AssertionError(f"{raw!r} was normalized again")

    monkeypatch.setitem(devices.NORMALIZERS, "email", not_again)
    monkeypatch.setitem(devices.NORMALIZERS, "phone", not_again)
    run = sync(district)
    assert run.status == "succeeded", run.message
    assert devices_of("t1") == [("email", "t1@district.k12.ca.us")]


def test_remembered_normalizations_are_per_library_version(sync, district, monkeypatch):
    from accounts import devices
    from accounts.models import NormalizedDevice

    sync(district)
    monkeypatch.setattr(devices, "RULESET", "email-validator 99; phonenumbers 99")
    sync(district)
    assert NormalizedDevice.objects.filter(ruleset="email-validator 99; phonenumbers 99").exists()


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
