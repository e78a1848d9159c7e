"""The OneRoster REST source (DESIGN §5 "ClassLink / OneRoster REST") end to end against
the fake server (fake_oneroster.py): the same mirror as the CSV files, and transport
failures that fail the run with a reason and change nothing."""

from __future__ import annotations

import json
import logging
import tempfile

import pytest
from werkzeug import Response

from accounts.models import ContactDevice
from devtools.generator import generate_district
from rostering.models import Class, Enrollment, Guardianship, Person
from syncs.formats import oneroster_csv, oneroster_json
from syncs.models import Issue, SourceKind, SyncConfig
from syncs.selectors import run_issue_queryset
from syncs.sources import oneroster_api
from tests.helpers import snapshot
from tests.syncs.sources.oneroster_api.fake_oneroster import (
    FakeOneRoster,
    api_config,
    assert_no_secret,
    csv_to_json,
    run_sync,
)


def canonical(roster) -> dict:
    """A Roster's records without where they were read from."""
    return {
        "schools": {k: (s.name,) for k, s in roster.schools.items()},
        "people": {
            k: (
                p.role,
                p.given_name,
                p.family_name,
                p.email,
                p.phone,
                p.other_phones,
                p.dob,
                p.grade,
                p.school_ids,
            )
            for k, p in roster.people.items()
        },
        "classes": {k: (c.school_id, c.name, c.term) for k, c in roster.classes.items()},
        "enrollments": {k: (e.role, e.primary) for k, e in roster.enrollments.items()},
        "guardianships": roster.guardianships,
        "unreadable_people": roster.unreadable_people,
    }


def mirror_outcome() -> dict:
    """What a sync wrote, without database keys (comparable across wiped databases)."""
    people = Person.objects.select_related("account")
    devices: dict[int, list] = {}
    for account_id, kind, value in ContactDevice.objects.values_list("account_id", "kind", "value"):
        devices.setdefault(account_id, []).append((kind, value))
    return {
        "people": sorted(
            (
                p.source_id,
                p.role,
                p.given_name,
                p.family_name,
                p.email,
                p.phone,
                str(p.dob),
                p.archived_at is None,
                sorted(devices.get(p.account_id, [])),
            )
            for p in people
        ),
        "classes": sorted(Class.objects.values_list("source_id", "name", "term", "school__sis_id")),
        "enrollments": sorted(Enrollment.objects.values_list("source_id", "role", "primary")),
        "guardianships": sorted(Guardianship.objects.values_list("source_id", flat=True)),
        "issues": sorted(Issue.objects.values_list("code", "source_id", "field")),
    }


# ---------------------------------------------------------------- same as CSV


def test_oneroster_api_district_syncs_like_csv(config, server, page_size, tmp_path, sync, district):
    """Paged JSON from the API gives the same mirror as the CSV files: syncing the CSV
    of the same district afterwards (same config) changes nothing."""
    api_config(config, server)
    run = run_sync(config)
    assert run.status == "succeeded", run.message
    assert run.counts["students"]["created"] == 3
    assert run.counts["parents"]["created"] == 3
    assert run.counts["enrollments"]["created"] == 5
    assert run.counts["guardianships"]["created"] == 3
    assert server.pages("users") == [0, 2, 4, 6]  # limit 2, X-Total-Count 8
    api_state = snapshot()

    config.source_kind = SourceKind.LOCAL_FILES
    config.save()
    again = sync(district)
    assert again.status == "succeeded", again.message
    for kind, counts in again.counts.items():
        changed = {k: v for k, v in counts.items() if k not in ("unchanged", "quarantined")}
        assert not any(changed.values()), (kind, counts)
    assert snapshot() == api_state


@pytest.mark.slow
def test_generated_district_api_and_csv_give_same_records(db, httpserver, settings, tmp_path, org):
    """A generated district (200 students, every kind of data problem) served as JSON with
    limit/offset paging parses to the very records of its CSV, and syncs to the same mirror
    and issues as the CSV sync into a clean database."""
    folder = tmp_path / "generated"
    generate_district(students=200, seed=7, out=folder)
    server = FakeOneRoster(httpserver, csv_to_json(folder))
    server.total_count = False  # page until a short page
    settings.ROLLCALL = {**settings.ROLLCALL, "ONEROSTER_PAGE_SIZE": 97}
    config = api_config(SyncConfig.objects.create(organization=org, name="api"), server)

    with oneroster_api.fetch(config) as pages:
        api_roster, api_findings = oneroster_json.parse(pages)
        assert len(list(pages.glob("enrollments.*.json"))) > 3
    csv_roster, csv_findings = oneroster_csv.parse(folder)
    assert canonical(api_roster) == canonical(csv_roster)
    assert sorted(f.code for f in api_findings) == sorted(f.code for f in csv_findings)

    run = run_sync(config)
    assert run.status == "succeeded", run.message
    api_state = mirror_outcome()
    assert api_state["issues"]  # the generated problems are reported

    from tests.helpers import wipe

    wipe()
    org2 = type(org).objects.create(name="District", slug="district-csv")
    csv_config = SyncConfig.objects.create(
        organization=org2, name="files", source_kind=SourceKind.LOCAL_FILES, path=str(folder)
    )
    csv_run = run_sync(csv_config)
    assert csv_run.status == "succeeded", csv_run.message
    assert mirror_outcome() == api_state
    assert csv_run.counts == run.counts


# ---------------------------------------------------------------- transport failures


def test_429_retry_after_then_success(config, server, page_size):
    def fault(collection, offset, attempt):
        if collection == "users" and offset == 2 and attempt == 1:
            return Response("slow down", 429, {"Retry-After": "1"})
        return None

    server.fault = fault
    api_config(config, server)
    run = run_sync(config)
    assert run.status == "succeeded", run.message
    assert ("users", 2, 429) in server.log
    assert Person.objects.count() == 8


def test_500_on_page_3_of_5_leaves_everything_untouched(
    config, server, page_size, district, tmp_path, monkeypatch
):
    api_config(config, server)
    assert run_sync(config).status == "succeeded"
    before = snapshot()

    # The next night the district changed, but users page 3 (offset 4) keeps failing.
    server.data.update(csv_to_json(district.drop_user("s2").write(tmp_path / "csv2")))
    server.data["users"][0]["givenName"] = "Renamed"
    server.total_count = False  # 8 users at limit 2: pages at 0, 2, 4, 6 and an empty 8
    server.fault = lambda c, o, a: Response("oops", 500) if (c, o) == ("users", 4) else None
    server.attempts.clear()
    server.log.clear()
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))

    run = run_sync(config)
    assert (run.status, run.failure_reason) == ("failed", "source_unavailable")
    assert "500" in run.message
    assert server.attempts[("users", 4)] == oneroster_api.RETRIES + 1
    assert ("users", 6, 200) not in server.log
    assert snapshot() == before
    assert list(scratch.iterdir()) == []  # the pages read so far were removed


def test_401_fails_credentials_without_leaking(config, server, page_size, caplog):
    caplog.set_level(logging.DEBUG)
    server.fault = lambda c, o, a: (
        Response('{"imsx_codeMajor":"failure"}', 401) if c == "classes" else None
    )
    api_config(config, server)
    run = run_sync(config)
    assert (run.status, run.failure_reason) == ("failed", "credentials")
    assert not Person.objects.exists()
    assert_no_secret(run, caplog)


@pytest.mark.parametrize(
    "body",
    [
        "<html>Gateway</html>",
        json.dumps({"data": []}),
        json.dumps({"users": {"not": "a list"}}),
    ],
    ids=["not_json", "missing_key", "not_a_list"],
)
def test_malformed_page_fails_source_unavailable(config, server, page_size, body):
    server.fault = lambda c, o, a: (
        Response(body, 200, content_type="application/json") if (c, o) == ("users", 2) else None
    )
    api_config(config, server)
    run = run_sync(config)
    assert (run.status, run.failure_reason) == ("failed", "source_unavailable")
    assert "malformed" in run.message
    assert not Person.objects.exists()


def test_short_of_total_count_is_a_partial_download(config, server, page_size):
    server.fault = lambda c, o, a: (
        FakeOneRoster.json({"users": []}, 200, {"X-Total-Count": "8"})
        if (c, o) == ("users", 4)
        else None
    )
    api_config(config, server)
    run = run_sync(config)
    assert (run.status, run.failure_reason) == ("failed", "source_unavailable")
    assert "4 of the 8" in run.message


def test_404_on_required_collection_fails(config, server, page_size):
    server.missing.add("enrollments")
    api_config(config, server)
    run = run_sync(config)
    assert (run.status, run.failure_reason) == ("failed", "source_unavailable")
    assert "enrollments" in run.message


def test_404_on_demographics_is_not_fatal(config, server, page_size):
    server.missing.add("demographics")
    api_config(config, server)
    run = run_sync(config)
    assert run.status == "succeeded", run.message
    dob_errors = run_issue_queryset(run).filter(code="student_dob")
    assert sorted(dob_errors.values_list("source_id", flat=True)) == ["s1", "s2", "s3"]
    assert Person.objects.filter(role="teacher").count() == 2


def test_base_url_with_version_path_is_used_as_given(config, server, page_size):
    api_config(config, server, api_url=server.url + "/ims/oneroster/v1p1/")
    run = run_sync(config)
    assert run.status == "succeeded", run.message


def test_plain_http_to_another_host_is_refused(config, server):
    api_config(config, server, api_url="http://roster.example.org")
    run = run_sync(config)
    assert (run.status, run.failure_reason) == ("failed", "source_unavailable")
    assert server.log == []
