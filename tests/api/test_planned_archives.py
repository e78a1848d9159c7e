"""Planned archives name every record and its school, enrollments and guardian links
included, so the list reviewed before approving (rule T5) is readable."""

from __future__ import annotations

from syncs.models import PlannedArchive
from tests.api.conftest import client_for


def test_T5_every_planned_archive_has_a_name_and_a_school(world):
    stored = list(
        PlannedArchive.objects.filter(run=world.blocked_run).values_list(
            "kind", "source_id", "name", "school_sis_id"
        )
    )
    assert {kind for kind, *_ in stored} == {
        "students",
        "teachers",
        "parents",
        "classes",
        "enrollments",
        "guardianships",
    }
    for kind, source_id, name, school in stored:
        assert name and school == "0456", (kind, source_id, name, school)
    assert ("enrollments", "c2/s3", "S3 Test in Science 7", "0456") in stored
    assert ("enrollments", "c2/t2", "T2 Test in Science 7", "0456") in stored
    assert ("guardianships", "p3/s4", "P3 Test → S4 Test", "0456") in stored
    assert ("classes", "c2", "Science 7", "0456") in stored


def test_planned_archives_list_is_paged_and_filtered(world):
    client = client_for(world.district_admin)
    url = f"/api/v1/sync-runs/{world.blocked_run.pk}/planned-archives/"
    everything = client.get(url).json()
    assert everything["count"] == world.blocked_run.planned_archives.count()
    first = everything["results"][0]
    assert set(first) == {"kind", "source_id", "name", "school_sis_id"}
    guardians = client.get(url, {"kind": "guardianships"}).json()["results"]
    assert [g["name"] for g in guardians] == ["P3 Test → S3 Test", "P3 Test → S4 Test"]
    assert client.get(url, {"school": "0123"}).json()["count"] == 0
    assert client.get(url, {"page_size": 2}).json()["next"]
