"""The sync tab: what each caller sees of their organization, and nothing of another's."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from syncs.models import RunStatus, SyncRun
from tests.web.conftest import client_for, text
from web.templatetags.web_tags import local


def tab_url(org) -> str:
    return reverse("web:tab", args=[org.pk])


def test_tab_shows_each_config_its_connection_last_run_and_next_run(world):
    page = client_for(world.district_admin).get(tab_url(world.org))
    assert page.status_code == 200
    body = text(page)
    assert world.config.name in body
    assert "Connected" in body  # the last run read the files
    # Two records were skipped (a student without a birth date, a teacher without an
    # email): the run never reads as a plain success.
    assert "Synced with 2 records skipped" in body
    assert f"Run #{world.first_run.pk}" in body
    # 23:00-05:00 Los Angeles by default: a time with minutes and the zone's abbreviation.
    assert "Next scheduled run" in body
    assert any(zone in body for zone in (" PST", " PDT"))
    assert "Check for new data" in body and "Dry run" in body


def test_times_read_in_the_districts_time_zone_with_minutes():
    at = datetime(2026, 12, 5, 7, 5, tzinfo=UTC)
    year = "" if datetime.now(UTC).year == 2026 else ", 2026"
    assert local(at, "America/Los_Angeles") == f"Dec 4{year}, 11:05 PM PST"
    assert local(at, "America/New_York").endswith("2:05 AM EST")


def test_tab_lists_schools_failed_first_then_most_errors(world, blocked):
    page = client_for(world.district_admin).get(tab_url(world.org))
    body = text(page)
    # Rule T6: only Roosevelt (missing from the files) was held; Lincoln synced.
    assert body.index("Roosevelt Middle") < body.index("Lincoln Elementary")
    assert "Failed: deletion threshold exceeded" in body


def test_tab_orders_succeeded_schools_by_errors(world):
    body = text(client_for(world.district_admin).get(tab_url(world.org)))
    # Lincoln has the two errors, Roosevelt none.
    assert body.index("Lincoln Elementary") < body.index("Roosevelt Middle")


def test_tab_school_rows_link_their_errors(world):
    page = client_for(world.district_admin).get(tab_url(world.org)).content.decode()
    school = reverse("web:school", args=[world.org.pk, "0123"])
    assert f'href="{school}#errors"' in page


def test_tab_history_lists_applied_runs_with_a_trend_chart(world, blocked):
    page = client_for(world.district_admin).get(tab_url(world.org))
    html = page.content.decode()
    assert "Run history" in html
    assert f"#{world.first_run.pk}" in html and f"#{blocked.pk}" in html
    assert html.count("<svg") == 3  # active students, errors, alerts
    assert "Active students" in html


def test_school_admin_sees_only_their_school_and_cannot_run(world):
    page = client_for(world.school_admin).get(tab_url(world.org))
    assert page.status_code == 200
    body = text(page)
    assert "Lincoln Elementary" in body
    assert "Roosevelt Middle" not in body
    assert "Check for new data" not in body
    assert "Active students" not in body  # a district-wide figure


def test_staff_viewer_sees_any_organization_read_only(world):
    page = client_for(world.staff_viewer).get(tab_url(world.other_org))
    assert page.status_code == 200
    assert "Check for new data" not in text(page)


@pytest.mark.parametrize("who", ["district_admin", "school_admin"])
def test_tab_of_another_organization_is_404(world, who):
    assert client_for(getattr(world, who)).get(tab_url(world.other_org)).status_code == 404


def test_district_admin_of_b_gets_404_on_every_page_of_a(world, blocked):
    client = client_for(world.other_admin)
    urls = [
        tab_url(world.org),
        reverse("web:school", args=[world.org.pk, "0123"]),
        reverse("web:school_csv", args=[world.org.pk, "0123", "student_dob"]),
        reverse("web:run", args=[blocked.pk]),
        reverse("web:progress", args=[blocked.pk]),
        reverse("web:archives", args=[blocked.pk]),
        reverse("web:archives_csv", args=[blocked.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url


def test_tab_shows_an_active_runs_progress(world):
    run = SyncRun.objects.create(config=world.config, status=RunStatus.QUEUED)
    html = client_for(world.district_admin).get(tab_url(world.org)).content.decode()
    assert f'id="progress-{run.pk}"' in html
    assert 'hx-trigger="every 2s"' in html
    assert "<noscript>" in html  # without JavaScript: a refresh link
    # The buttons stay but are disabled while the run is active.
    assert "disabled" in html


def test_tab_queries_do_not_grow_with_schools(world, django_assert_max_num_queries):
    client = client_for(world.district_admin)
    client.get(tab_url(world.org))  # warm the session
    with django_assert_max_num_queries(20):
        client.get(tab_url(world.org))


def test_anonymous_is_sent_to_sign_in(world):
    response = client_for(None).get(tab_url(world.org))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login") + "?next=")


def test_not_found_and_not_allowed_pages_say_so_in_words(world):
    missing = client_for(world.other_admin).get(tab_url(world.org))
    assert missing.status_code == 404 and "Not found" in text(missing)
    refused = client_for(world.school_admin).post(
        reverse("web:request_run", args=[world.org.pk, world.config.pk])
    )
    assert refused.status_code == 403 and "can see this, but not change it" in text(refused)


def test_connection_is_the_newer_of_the_preflight_check_and_the_last_run(world):
    from datetime import timedelta

    SyncConfig = type(world.config)
    later = world.first_run.finished_at + timedelta(hours=1)
    SyncConfig.objects.filter(pk=world.config.pk).update(
        preflight_checked_at=later,
        preflight_ok=False,
        preflight_message="The SFTP server refused the password.",
    )
    body = text(client_for(world.district_admin).get(tab_url(world.org)))
    assert "Not connected" in body
    assert "The SFTP server refused the password." in body
    earlier = world.first_run.finished_at - timedelta(hours=1)
    SyncConfig.objects.filter(pk=world.config.pk).update(preflight_checked_at=earlier)
    body = text(client_for(world.district_admin).get(tab_url(world.org)))
    assert "Connected The last run read the source" in body
