"""Browser tests: Playwright driving Debian's chromium against pytest-django's live server.

Never `playwright install` (it downloads browsers); `.ci/run` installs Debian's
chromium when /usr/bin/chromium is missing, and these tests skip, saying so, where it
is still missing. Playwright's sync API keeps an event loop in this thread, so Django
would refuse database calls here (SynchronousOnlyOperation): these tests, and only
these, allow them while the browser is open.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import ROOT
from tests.web.conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "var" / "screenshots"
WIDE = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
# axe-core impacts that fail a page.
BLOCKING = {"serious", "critical"}


@pytest.fixture(scope="package")
def browser() -> Iterator:
    if not CHROMIUM.exists():
        pytest.skip(
            "Debian's chromium is not installed at /usr/bin/chromium (apt-get install "
            "chromium; .ci/run does): the browser tests need it"
        )
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM),
                args=["--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage"],
            )
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, live_server):
    """A fresh browser tab (its own cookies) on the live server, 1366 px wide."""
    context = browser.new_context(
        viewport=WIDE, base_url=live_server.url, accept_downloads=True, locale="en-US"
    )
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    context.close()


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def shoot(page, name: str, *, width: int | None = None) -> Path:
    """A full-page screenshot in var/screenshots/ (git-ignored), at `width` if given."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    if width is not None:
        page.set_viewport_size(
            {**PHONE, "width": width} if width < 600 else {**WIDE, "width": width}
        )
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def assert_accessible(page) -> None:
    """No serious or critical axe-core violations on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    blocking = [v for v in results.response["violations"] if v.get("impact") in BLOCKING]
    report = "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(n.get("target")) for n in v.get("nodes", [])[:5])
        for v in blocking
    )
    assert not blocking, f"{page.url}:\n{report}"


def assert_no_sideways_scroll(page) -> None:
    """The page itself never scrolls sideways: only table wrappers do."""
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1, f"{page.url} is {overflow}px wider than the window"
