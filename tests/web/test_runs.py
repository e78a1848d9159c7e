"""A run's page and rule T5 on the pages: review the held archives, type their number,
approve once."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from rostering.models import Person
from syncs.models import PlannedArchive, SchoolSummary
from syncs.records import COUNT_KINDS
from tests.web.conftest import client_for, text
from web import texts


def run_url(run) -> str:
    return reverse("web:run", args=[run.pk])


def archives_url(run) -> str:
    return reverse("web:archives", args=[run.pk])


def test_run_page_shows_the_outcome_counts_and_schools(world):
    page = client_for(world.district_admin).get(run_url(world.first_run))
    assert page.status_code == 200
    body = text(page)
    assert "Synced with 2 records skipped" in body
    assert "Changes by kind" in body and "Students" in body
    assert "Lincoln Elementary" in body and "Roosevelt Middle" in body


def test_threshold_run_explains_and_names_the_school_that_dropped_out_first(world, blocked):
    body = text(client_for(world.district_admin).get(run_url(blocked)))
    assert "Failed: deletion threshold exceeded" in body
    explanation = texts.explain_run(blocked)
    assert explanation["headline"] in body
    # The explainer leads with where the planned archives concentrate.
    assert "0456" in explanation["headline"]
    assert body.index("Roosevelt Middle") < body.index("Lincoln Elementary")
    for step in explanation["next_steps"]:
        assert step in body
    assert "held for your approval" in body
    # The school that left the files has a summary of its own: its archives alone are
    # held (rule T6), while Lincoln's changes were applied.
    held = PlannedArchive.objects.filter(
        run=blocked, kind__in=("students", "teachers", "parents", "classes")
    ).count()
    assert f"Roosevelt Middle 0456 Archives held for approval {held} held" in body
    assert "Lincoln Elementary 0123 Synced with 2 records skipped" in body


def test_school_admins_and_other_districts_get_404(world, blocked):
    for user in (world.school_admin, world.other_admin):
        client = client_for(user)
        for url in (run_url(blocked), archives_url(blocked)):
            assert client.get(url).status_code == 404, (user, url)


def test_preview_counts_by_kind_and_school_and_lists_every_record(world, blocked):
    page = client_for(world.district_admin).get(archives_url(blocked))
    assert page.status_code == 200
    body = text(page)
    planned = PlannedArchive.objects.filter(run=blocked)
    assert f"All {planned.count()}" in body
    for archive in planned:
        assert archive.source_id in body
    assert "Roosevelt Middle" in body
    assert f"type the number of records to archive: {planned.count()}" in body


def test_preview_csv_is_the_whole_list(world, blocked):
    response = client_for(world.district_admin).get(reverse("web:archives_csv", args=[blocked.pk]))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    planned = PlannedArchive.objects.filter(run=blocked)
    assert sorted(r["source_id"] for r in rows) == sorted(p.source_id for p in planned)
    assert response["Content-Disposition"] == (
        f'attachment; filename="demo-run-{blocked.pk}-planned-archives.csv"'
    )


def test_preview_list_is_paginated(world, blocked, monkeypatch):
    from web.views import runs

    monkeypatch.setattr(runs, "ARCHIVES_PER_PAGE", 3)
    client = client_for(world.district_admin)
    first = text(client.get(archives_url(blocked)))
    assert "Page 1 of" in first
    assert "Page 2 of" in text(client.get(archives_url(blocked) + "?page=2"))


@pytest.mark.parametrize("typed", ["3", "0", "", "ten", "-7", "7.0"])
def test_a_wrong_typed_count_is_refused_and_nothing_is_archived(world, blocked, typed):
    page = client_for(world.district_admin).post(archives_url(blocked), {"count": typed})
    assert page.status_code == 400
    blocked.refresh_from_db()
    assert blocked.archives_approved_at is None
    assert not Person.objects.filter(archived_at__isnull=False).exists()
    body = text(page)
    if typed:  # an empty field is "required"
        assert "That is not the number of records this run would archive." in body
        assert "Nothing was archived" in body


def test_the_right_count_approves_once_and_the_page_and_counts_agree(world, blocked):
    planned = PlannedArchive.objects.filter(run=blocked).count()
    client = client_for(world.district_admin)
    response = client.post(archives_url(blocked), {"count": str(planned)}, follow=True)
    assert response.redirect_chain[-1][0] == run_url(blocked)
    body = text(response)
    blocked.refresh_from_db()
    assert blocked.archives_approved_by == world.district_admin
    archived = sum(blocked.counts[k]["archived"] for k in COUNT_KINDS if k in blocked.counts)
    assert archived == planned
    assert f"Approved: {planned} records archived." in body
    name = world.district_admin.get_full_name()
    assert f"Approved by {name} at " in body and f": {planned} archived" in body
    # Roosevelt's people and class were archived; its school summary says so too, and
    # now reads synced.
    people_and_classes = sum(
        blocked.counts[k]["archived"] for k in ("students", "teachers", "parents", "classes")
    )
    assert Person.objects.filter(archived_at__isnull=False).count() == sum(
        blocked.counts[k]["archived"] for k in ("students", "teachers", "parents")
    )
    roosevelt = SchoolSummary.objects.get(run=blocked, sis_id="0456")
    assert (roosevelt.archived, roosevelt.status) == (people_and_classes, "succeeded")
    assert sum(s.archived for s in SchoolSummary.objects.filter(run=blocked)) == (
        people_and_classes
    )
    assert f"Roosevelt Middle 0456 Synced 0 0 {people_and_classes}" in body
    # Once only.
    again = client.post(archives_url(blocked), {"count": str(planned)})
    assert again.status_code == 409
    assert "already approved" in text(again)


def test_tab_agrees_after_approval(world, blocked):
    planned = PlannedArchive.objects.filter(run=blocked).count()
    client = client_for(world.district_admin)
    client.post(archives_url(blocked), {"count": str(planned)})
    body = text(client.get(reverse("web:tab", args=[world.org.pk])))
    assert f": {planned} archived" in body  # the run's status line, last run and history
    people_and_classes = PlannedArchive.objects.filter(
        run=blocked, kind__in=("students", "teachers", "parents", "classes")
    ).count()
    # Roosevelt's row: synced now, with what approving archived there.
    assert f"Roosevelt Middle 0456 Synced {people_and_classes} archived on approval" in body


def test_the_count_may_be_typed_with_a_thousands_separator():
    from web.forms import ApproveForm

    assert ApproveForm({"count": " 1,204 "}, planned=1204).is_valid()
    assert not ApproveForm({"count": "1.204"}, planned=1204).is_valid()


def test_only_the_latest_run_can_be_approved(world, blocked, sync):
    from tests.web.conftest import without_roosevelt

    sync(without_roosevelt(world.files), threshold=10)
    planned = PlannedArchive.objects.filter(run=blocked).count()
    page = client_for(world.district_admin).post(archives_url(blocked), {"count": planned})
    assert page.status_code == 409
    assert "A later run of this sync exists" in text(page)
    blocked.refresh_from_db()
    assert blocked.archives_approved_at is None


def test_read_only_staff_review_but_see_no_approval_form(world, blocked):
    body = text(client_for(world.staff_viewer).get(archives_url(blocked)))
    assert "Approve these archives" not in body
    assert "The list" in body


@pytest.mark.parametrize(
    "reason,failure",
    [
        ("credentials", {"status": 401, "url": "https://api.clever.com/v3.0/districts"}),
        ("schools_not_found", {"missing": ["123"], "near_matches": {"123": ["0123"]}}),
        (
            "invalid_files",
            {"file": "users.csv", "header": "frist_name", "suggestion": "first_name"},
        ),
        ("source_unavailable", {"host": "sftp.example.org"}),
        ("internal_error", {"error": "worker stopped", "applied": False}),
    ],
)
def test_every_failure_reason_renders_its_explanation(world, reason, failure):
    from tests.factories import SyncRunFactory

    run = SyncRunFactory(
        config=world.config,
        status="failed",
        failure_reason=reason,
        message="The sync stopped. Details follow.",
        diagnostics={"failure": failure},
    )
    page = client_for(world.district_admin).get(run_url(run))
    assert page.status_code == 200
    explanation = texts.explain_run(run)
    body = text(page)
    assert explanation["headline"] in body
    for step in explanation["next_steps"]:
        assert step in body
    assert f"/help/{reason.replace('_', '-')}/" in page.content.decode()
