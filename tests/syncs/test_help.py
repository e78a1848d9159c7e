"""In-app help (syncs.help): every failure reason and issue code has a short article in
Rollcall's own words, at /help/<slug>/. A new reason or code without one fails here."""

from __future__ import annotations

import pytest

from syncs.findings import IssueCode
from syncs.help import ARTICLES, FAILURES, ISSUES, article, help_url
from syncs.models import FailureReason


def test_every_failure_reason_has_an_article():
    assert set(FAILURES) == {reason.value for reason in FailureReason}


def test_every_issue_code_has_an_article():
    assert set(ISSUES) == {code.value for code in IssueCode}


@pytest.mark.parametrize("code", sorted(ARTICLES))
def test_each_article_says_what_it_is_what_it_means_and_what_to_change(code):
    a = article(code)
    assert a is not None and a.code == code
    assert a.title and a.summary and a.meaning and a.fix
    # One line: the summary is a single sentence a tooltip can show.
    assert "\n" not in a.summary and len(a.summary) <= 120
    assert a.url == help_url(code) == f"/help/{code.replace('_', '-')}/"
    assert a.as_dict()["url"] == a.url


def test_help_url_takes_a_code_or_a_reason_as_stored():
    assert help_url(IssueCode.STUDENT_DOB) == "/help/student-dob/"
    assert help_url(FailureReason.SCHOOLS_NOT_FOUND) == "/help/schools-not-found/"
    assert article("no_such_code") is None


def test_the_articles_name_what_the_spec_promises():
    """The facts the spec gives a district admin: the threshold's guidance, the
    date-of-birth formats, the phone regions and the device order."""
    assert "10–20%" in FAILURES["threshold"].fix and "50–60%" in FAILURES["threshold"].fix
    assert "MM/DD/YYYY" in ISSUES["student_dob"].meaning
    assert "Guam" in ISSUES["unsupported_phone"].meaning
    assert "teacher, then parent, then student" in ISSUES["device_in_use"].meaning
    assert "leading" in FAILURES["schools_not_found"].meaning
