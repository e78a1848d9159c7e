"""The real public sample files in ../shared/roster-samples that claim a file format
Rollcall reads each sync, or fail with a precise reason (issue #4). See SOURCES.md there."""

from __future__ import annotations

from collections import Counter

import pytest

from rostering.models import Class, Person
from syncs.selectors import run_issue_queryset
from syncs.services import sync_run_create, sync_run_execute
from tests.helpers import ROSTER_SAMPLES

SAMPLES = ROSTER_SAMPLES

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        not SAMPLES.exists(), reason="../shared/roster-samples is not beside the project"
    ),
]


def run_sample(config, folder: str):
    config.path = str(SAMPLES / folder)
    config.save()
    run = sync_run_execute(run=sync_run_create(config=config))
    issues = list(
        run_issue_queryset(run).values_list("code", "source_id", "file", "line", "message")
    )
    return run, issues, Counter(code for code, *_ in issues)


def test_oea_m365_sample_syncs_with_its_two_short_teacher_rows_reported(config):
    run, issues, codes = run_sample(config, "oea-m365-generated")
    assert run.status == "succeeded", run.message
    # The two teacher rows have 7 cells against an 8-column header (grade missing).
    bad = [(sid, file, line) for code, sid, file, line, _m in issues if code == "invalid_row"]
    assert bad == [("t1", "users.csv", 12), ("t2", "users.csv", 13)]
    # There is no demographics.csv, so no student has a date of birth (an error each).
    # Its users.csv has no email, sms/phone, grades or agentSourcedIds column, classes.csv
    # no termSourcedIds, enrollments.csv no primary: each named once (issue #10).
    assert codes == {
        "student_dob": 10,
        "invalid_row": 2,
        "header_repaired": 1,
        "column_missing": 6,
    }
    assert Class.objects.count() == 4  # their teachers still count (rule Q)
    assert not Person.objects.exists()


def test_sds_v2_oneroster_subset_syncs_and_names_every_non_oneroster_row(config):
    run, issues, codes = run_sample(config, "microsoft-sds-csv/sds-v2")
    assert run.status == "succeeded", run.message
    roles = sorted(m.split("`")[1] for code, *_x, m in issues if code == "invalid_row")
    # users.csv's four non-OneRoster roles, and enrollments.csv's four (an enrollment
    # role that is not one is an invalid_row too, issue #10; Aide is known and ignored).
    assert roles == [
        "Faculty",
        "Lecturer",
        "Lecturer",
        "Professor",
        "Professor",
        "Staff",
        "faculty",
        "staff",
    ]
    assert codes["unknown_reference"] == 2  # classes of org 10003, which is not a school
    assert codes["teacher_email"] == 2 and codes["student_dob"] == 14


def test_sds_v21_is_read_as_oneroster_12_with_roles_csv(config):
    run, issues, codes = run_sample(config, "microsoft-sds-csv/sds-v2.1")
    assert run.status == "succeeded", run.message
    assert run.diagnostics["issues"] == {
        "header_repaired": 2,
        # four users with no OneRoster role, and the enrollment of role `professor`
        "invalid_row": 5,
        "teacher_email": 1,
        "unknown_reference": 1,
        # optional columns SDS leaves out: grades, agentSourcedIds, termSourcedIds, primary
        "column_missing": 4,
    }
    # Guardians are in SDS's own relationships.csv, which OneRoster does not have: those
    # users have no role in roles.csv and are reported, not guessed.
    assert any("has no role in roles.csv" in m for *_x, m in issues)
    assert Person.objects.filter(role="student").count() == 3


@pytest.mark.parametrize(
    "folder",
    [
        "microsoft-sds-csv/sds-format/100-users",
        "microsoft-sds-csv/sds-format/25-users",
        "microsoft-sds-csv/sds-format/min-required-attributes",
        "microsoft-sds-csv/uk-format/100-users",
        "microsoft-sds-csv/sds-demo-small",
    ],
)
def test_classic_sds_csv_is_refused_naming_the_files_found(config, folder):
    run, _issues, _codes = run_sample(config, folder)
    assert (run.status, run.failure_reason) == ("failed", "invalid_files")
    assert "not a roster format Rollcall reads" in run.message
    assert "student.csv" in run.message
    assert not Person.objects.exists()
