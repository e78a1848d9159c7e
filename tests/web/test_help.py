"""In-app help: one page per failure reason and issue code, linked from the pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from syncs.findings import IssueCode
from syncs.models import FailureReason
from tests.web.conftest import client_for, text
from web import texts

EVERY_CODE = [r.value for r in FailureReason] + [c.value for c in IssueCode]


@pytest.mark.parametrize("code", EVERY_CODE)
def test_every_failure_reason_and_issue_code_has_a_help_page(world, code):
    url = reverse("web:help", args=[code.replace("_", "-")])
    page = client_for(world.school_admin).get(url)
    assert page.status_code == 200
    assert texts.article(code).title in text(page)


def test_help_index_links_every_page(world):
    html = client_for(world.district_admin).get(reverse("web:help_index")).content.decode()
    for code in EVERY_CODE:
        assert reverse("web:help", args=[code.replace("_", "-")]) in html


def test_help_urls_match_the_engines(world):
    """The explainer links to /help/<slug>/ (syncs.help.help_url): those pages exist."""
    from syncs.help import help_url

    client = client_for(world.district_admin)
    for code in EVERY_CODE:
        assert client.get(help_url(code)).status_code == 200


def test_an_unknown_help_page_is_404(world):
    url = reverse("web:help", args=["no-such-thing"])
    assert client_for(world.district_admin).get(url).status_code == 404


def test_help_needs_sign_in(db):
    assert client_for(None).get(reverse("web:help_index")).status_code == 302


def test_failure_reasons_come_first_then_errors_then_alerts():
    severities = [a.severity for a in texts.articles()]
    assert severities == sorted(severities, key=lambda s: {"": 0, "error": 1}.get(s, 2))


def test_the_tab_links_help(world):
    html = client_for(world.district_admin).get(reverse("web:tab", args=[world.org.pk]))
    assert reverse("web:help_index") in html.content.decode()
