"""A school's issue kinds and the CSV of exactly the records of one kind."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from syncs.selectors import run_issue_queryset
from tests.factories import IssueFactory
from tests.web.conftest import FORMULA_NAME, client_for, text
from web import texts


def school_url(world, sis_id="0123") -> str:
    return reverse("web:school", args=[world.org.pk, sis_id])


def csv_url(world, code, sis_id="0123") -> str:
    return reverse("web:school_csv", args=[world.org.pk, sis_id, code])


def rows_of(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_school_page_lists_each_issue_kind_with_its_explanation_fix_and_csv(world):
    page = client_for(world.district_admin).get(school_url(world))
    assert page.status_code == 200
    body = text(page)
    for code in ("student_dob", "teacher_email"):
        article = texts.article(code)
        assert article.title in body
        assert article.fix in body  # what to change in the SIS
        assert csv_url(world, code) in page.content.decode()
    assert "1 person" in body


def test_school_page_follows_the_latest_run(world, sync):
    # The same export again: the page shows the newer run.
    again = sync(world.files)
    page = client_for(world.district_admin).get(school_url(world))
    assert f"Run #{again.pk}" in text(page)


def test_csv_holds_exactly_the_schools_records_of_that_kind(world):
    # A record of the same code at the other school must not be in Lincoln's file.
    IssueFactory(
        run=world.first_run, school_sis_id="0456", code="student_dob", source_id="elsewhere"
    )
    response = client_for(world.district_admin).get(csv_url(world, "student_dob"))
    assert response.status_code == 200
    rows = rows_of(response)
    expected = (
        run_issue_queryset(world.first_run)
        .filter(school_sis_id="0123", code="student_dob")
        .values_list("source_id", flat=True)
    )
    assert [r["source_id"] for r in rows] == list(expected) == ["s5"]
    assert rows[0]["name"] == "Dana Nodob"
    assert rows[0]["school"] == "0123"
    assert rows[0]["new"] in ("yes", "no")


def test_csv_is_formula_safe(world):
    response = client_for(world.district_admin).get(csv_url(world, "teacher_email"))
    body = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [r["source_id"] for r in rows] == ["t3"]
    assert rows[0]["name"].startswith("'" + FORMULA_NAME)
    # Every cell is quoted, and no cell starts with a formula character.
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_csv_is_named_after_organization_school_and_code(world):
    response = client_for(world.district_admin).get(csv_url(world, "student_dob"))
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="demo-0123-student_dob.csv"'


def test_csv_of_a_kind_the_school_does_not_have_is_404(world):
    client = client_for(world.district_admin)
    assert client.get(csv_url(world, "parent_name")).status_code == 404
    assert client.get(csv_url(world, "student_dob", "0456")).status_code == 404


def test_school_admin_reads_their_school_and_its_csv_only(world):
    client = client_for(world.school_admin)
    assert client.get(school_url(world)).status_code == 200
    assert client.get(csv_url(world, "student_dob")).status_code == 200
    assert client.get(school_url(world, "0456")).status_code == 404
    assert client.get(csv_url(world, "student_dob", "0456")).status_code == 404


@pytest.mark.parametrize("sis_id", ["0123", "9000"])
def test_another_districts_admin_gets_404(world, sis_id):
    client = client_for(world.other_admin)
    assert client.get(school_url(world, sis_id)).status_code == 404


def test_an_unknown_school_is_404(world):
    assert client_for(world.district_admin).get(school_url(world, "123")).status_code == 404


def test_school_ids_are_text_leading_zeros_and_all(world):
    # "0123" is not "123": the URL keeps the ID exactly as the SIS writes it.
    assert school_url(world).endswith("/schools/0123/")
