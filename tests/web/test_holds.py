"""Rule T6 on the pages: the tab lists each held school with its evidence, and the
preview approves the held archives of one school or of every held school."""

from __future__ import annotations

import pytest
from django.urls import reverse

from rostering.models import Person
from syncs.models import PlannedArchive, SyncRun
from tests.factories import MembershipFactory
from tests.syncs.services.test_holds import ten_school_district, without_school
from tests.web.conftest import client_for, text


@pytest.fixture
def two_held(org, sync) -> SyncRun:
    """Schools 0003 and 0007 dropped out of a ten-school district's files."""
    d = ten_school_district(students=12)
    sync(d)
    run = sync(without_school(without_school(d, "0003"), "0007"), threshold=10)
    assert [h["sis_id"] for h in run.diagnostics["held"]] == ["0003", "0007"]
    return run


@pytest.fixture
def admin(org):
    return MembershipFactory(organization=org).user


def archives_url(run, school: str = "") -> str:
    url = reverse("web:archives", args=[run.pk])
    return f"{url}?school={school}" if school else url


def test_T6_the_tab_lists_each_held_school_with_its_evidence(org, two_held, admin):
    body = text(client_for(admin).get(reverse("web:tab", args=[org.pk])))
    assert "Failed: deletion threshold exceeded at 2 schools" in body
    assert (
        "School 0003 (Academy 0003): 12 students, 1 teacher, 1 class and 13 enrollments held "
        "for approval (the school is missing from the files). Review 27 records"
    ) in body
    assert "School 0007 (Academy 0007)" in body


def test_T6_the_preview_offers_each_held_school_and_lists_only_the_one_chosen(two_held, admin):
    client = client_for(admin)
    everything = text(client.get(archives_url(two_held)))
    assert "Approve one school, or every held school" in everything
    assert "Every held school (54 records)" in everything
    assert "Academy 0003 0003 (27 records)" in everything
    one = text(client.get(archives_url(two_held, "0003")))
    assert "Records run #" in one and "would archive at Academy 0003 (0003)" in one
    assert "type the number of records to archive: 27" in one
    assert "s0007-00" not in one and "s0003-00" in one
    csv = client.get(reverse("web:archives_csv", args=[two_held.pk]) + "?school=0003")
    content = b"".join(csv.streaming_content).decode()
    assert "s0003-00" in content and "s0007-00" not in content
    assert csv["Content-Disposition"].endswith('-planned-archives-school-0003.csv"')


def test_T5_approving_one_school_on_the_page_archives_exactly_its_records(two_held, admin):
    client = client_for(admin)
    wrong = client.post(archives_url(two_held, "0003"), {"count": "54", "school": "0003"})
    assert wrong.status_code == 400
    response = client.post(
        archives_url(two_held, "0003"), {"count": "27", "school": "0003"}, follow=True
    )
    body = text(response)
    assert "Approved: 27 records archived at Academy 0003 (0003)." in body
    archived = set(
        Person.objects.filter(archived_at__isnull=False).values_list("source_id", flat=True)
    )
    assert archived == {"t0003"} | {f"s0003-{n:02d}" for n in range(12)}
    # 0007 is still held: the run page and the preview say so, and count only it.
    assert "27 records held for your approval" in body
    assert "Academy 0003 0003 Synced 0 0 14" in body  # 12 students, a teacher, a class
    assert "Academy 0007 0007 Archives held for approval 14 held" in body
    rest = text(client.get(archives_url(two_held)))
    assert "type the number of records to archive: 27" in rest
    assert "s0003-00" not in rest
    client.post(archives_url(two_held), {"count": "27"})
    two_held.refresh_from_db()
    assert two_held.archives_approved_at is not None
    assert PlannedArchive.objects.filter(run=two_held).count() == 54
    assert Person.objects.filter(archived_at__isnull=False).count() == 26
