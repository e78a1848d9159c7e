"""The live progress bar: htmx polls a partial every 2 s while the run is active, and
the partial stops rendering the trigger once the run has ended."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from syncs.models import RunStatus, Stage, SyncRun
from syncs.tasks import run_sync
from tests.web.conftest import client_for, text


def progress_url(run) -> str:
    return reverse("web:progress", args=[run.pk])


def test_a_queued_run_polls_every_2_seconds(world):
    run = SyncRun.objects.create(config=world.config)
    html = client_for(world.district_admin).get(progress_url(run)).content.decode()
    assert f'id="live-{world.config.pk}"' in html
    assert f'hx-get="{progress_url(run)}"' in html
    assert 'hx-trigger="every 2s"' in html
    assert 'hx-swap="outerHTML"' in html
    assert "Queued · 0%" in text(client_for(world.district_admin).get(progress_url(run)))


def test_a_running_run_shows_its_stage_and_percent(world):
    run = SyncRun.objects.create(
        config=world.config,
        status=RunStatus.RUNNING,
        stage=Stage.APPLY,
        progress_done=50,
        progress_total=100,
        started_at=timezone.now(),
    )
    body = text(client_for(world.district_admin).get(progress_url(run)))
    assert f"Run #{run.pk}: Applying · {run.percent}%" in body
    assert 0 < run.percent < 100


def test_polling_stops_when_the_run_ends(world):
    run = SyncRun.objects.create(config=world.config)
    client = client_for(world.district_admin)
    assert "hx-trigger" in client.get(progress_url(run)).content.decode()
    run_sync(run.pk)  # what the worker does
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
    html = client.get(progress_url(run)).content.decode()
    assert "hx-trigger" not in html and "hx-get" not in html
    body = text(client.get(progress_url(run)))
    assert f"Run #{run.pk} finished: Synced with 2 records skipped" in body
    assert 'value="100"' in html
    # The buttons come back with the finished bar.
    assert "Check for new data" in html and "disabled" not in html


def test_a_read_only_caller_polls_without_buttons(world):
    run = SyncRun.objects.create(config=world.config)
    html = client_for(world.staff_viewer).get(progress_url(run)).content.decode()
    assert f'hx-get="{progress_url(run)}?buttons=0"' in html
    assert "Check for new data" not in html
    run_sync(run.pk)
    assert (
        "Check for new data"
        not in client_for(world.staff_viewer).get(progress_url(run)).content.decode()
    )


def test_school_admins_follow_progress_but_not_the_run_page(world):
    run = SyncRun.objects.create(config=world.config)
    client = client_for(world.school_admin)
    assert client.get(progress_url(run)).status_code == 200
    run_sync(run.pk)
    html = client.get(progress_url(run)).content.decode()
    assert reverse("web:run", args=[run.pk]) not in html


def test_progress_of_another_districts_run_is_404(world):
    assert client_for(world.other_admin).get(progress_url(world.first_run)).status_code == 404


def test_pages_send_the_csrf_token_with_htmx_requests(world):
    html = client_for(world.district_admin).get(reverse("web:tab", args=[world.org.pk]))
    html = html.content.decode()
    assert 'hx-headers=\'{"X-CSRFToken": "' in html
    assert "/static/django_htmx/htmx-2.min.js" in html  # vendored: no CDN
