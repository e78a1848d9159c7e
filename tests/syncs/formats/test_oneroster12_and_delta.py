"""OneRoster 1.2 CSV (roles.csv, preferred names) and OneRoster delta files (issue #4)."""

from __future__ import annotations

import csv

import pytest

from rostering.models import Enrollment, Person
from syncs.formats import detect
from syncs.formats import parse as parse_any
from syncs.formats.oneroster_csv import ROLES, USERS_12
from syncs.selectors import run_issue_queryset
from syncs.services import sync_run_create, sync_run_execute
from tests.builders import District, small_district, write_csv


def to_12(d: District, folder):
    """Write `d` as OneRoster 1.2: role and org in roles.csv, preferred names possible."""
    d.write(folder)
    write_csv(folder / "users.csv", USERS_12.columns, d.users)
    roles = [
        {
            "sourcedId": f"r-{u['sourcedId']}",
            "userSourcedId": u["sourcedId"],
            "roleType": "primary",
            "role": {"parent": "guardian", "administrator": "siteAdministrator"}.get(
                u["role"], u["role"]
            ),
            "orgSourcedId": org,
        }
        for u in d.users
        for org in u["orgSourcedIds"].split(",")
    ]
    write_csv(folder / "roles.csv", ROLES.columns, roles)
    (folder / "manifest.csv").write_text("propertyName,value\noneroster.version,1.2\n")
    return folder


def test_oneroster_12_is_detected_from_the_manifest_or_roles_csv(tmp_path):
    folder = to_12(small_district(), tmp_path / "r")
    assert detect(folder) == "oneroster_1_2_csv"
    (folder / "manifest.csv").unlink()
    assert detect(folder) == "oneroster_1_2_csv"  # roles.csv alone says so


def test_oneroster_12_roles_and_preferred_names(tmp_path):
    d = small_district()
    d.users[0]["preferredGivenName"] = "Annie"
    roster, findings = parse_any(to_12(d, tmp_path / "r"))
    assert findings == []
    assert roster.format == "oneroster_1_2_csv"
    assert roster.people["t1"].given_name == "Annie"
    assert roster.people["p3"].role == "parent"  # guardian
    assert roster.people["s3"].school_ids == ("0456",)


def test_oneroster_12_secondary_role_does_not_override_the_primary(tmp_path):
    folder = to_12(small_district(), tmp_path / "r")
    with (folder / "roles.csv").open("a", newline="") as f:
        csv.writer(f).writerow(["r-x", "", "", "s1", "secondary", "teacher", "", "", "0123", ""])
    roster, _ = parse_any(folder)
    assert roster.people["s1"].role == "student"


def test_oneroster_12_user_without_a_role_is_an_invalid_row(tmp_path):
    folder = to_12(small_district(), tmp_path / "r")
    rows = (folder / "roles.csv").read_text().splitlines()
    (folder / "roles.csv").write_text("\n".join(r for r in rows if ",s2," not in r) + "\n")
    roster, findings = parse_any(folder)
    assert "s2" not in roster.people and "s2" in roster.unreadable_people
    assert [(f.code, f.source_id) for f in findings] == [("invalid_row", "s2")]


@pytest.mark.django_db
def test_oneroster_12_syncs_the_same_as_11(sync, district, config, tmp_path):
    sync(district)
    eleven = sorted(Person.objects.values_list("source_id", "role", "given_name", "email"))
    to_12(district, tmp_path / "roster")
    run = sync_run_execute(run=sync_run_create(config=config))
    assert run.status == "succeeded", run.message
    assert sorted(Person.objects.values_list("source_id", "role", "given_name", "email")) == eleven
    assert all(c["created"] == c["updated"] == c["archived"] == 0 for c in run.counts.values())


def _delta(folder, users=(), enrollments=(), classes=()):
    """A delta package: only the given rows, files marked delta."""
    from syncs.formats.oneroster_csv import CLASSES, ENROLLMENTS, USERS

    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.csv"):
        old.unlink()
    (folder / "manifest.csv").write_text(
        "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\n"
        "file.orgs,absent\nfile.users,delta\nfile.classes,delta\nfile.enrollments,delta\n"
        "file.demographics,absent\nfile.academicSessions,absent\nfile.courses,absent\n"
    )
    write_csv(folder / "users.csv", USERS.columns, list(users))
    write_csv(folder / "classes.csv", CLASSES.columns, list(classes))
    write_csv(folder / "enrollments.csv", ENROLLMENTS.columns, list(enrollments))


@pytest.mark.django_db
def test_delta_tobedeleted_archives_that_record_and_absent_records_stay(
    sync, district, config, tmp_path
):
    sync(district, threshold=50)
    s2 = next(u for u in district.users if u["sourcedId"] == "s2")
    t1 = dict(
        next(u for u in district.users if u["sourcedId"] == "t1"),
        givenName="Tess",
        status="active",
        dateLastModified="2026-11-24T00:00:00.000Z",
    )
    _delta(
        tmp_path / "roster",
        users=[dict(s2, status="tobedeleted", dateLastModified="2026-11-24T00:00:00.000Z"), t1],
    )
    run = sync_run_execute(run=sync_run_create(config=config))
    assert run.status == "succeeded", run.message
    assert Person.objects.get(source_id="s2").archived_at is not None
    assert Enrollment.objects.get(source_id="c1/s2").archived_at is not None
    assert Person.objects.get(source_id="t1").given_name == "Tess"
    # Everyone the delta does not mention is untouched, not archived.
    assert Person.objects.filter(archived_at__isnull=True).count() == 7
    assert run.counts["students"]["archived"] == 1
    assert run.diagnostics["delta"]["deleted_people"] == 1


@pytest.mark.django_db
def test_delta_adds_an_enrollment_and_deletes_another(sync, district, config, tmp_path):
    sync(district, threshold=50)
    _delta(
        tmp_path / "roster",
        enrollments=[
            {
                "sourcedId": "e-new",
                "classSourcedId": "c2",
                "userSourcedId": "s2",
                "role": "student",
            },
            {
                "sourcedId": "e-c1-s1",
                "status": "tobedeleted",
                "classSourcedId": "c1",
                "userSourcedId": "s1",
                "role": "student",
            },
        ],
    )
    run = sync_run_execute(run=sync_run_create(config=config))
    assert run.status == "succeeded", run.message
    assert Enrollment.objects.get(source_id="c2/s2").archived_at is None
    assert Enrollment.objects.get(source_id="c1/s1").archived_at is not None
    assert Enrollment.objects.filter(archived_at__isnull=True).count() == 5


@pytest.mark.django_db
def test_delta_deletions_still_obey_the_threshold(sync, config, tmp_path):
    d = District().school("0123").teacher("t1", "0123")
    for n in range(20):
        d.student(f"s{n:02d}", "0123")
    d.klass("c1", "0123", teacher="t1", students=tuple(f"s{n:02d}" for n in range(20)))
    sync(d)
    gone = [dict(u, status="tobedeleted") for u in d.users if u["role"] == "student"][:5]
    _delta(tmp_path / "roster", users=gone)
    run = sync_run_execute(run=sync_run_create(config=config))
    assert run.failure_reason == "threshold"
    assert not Person.objects.filter(archived_at__isnull=False).exists()


@pytest.mark.django_db
def test_a_format_set_on_the_config_wins_over_detection(sync, district, config, tmp_path):
    district.write(tmp_path / "roster")
    config.format = "clever_csv"
    config.save()
    run = sync_run_execute(run=sync_run_create(config=config))
    assert run.failure_reason == "invalid_files"
    assert "students.csv" in run.message  # read as Clever, whose files are missing


def test_unrecognizable_files_fail_listing_what_was_found(tmp_path):
    from syncs.errors import SyncFailure

    (tmp_path / "export.csv").write_text("a,b\n1,2\n")
    with pytest.raises(SyncFailure, match="Found: export.csv") as exc:
        detect(tmp_path)
    assert exc.value.reason == "invalid_files"


@pytest.mark.django_db
def test_delta_rename_keeps_the_birth_date_the_delta_does_not_repeat(
    sync, district, config, tmp_path
):
    sync(district)
    s1 = dict(next(u for u in district.users if u["sourcedId"] == "s1"), givenName="Sasha")
    _delta(tmp_path / "roster", users=[s1])
    run = sync_run_execute(run=sync_run_create(config=config))
    assert run.status == "succeeded", run.message
    assert not run_issue_queryset(run).filter(code="student_dob").exists()
    assert Person.objects.get(source_id="s1").given_name == "Sasha"


@pytest.mark.django_db
def test_delta_links_a_new_parent_to_a_student_the_delta_does_not_repeat(
    sync, district, config, tmp_path
):
    from rostering.models import Guardianship

    sync(district)
    parent = {
        "sourcedId": "p9",
        "enabledUser": "true",
        "orgSourcedIds": "0456",
        "role": "parent",
        "givenName": "Pat",
        "familyName": "Nine",
        "email": "p9@example.org",
        "agentSourcedIds": "s2",
    }
    _delta(tmp_path / "roster", users=[parent])
    run = sync_run_execute(run=sync_run_create(config=config))
    assert run.status == "succeeded", run.message
    assert Guardianship.objects.filter(source_id="p9/s2", archived_at__isnull=True).exists()
    assert not run_issue_queryset(run).filter(code="unknown_reference").exists()


@pytest.mark.django_db
def test_delta_with_nothing_in_it_changes_nothing_and_reports_no_new_errors(sync, config, tmp_path):
    d = District().school("0123").teacher("t1", "0123").student("s1", "0123")
    d.parent("p1", "0123", "s1", email="", sms="876-927-1234", phone="(206) 384-2291")
    d.klass("c1", "0123", teacher="t1", students=("s1",))
    sync(d)
    _delta(tmp_path / "roster")
    run = sync_run_execute(run=sync_run_create(config=config))
    assert run.status == "succeeded", run.message
    assert not run_issue_queryset(run).filter(severity="error").exists()
    assert all(c["created"] == c["updated"] == c["archived"] == 0 for c in run.counts.values())


@pytest.mark.django_db
def test_oneroster_12_delta_keeps_the_role_of_a_user_whose_roles_row_did_not_change(
    sync, district, config, tmp_path
):
    folder = tmp_path / "roster"
    to_12(district, folder)
    assert sync_run_execute(run=sync_run_create(config=config)).status == "succeeded"
    t1 = dict(next(u for u in district.users if u["sourcedId"] == "t1"), givenName="Tess")
    for old in folder.glob("*.csv"):
        old.unlink()
    (folder / "manifest.csv").write_text(
        "propertyName,value\noneroster.version,1.2\nfile.users,delta\nfile.roles,delta\n"
        "file.orgs,absent\nfile.classes,absent\nfile.enrollments,absent\n"
    )
    write_csv(folder / "users.csv", USERS_12.columns, [t1])
    write_csv(folder / "roles.csv", ROLES.columns, [])
    run = sync_run_execute(run=sync_run_create(config=config))
    assert run.status == "succeeded", run.message
    t1_row = Person.objects.get(source_id="t1")
    assert (t1_row.given_name, t1_row.role) == ("Tess", "teacher")
    assert not run_issue_queryset(run).filter(severity="error").exists()
