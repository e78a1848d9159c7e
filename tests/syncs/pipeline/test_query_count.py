"""A sync's number of queries does not grow with the number of people (issue #3)."""

from __future__ import annotations

import pytest
from django.db import connection

from devtools.bench import QueryCounter
from rostering.models import Organization
from syncs.models import SyncConfig
from syncs.services import sync_run_create, sync_run_execute
from tests.builders import District

# Both districts have the same two schools; only people, classes and links differ.
SLACK = 3


def district(students: int, tag: str) -> District:
    d = District().school("0123").school("0456")
    for school in ("0123", "0456"):
        d.teacher(f"{tag}-t{school}", school)
    for n in range(students):
        school = ("0123", "0456")[n % 2]
        d.student(f"{tag}-s{n:06d}", school, agentSourcedIds=f"{tag}-p{n:06d}")
        d.parent(f"{tag}-p{n:06d}", school, phone=f"206-{300 + n // 10000:03d}-{n % 10000:04d}")
    for c in range(students // 20):
        school = ("0123", "0456")[c % 2]
        members = tuple(
            f"{tag}-s{n:06d}" for n in range(c % 2, students, 2)[c // 2 :: students // 40]
        )
        d.klass(
            f"{tag}-c{c:05d}", school, f"Class {c}", teacher=f"{tag}-t{school}", students=members
        )
    return d


def queries_per_run(tmp_path, students: int) -> list[int]:
    tag = f"d{students}"
    org = Organization.objects.create(name=tag, slug=tag)
    folder = tmp_path / tag
    config = SyncConfig.objects.create(
        organization=org,
        name=tag,
        source_kind="local_files",
        path=str(folder),
        deletion_threshold=50,
    )
    d = district(students, tag)
    counts = []
    for night in ("first", "same", "churn"):
        if night == "churn":
            d.users[-1]["familyName"] = "Renamed"
            d.drop_user(f"{tag}-s000002")
            d.student(f"{tag}-new", "0123")
        d.write(folder)
        counter = QueryCounter()
        with connection.execute_wrapper(counter):
            run = sync_run_execute(run=sync_run_create(config=config))
        assert run.status == "succeeded", run.message
        counts.append(counter.count)
    return counts


@pytest.mark.django_db
def test_query_count_does_not_grow_with_the_number_of_people(tmp_path):
    small = queries_per_run(tmp_path, 200)
    large = queries_per_run(tmp_path, 2000)
    assert all(abs(a - b) <= SLACK for a, b in zip(small, large, strict=True)), (small, large)
