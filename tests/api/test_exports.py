"""CSV downloads over the API: the JSON lists' rows, streamed, formula-safe (DESIGN §8),
named after the organization, the run and the filter."""

from __future__ import annotations

import csv
import io

import pytest

from tests.api.conftest import client_for
from tests.builders import District
from tests.factories import MembershipFactory

FORMULAS = ['=HYPERLINK("x")', "+1", "@x", "-2"]
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def formula_run(org, sync):
    """A run blocked by the threshold whose issues and planned archives are full of
    names a spreadsheet would run as formulas."""
    d = District().school("0123", "Lincoln")
    d.teacher("t1", "0123")
    leaving = []
    for n, given in enumerate(FORMULAS):
        d.student(f"f{n}", "0123", given=given)  # archived by the next run
        d.student(f"g{n}", "0123", dob="", given=given)  # student_dob errors
        leaving.append(f"f{n}")
    d.klass("c1", "0123", "=cmd|' /C calc'!A0", teacher="t1", students=tuple(leaving))
    sync(d)
    for sid in leaving:
        d.drop_user(sid)
    run = sync(d, threshold=10)
    assert run.failure_reason == "threshold"
    return run


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(text)))


def assert_formula_safe(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            assert not cell.startswith(DANGEROUS), (cell, row)


def test_issue_csv_round_trips_with_every_formula_cell_neutralised(org, formula_run):
    admin = MembershipFactory(organization=org).user
    response = client_for(admin).get(f"/api/v1/sync-runs/{formula_run.pk}/issues.csv")
    rows = read_csv(response)
    header, body = rows[0], rows[1:]
    assert header[:12] == [
        "severity",
        "code",
        "school",
        "kind",
        "source_id",
        "name",
        "field",
        "value",
        "file",
        "line",
        "message",
        "hint",
    ]
    assert header[12:] == ["new", "first_seen_at"]
    assert_formula_safe(body)
    names = {row[header.index("name")] for row in body if row[1] == "student_dob"}
    assert names == {f"'{given} Test" for given in FORMULAS}
    # The same rows as the JSON list.
    listed = client_for(admin).get(f"/api/v1/sync-runs/{formula_run.pk}/issues/").json()
    assert len(listed["results"]) == len(body)


def test_planned_archives_csv_round_trips_with_every_formula_cell_neutralised(org, formula_run):
    admin = MembershipFactory(organization=org).user
    rows = read_csv(
        client_for(admin).get(f"/api/v1/sync-runs/{formula_run.pk}/planned-archives.csv")
    )
    assert rows[0] == ["kind", "source_id", "name", "school"]
    assert_formula_safe(rows[1:])
    students = {row[2] for row in rows[1:] if row[0] == "students"}
    assert students == {f"'{given} Test" for given in FORMULAS}
    enrollments = {row[2] for row in rows[1:] if row[0] == "enrollments"}
    assert "'=HYPERLINK(\"x\") Test in =cmd|' /C calc'!A0" in enrollments


def test_csv_file_names_say_organization_run_and_filter(world):
    client = client_for(world.district_admin)
    run = world.blocked_run.pk
    response = client.get(
        f"/api/v1/sync-runs/{run}/issues.csv?school=0123&code=student_dob&severity=error"
    )
    assert response["Content-Disposition"] == (
        f'attachment; filename="demo-run-{run}-issues-school-0123-code-student_dob'
        '-severity-error.csv"'
    )
    rows = read_csv(response)
    assert [r[1] for r in rows[1:]] == ["student_dob"]
    response = client.get(f"/api/v1/sync-runs/{run}/issues.csv")
    assert response["Content-Disposition"] == f'attachment; filename="demo-run-{run}-issues.csv"'
    response = client.get(f"/api/v1/sync-runs/{run}/planned-archives.csv?kind=students")
    assert response["Content-Disposition"] == (
        f'attachment; filename="demo-run-{run}-planned-archives-kind-students.csv"'
    )
    assert {r[0] for r in read_csv(response)[1:]} == {"students"}


def test_a_filter_value_cannot_break_out_of_the_file_name(world):
    client = client_for(world.district_admin)
    response = client.get(
        f"/api/v1/sync-runs/{world.blocked_run.pk}/issues.csv",
        {"code": '"; filename=evil.exe\r\nX-Injected: 1'},
    )
    disposition = response["Content-Disposition"]
    assert (
        disposition.count('"') == 2 and "\r" not in disposition and 'evil.exe"' not in disposition
    )
    assert "X-Injected" not in response


def test_csv_errors_are_json(world):
    client = client_for(world.district_admin)
    response = client.get(
        f"/api/v1/sync-runs/{world.blocked_run.pk}/issues.csv?severity=bogus",
        HTTP_ACCEPT="text/csv",
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "invalid"
    response = client.get("/api/v1/sync-runs/999999/issues.csv", HTTP_ACCEPT="text/csv")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_issue_filters_on_the_json_list(world):
    client = client_for(world.district_admin)
    url = f"/api/v1/sync-runs/{world.blocked_run.pk}/issues/"

    def codes(query):
        response = client.get(url + query)
        assert response.status_code == 200, response.json()
        return sorted(i["code"] for i in response.json()["results"])

    assert codes("") == ["student_dob", "unsupported_phone"]
    assert codes("?school=0456") == ["unsupported_phone"]
    assert codes("?severity=error") == ["student_dob"]
    assert codes("?code=student_dob&school=0123") == ["student_dob"]
    assert sorted(codes("?new=true") + codes("?new=false")) == codes("")
    issue = client.get(url + "?code=student_dob").json()["results"][0]
    assert set(issue) >= {"severity", "school", "kind", "source_id", "new", "first_seen_at"}
    assert issue["name"] == "Dana Nodob"


def test_downloads_are_throttled(world, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "downloads": "2/hour",
        },
    }
    client = client_for(world.district_admin)
    url = f"/api/v1/sync-runs/{world.blocked_run.pk}/planned-archives.csv"
    assert client.get(url).status_code == 200
    assert client.get(url).status_code == 200
    assert client.get(url).status_code == 429
    # The JSON lists are not downloads.
    assert client.get(f"/api/v1/sync-runs/{world.blocked_run.pk}/issues/").status_code == 200
