"""The pages in a real browser: what district and school admins see and do, at 1,366 px
and 390 px, with axe-core checking each page. Screenshots go to var/screenshots/."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import pytest
from django.urls import reverse

from rostering.models import Person
from syncs.models import PlannedArchive, RunStatus, SyncRun
from tests.web.browser.conftest import (
    assert_accessible,
    assert_no_sideways_scroll,
    shoot,
    sign_in,
)

pytestmark = pytest.mark.browser


def work_one_task() -> None:
    """Be the worker for one task: take it from django-q2's queue (the ORM broker, as
    `manage.py qcluster` does) and run it, on this thread's database connection."""
    from pydoc import locate

    from django_q.brokers import get_broker
    from django_q.signing import SignedPackage

    broker = get_broker()
    tasks = broker.dequeue()
    assert tasks, "nothing in the worker's queue"
    ack_id, payload = tasks[0]
    task = SignedPackage.loads(payload)
    func = locate(task["func"]) if isinstance(task["func"], str) else task["func"]
    func(*task["args"], **task["kwargs"])
    broker.acknowledge(ack_id)


def test_district_admin_checks_schools_downloads_a_csv_and_runs_a_sync(
    page, world, live_server, monkeypatch
):
    # Queue for real: the task goes to django-q2's ORM queue instead of running inline
    # (the test settings' `sync`), and this test plays the worker below.
    monkeypatch.setattr("django_q.conf.Conf.SYNC", False)

    sign_in(page, world.district_admin.username)
    tab = reverse("web:tab", args=[world.org.pk])
    assert page.url.endswith(tab)
    schools = page.locator("table.schools tbody")
    assert schools.get_by_text("Lincoln Elementary").is_visible()
    assert schools.get_by_text("Roosevelt Middle").is_visible()
    assert "Hidden Valley High" not in page.content()
    assert page.get_by_text("Synced with 2 records skipped").first.is_visible()
    shoot(page, "tab-1366")
    assert_accessible(page)
    assert_no_sideways_scroll(page)

    # Another district's tab does not exist for this admin.
    other = page.goto(reverse("web:tab", args=[world.other_org.pk]))
    assert other.status == 404
    page.goto(tab)

    # Lincoln's errors, then one kind's CSV.
    page.get_by_role("link", name="2 errors at Lincoln Elementary").click()
    assert page.url.endswith(reverse("web:school", args=[world.org.pk, "0123"]) + "#errors")
    assert page.get_by_role("heading", name="Student without a valid date of birth").is_visible()
    shoot(page, "school-1366")
    assert_accessible(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the 1 person as CSV").first.click()
    assert download.value.suggested_filename in (
        "demo-0123-student_dob.csv",
        "demo-0123-teacher_email.csv",
    )
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert len(rows) == 1 and rows[0]["school"] == "0123"
    assert rows[0]["source_id"] in ("s5", "t3")

    # Check for new data: the run is queued, the bar polls, the worker runs it, the bar
    # reaches 100% and stops polling.
    page.goto(tab)
    page.get_by_role("button", name="Check for new data").click()
    page.wait_for_load_state()
    run = SyncRun.objects.get(status=RunStatus.QUEUED)
    live = page.locator(f"#live-{world.config.pk}")
    assert live.get_attribute("hx-trigger") == "every 2s"
    assert "Queued" in live.locator(f"#progress-{run.pk}").inner_text()
    assert page.get_by_role("button", name="Check for new data").is_disabled()
    shoot(page, "tab-progress-1366")
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if "/progress/" in r.url else None)
    page.wait_for_timeout(2500)
    assert polls, "the progress bar did not poll"
    work_one_task()
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
    done = page.locator(f'#progress-{run.pk}[data-status="succeeded"]')
    done.wait_for(timeout=10_000)
    assert "finished: Synced with 2 records skipped" in done.inner_text()
    assert done.locator("progress").get_attribute("value") == "100"
    assert live.get_attribute("hx-trigger") is None
    assert page.get_by_role("button", name="Check for new data").is_enabled()
    seen = len(polls)
    page.wait_for_timeout(2500)
    assert len(polls) == seen, "the bar kept polling after the run ended"
    shoot(page, "tab-progress-done-1366")

    page.goto(tab)
    shoot(page, "tab-390", width=390)
    assert_no_sideways_scroll(page)
    assert_accessible(page)
    page.goto(reverse("web:school", args=[world.org.pk, "0123"]))
    shoot(page, "school-390", width=390)
    assert_no_sideways_scroll(page)


def test_school_admin_sees_only_their_school(page, world):
    sign_in(page, world.school_admin.username)
    assert page.url.endswith(reverse("web:tab", args=[world.org.pk]))
    schools = page.locator("table.schools tbody tr")
    assert schools.count() == 1
    assert "Lincoln Elementary" in schools.first.inner_text()
    assert "Roosevelt Middle" not in page.content()
    assert page.get_by_role("button", name="Check for new data").count() == 0
    shoot(page, "tab-school-admin-1366")
    assert_accessible(page)
    assert page.goto(reverse("web:school", args=[world.org.pk, "0456"])).status == 404
    assert page.goto(reverse("web:run", args=[world.first_run.pk])).status == 404


def test_district_admin_reviews_and_approves_a_threshold_failed_run(page, world, blocked):
    sign_in(page, world.district_admin.username)
    page.get_by_role("link", name=f"Run #{blocked.pk}").first.click()
    assert page.url.endswith(reverse("web:run", args=[blocked.pk]))
    explanation = page.locator("section.explanation")
    # The explainer leads with the school that dropped out of the files.
    headline = explanation.locator("h2").inner_text()
    assert "0456" in headline and "Roosevelt Middle" in headline
    first_school = explanation.locator("table tbody tr").first.inner_text()
    assert "Roosevelt Middle" in first_school
    shoot(page, "run-threshold-1366")
    assert_accessible(page)

    planned = PlannedArchive.objects.filter(run=blocked).count()
    page.get_by_role("link", name="Review and approve").click()
    assert page.get_by_role("heading", name="By school").is_visible()
    shoot(page, "approval-preview-1366")
    assert_accessible(page)
    assert_no_sideways_scroll(page)

    # A wrong number is refused and nothing is archived.
    page.get_by_label("To confirm, type the number of records to archive").fill(str(planned - 1))
    page.get_by_role("button", name=f"Archive {planned} records").click()
    assert page.get_by_text("That is not the number of records").is_visible()
    blocked.refresh_from_db()
    assert blocked.archives_approved_at is None
    assert not Person.objects.filter(archived_at__isnull=False).exists()
    shoot(page, "approval-refused-1366")
    assert_accessible(page)

    page.get_by_label("To confirm, type the number of records to archive").fill(str(planned))
    page.get_by_role("button", name=f"Archive {planned} records").click()
    page.wait_for_load_state()
    assert page.url.endswith(reverse("web:run", args=[blocked.pk]))
    status = page.locator("#run-status").inner_text()
    name = world.district_admin.get_full_name()
    assert status.startswith(f"Approved by {name} at ") and status.endswith(f"{planned} archived")
    blocked.refresh_from_db()
    assert blocked.archives_approved_by == world.district_admin
    archived_people = Person.objects.filter(archived_at__isnull=False).count()
    assert archived_people == sum(
        blocked.counts[k]["archived"] for k in ("students", "teachers", "parents")
    )
    # The page's school rows add up to the run's people and classes archived.
    roosevelt = page.locator("tr", has_text="Roosevelt Middle").last.inner_text()
    people_and_classes = archived_people + blocked.counts["classes"]["archived"]
    assert roosevelt.split()[-3] == str(people_and_classes), roosevelt
    shoot(page, "run-approved-1366")
    assert_accessible(page)
    shoot(page, "run-approved-390", width=390)
    assert_no_sideways_scroll(page)

    page.goto(reverse("web:tab", args=[world.org.pk]))
    assert page.get_by_text(f"{planned} archived").first.is_visible()


def test_staff_index_and_the_upload_form_are_accessible(page, world):
    from syncs.models import SourceKind, SyncConfig

    uploads = SyncConfig.objects.create(
        organization=world.org, name="Uploads", source_kind=SourceKind.UPLOAD
    )
    sign_in(page, world.support.username)
    assert page.get_by_role("link", name=world.other_org.name).is_visible()
    assert_accessible(page)
    page.get_by_role("link", name=world.org.name).click()
    page.get_by_role("link", name="Upload files").click()
    assert page.url.endswith(reverse("web:upload", args=[world.org.pk, uploads.pk]))
    shoot(page, "upload-1366")
    assert_accessible(page)


def test_help_and_sign_in_pages_are_accessible(page, world):
    page.goto("/login/")
    shoot(page, "login-390", width=390)
    assert_accessible(page)
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, world.district_admin.username)
    page.get_by_role("link", name="Help").first.click()
    assert_accessible(page)
    page.get_by_role("link", name="Deletion threshold exceeded").click()
    assert page.get_by_role("heading", name="Deletion threshold exceeded").is_visible()
    shoot(page, "help-threshold-1366")
    assert_accessible(page)
    page.goto("/password/")
    assert_accessible(page)


def test_pages_work_without_javascript(browser, live_server, world):
    context = browser.new_context(
        viewport={"width": 1366, "height": 900}, base_url=live_server.url, java_script_enabled=False
    )
    page = context.new_page()
    try:
        sign_in(page, world.district_admin.username)
        SyncRun.objects.create(config=world.config)
        page.goto(reverse("web:tab", args=[world.org.pk]))
        # No polling without JavaScript: a link to refresh instead.
        assert page.get_by_role("link", name="Refresh").first.is_visible()
        start = time.monotonic()
        page.get_by_role("link", name="2 errors at Lincoln Elementary").click()
        assert page.get_by_role("heading", name="Errors 2").is_visible()
        assert time.monotonic() - start < 10
    finally:
        context.close()
