"""The Clever API v3.0 source end to end against the fake Clever (fake_clever.py): the
recorded demo district synced page by page, rate limits, and failures that fail the run
with a reason and leave the mirror as it was."""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest

from rostering.models import Class, Enrollment, Guardianship, Person, School
from syncs.errors import SyncFailure
from syncs.models import SourceKind
from syncs.selectors import run_issue_queryset
from syncs.sources import clever_api
from tests.helpers import NOW, snapshot
from tests.syncs.sources.clever_api.fake_clever import TOKEN, expected_from_recording, run_sync


def test_recorded_demo_district_synced_page_by_page(clever_config, fake, fast_retries):
    """Users (2,098) arrive in 9 pages of 250 and sections (378) in 2; the counts match
    what the recording itself says."""
    expected = expected_from_recording(NOW.date())
    run = run_sync(clever_config)
    assert run.status == "succeeded", run.message

    users_pages = [p for p, status in fake.requests if p.startswith("/v3.0/users")]
    assert len(users_pages) == fake.pages("users", 250) == 9
    assert all("limit=250" in p for p in users_pages)
    assert fake.auth_headers == {f"Bearer {TOKEN}"}

    assert School.objects.count() == expected["schools"] == 5
    assert Person.objects.filter(account__isnull=False).count() == expected["accounts"]
    assert Person.objects.filter(role="student").count() == expected["students"]
    assert (
        Person.objects.filter(role__in=("teacher", "administrator")).count() == expected["teachers"]
    )
    assert Person.objects.filter(role="parent").count() == expected["parents"]
    assert Class.objects.count() == expected["classes"]
    assert Enrollment.objects.count() == expected["enrollments"]
    assert Guardianship.objects.count() == expected["guardianships"]
    assert Counter(run_issue_queryset(run).values_list("code", flat=True)) == expected["issues"]

    # The same canonical shapes as Clever CSV: a contact's combined name is kept whole.
    parent = Person.objects.get(source_id="603ebb2bb452fb006c7639cd")
    assert (parent.role, parent.given_name, parent.family_name) == ("parent", "Aaron Berge", "")
    student = Person.objects.get(source_id="5a25ffb0c1bc2a00360003ed")
    assert (student.given_name, student.family_name, student.grade) == (
        "Steve",
        "Ziemann",
        "Kindergarten",
    )
    # /terms answered 404 (optional): classes keep Clever's term_id.
    assert (
        Class.objects.get(source_id="5a25ffc265e950634b00017c").term == "603ebb2ab452fb006c763964"
    )

    again = run_sync(clever_config)
    assert again.status == "succeeded", again.message
    for kind, counts in again.counts.items():
        assert (counts["created"], counts["updated"], counts["archived"]) == (0, 0, 0), kind


def test_429_with_retry_after_waits_then_completes(clever_config, fake):
    fake.failures[("users", 2)] = [(429, {"Retry-After": "1"})]
    started = time.monotonic()
    run = run_sync(clever_config)
    assert run.status == "succeeded", run.message
    assert time.monotonic() - started >= 1.0
    statuses = [status for path, status in fake.requests if "users" in path]
    assert statuses.count(429) == 1 and len(statuses) == 9 + 1


def test_500_on_page_3_of_5_fails_and_leaves_the_mirror_as_it_was(
    clever_config, fake, fast_retries, monkeypatch
):
    monkeypatch.setattr(clever_api, "PAGE_SIZE", 500)
    assert fake.pages("users", 500) == 5
    assert run_sync(clever_config).status == "succeeded"
    before = snapshot()

    made: list[Path] = []
    real_mkdtemp = tempfile.mkdtemp

    def mkdtemp(*args, **kwargs):
        made.append(Path(real_mkdtemp(*args, **kwargs)))
        return str(made[-1])

    monkeypatch.setattr(clever_api.tempfile, "mkdtemp", mkdtemp)
    fake.always[("users", 3)] = 500
    fake.requests.clear()
    run = run_sync(clever_config)

    assert (run.status, run.failure_reason) == ("failed", "source_unavailable")
    assert "users (page 3)" in run.message and "500" in run.message
    assert snapshot() == before
    users_pages = [p for p, _status in fake.requests if p.startswith("/v3.0/users")]
    assert not any("sections" in p for p, _status in fake.requests)  # stopped at page 3
    assert len(users_pages) == 2 + 6  # two good pages, then page 3 tried 1 + 5 retries
    assert made and not made[0].exists()  # the partial pull was removed


def test_401_fails_credentials_without_the_token_anywhere(clever_config, fake):
    secret = "sk-district-abc123SECRET"
    clever_config.api_token = secret
    clever_config.save()
    run = run_sync(clever_config)
    assert (run.status, run.failure_reason) == ("failed", "credentials")
    assert secret not in run.message
    assert secret not in json.dumps(run.diagnostics)
    assert len(fake.requests) == 1  # a 401 is never retried


def test_plain_http_to_a_remote_host_is_refused(config):
    config.source_kind = SourceKind.CLEVER_API
    config.api_url = "http://api.clever.com"
    config.api_token = TOKEN
    with pytest.raises(SyncFailure) as failure:
        with clever_api.fetch(config):
            pass
    assert failure.value.reason == "source_unavailable"
    assert "https" in failure.value.message
    report = clever_api.test_connection(config)
    assert not report.ok and "plain HTTP" in report.message
    config.save()
    run = run_sync(config)
    assert (run.status, run.failure_reason) == ("failed", "source_unavailable")


def test_404_on_a_required_collection_fails_but_terms_are_optional(clever_config, fake):
    del fake.collections["sections"]
    run = run_sync(clever_config)
    assert (run.status, run.failure_reason) == ("failed", "source_unavailable")
    assert "sections" in run.message and "404" in run.message
    assert Person.objects.count() == 0


def test_next_link_to_another_host_is_refused_so_the_token_stays_home():
    base = "https://api.clever.com"
    assert clever_api._resolve(base, "/v3.0/users?starting_after=x", "users") == (
        "https://api.clever.com/v3.0/users?starting_after=x"
    )
    with pytest.raises(SyncFailure) as failure:
        clever_api._resolve(base, "https://evil.example/v3.0/users", "users")
    assert failure.value.reason == "source_unavailable"


def test_sync_roster_source_clever_end_to_end(clever_config, fake, fast_retries, monkeypatch):
    import json
    from io import StringIO

    from django.core.management import call_command

    fake.token = "cli-token-0123456789abcdef"
    monkeypatch.setenv("ROLLCALL_API_TOKEN", fake.token)
    out = StringIO()
    call_command(
        "sync_roster",
        "--org",
        "cli-demo",
        "--source",
        "clever",
        "--url",
        clever_config.api_url,
        "--json",
        stdout=out,
    )
    report = json.loads(out.getvalue())
    assert report["run"]["status"] == "succeeded"
    assert report["counts"]["classes"]["created"] == 378
    assert fake.token not in out.getvalue()
