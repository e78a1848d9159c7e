"""The support console in a real browser: support staff sign in to the admin, read a
threshold-failed run's page, and approve its archives once through the preview.
Screenshots go to var/screenshots/ (admin-run-*.png).

The browser runs in a thread of its own, with its own Playwright: tests/web/browser keeps
one Playwright (and its event loop) open for its whole package, and the sync API refuses
to start a second one in a thread that has a loop.
"""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from syncs.services.support import GROUP_NAME, support_group_setup
from tests import factories as f
from tests.api.worlds import make_world
from tests.web.browser.conftest import CHROMIUM, WIDE, shoot
from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.browser


def in_a_browser(base_url: str, drive):
    """`drive(page)` in a fresh chromium tab, on a thread of its own; its result."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    outcome: dict = {}

    def run():
        try:
            with sync_playwright() as playwright:
                chromium = playwright.chromium.launch(
                    executable_path=str(CHROMIUM),
                    args=["--no-sandbox", "--disable-background-networking"],
                )
                try:
                    context = chromium.new_context(viewport=WIDE, base_url=base_url)
                    page = context.new_page()
                    page.set_default_timeout(10_000)
                    outcome["value"] = drive(page)
                finally:
                    chromium.close()
        except BaseException as exc:  # noqa: BLE001  (re-raised in the test's thread)
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="console-browser")
    thread.start()
    thread.join(120)
    if "error" in outcome:
        raise outcome["error"]
    assert not thread.is_alive(), "the browser did not finish in 2 minutes"
    return outcome.get("value")


def test_support_staff_read_a_run_and_approve_its_archives_once(live_server, tmp_path):
    world = make_world(tmp_path)
    run = world["run"]
    support_group_setup()
    user = f.UserFactory(is_staff=True, username="sue", first_name="Sue", last_name="Park")
    user.groups.add(Group.objects.get(name=GROUP_NAME))
    run_url = reverse("admin:syncs_syncrun_change", args=[run.pk])
    label = "To confirm, type the number of records to archive (3):"

    def drive(page):
        seen = {}
        page.goto(reverse("admin:login"))
        page.get_by_label("Username").fill("sue")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()

        page.goto(run_url)
        seen["headline"] = page.locator("#explainer .headline").inner_text()
        seen["first_school"] = page.locator("#school-summaries tbody tr").first.inner_text()
        shoot(page, "admin-run-1366")

        page.get_by_role("link", name="Review and approve these archives…").click()
        page.wait_for_load_state()
        shoot(page, "admin-run-approve-1366")
        page.get_by_label(label).fill("2")
        page.get_by_role("button", name="Archive 3 records").click()
        page.wait_for_load_state()
        seen["refused"] = "That is not the number of records" in page.content()
        page.get_by_label(label).fill("3")
        page.get_by_role("button", name="Archive 3 records").click()
        page.wait_for_load_state()
        seen["status"] = page.locator("#run-status").inner_text()
        seen["message"] = page.get_by_text("approved; 3 records archived.").is_visible()
        shoot(page, "admin-run-approved-1366")
        return seen

    seen = in_a_browser(live_server.url, drive)
    assert "Alpha Roosevelt Middle" in seen["headline"]
    assert seen["first_school"].startswith("alpha-0456")
    assert seen["refused"] and seen["message"]
    assert seen["status"].startswith("Approved by Sue Park at ")
    assert seen["status"].endswith(": 3 archived")
    run.refresh_from_db()
    assert run.archives_approved_by == user
