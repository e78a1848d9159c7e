"""Every write the pages offer: CSRF-protected and permission-checked on the server.

Each POST is tried by every caller: the district admin (and support staff) may; a
school admin or view-only staff see the organization but may not (403); another
district's admin does not see it at all (404); anonymous callers go to sign-in.
"""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from syncs.models import PlannedArchive, RunStatus, SourceKind, SyncConfig, SyncRun
from tests.web.conftest import client_for, csrf_token, text

ALLOWED = {"district_admin": 302, "support": 302}
REFUSED = {"school_admin": 403, "staff_viewer": 403, "other_admin": 404}


def run_url(world) -> str:
    return reverse("web:request_run", args=[world.org.pk, world.config.pk])


@pytest.mark.parametrize("who,status", [*ALLOWED.items(), *REFUSED.items()])
def test_check_for_new_data_is_permission_checked(world, who, status):
    before = SyncRun.objects.count()
    response = client_for(getattr(world, who)).post(run_url(world))
    assert response.status_code == status
    assert SyncRun.objects.count() == before + (1 if status == 302 else 0)


def test_check_for_new_data_queues_a_run_once(world):
    client = client_for(world.district_admin)
    first = client.post(run_url(world), follow=True)
    run = SyncRun.objects.get(status=RunStatus.QUEUED)
    assert run.trigger == "manual" and not run.dry_run
    assert f"Run #{run.pk} of {world.config.name} is queued." in text(first)
    again = client.post(run_url(world), {"dry_run": "1"}, follow=True)
    assert SyncRun.objects.filter(status=RunStatus.QUEUED).count() == 1
    assert "already queued; nothing new was queued" in text(again)


def test_dry_run_button_queues_a_dry_run(world):
    client_for(world.district_admin).post(run_url(world), {"dry_run": "1"})
    assert SyncRun.objects.get(status=RunStatus.QUEUED).dry_run


def test_check_for_new_data_needs_the_csrf_token(world):
    client = client_for(world.district_admin, csrf=True)
    assert client.post(run_url(world)).status_code == 403
    assert not SyncRun.objects.filter(status=RunStatus.QUEUED).exists()
    token = csrf_token(client, reverse("web:tab", args=[world.org.pk]))
    assert client.post(run_url(world), {"csrfmiddlewaretoken": token}).status_code == 302
    assert SyncRun.objects.filter(status=RunStatus.QUEUED).exists()


def test_run_request_is_post_only_and_anonymous_goes_to_sign_in(world):
    assert client_for(world.district_admin).get(run_url(world)).status_code == 405
    response = client_for(None).post(run_url(world))
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_config_of_another_organization_is_404_even_through_ones_own(world):
    url = reverse("web:request_run", args=[world.org.pk, world.other_config.pk])
    assert client_for(world.district_admin).post(url).status_code == 404


# ---------------------------------------------------------------- uploads


@pytest.fixture
def upload_config(world) -> SyncConfig:
    return SyncConfig.objects.create(
        organization=world.org, name="Uploads", source_kind=SourceKind.UPLOAD
    )


def export_zip(world, tmp_path) -> SimpleUploadedFile:
    folder = world.files.write(tmp_path / "export")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for path in folder.glob("*.csv"):
            z.write(path, path.name)
    return SimpleUploadedFile("export.zip", buf.getvalue(), content_type="application/zip")


def upload_url(world, config) -> str:
    return reverse("web:upload", args=[world.org.pk, config.pk])


def test_upload_files_queues_a_run_of_them(world, upload_config, tmp_path, settings):
    settings.VAR_DIR = tmp_path / "var"
    client = client_for(world.district_admin)
    assert client.get(upload_url(world, upload_config)).status_code == 200
    response = client.post(
        upload_url(world, upload_config), {"files": export_zip(world, tmp_path)}, follow=True
    )
    run = SyncRun.objects.get(config=upload_config)
    assert run.status == RunStatus.QUEUED and run.upload_path
    assert f"Run #{run.pk} is queued" in text(response)


def test_upload_refuses_other_files_and_says_why(world, upload_config, tmp_path, settings):
    settings.VAR_DIR = tmp_path / "var"
    page = client_for(world.district_admin).post(
        upload_url(world, upload_config),
        {"files": SimpleUploadedFile("roster.xlsx", b"not csv")},
    )
    assert page.status_code == 400
    assert "Only CSV files or one zip can be uploaded" in text(page)
    assert not SyncRun.objects.filter(config=upload_config).exists()


@pytest.mark.parametrize("who,status", [*REFUSED.items()])
def test_upload_is_permission_checked(world, upload_config, tmp_path, settings, who, status):
    settings.VAR_DIR = tmp_path / "var"
    client = client_for(getattr(world, who))
    assert client.get(upload_url(world, upload_config)).status_code == status
    response = client.post(upload_url(world, upload_config), {"files": export_zip(world, tmp_path)})
    assert response.status_code == status
    assert not SyncRun.objects.filter(config=upload_config).exists()


def test_upload_needs_the_csrf_token(world, upload_config, tmp_path, settings):
    settings.VAR_DIR = tmp_path / "var"
    client = client_for(world.district_admin, csrf=True)
    response = client.post(upload_url(world, upload_config), {"files": export_zip(world, tmp_path)})
    assert response.status_code == 403
    assert not SyncRun.objects.filter(config=upload_config).exists()


def test_upload_page_of_a_config_that_does_not_read_uploads_is_404(world):
    assert client_for(world.district_admin).get(upload_url(world, world.config)).status_code == 404


def test_the_tab_offers_upload_only_for_upload_configs(world, upload_config):
    html = client_for(world.district_admin).get(reverse("web:tab", args=[world.org.pk]))
    html = html.content.decode()
    assert upload_url(world, upload_config) in html
    assert upload_url(world, world.config) not in html


# ---------------------------------------------------------------- approvals


def approve_url(run) -> str:
    return reverse("web:archives", args=[run.pk])


@pytest.mark.parametrize(
    "who,status", [("district_admin", 302), ("support", 302), *REFUSED.items()]
)
def test_approving_is_permission_checked(world, blocked, who, status):
    planned = PlannedArchive.objects.filter(run=blocked).count()
    response = client_for(getattr(world, who)).post(approve_url(blocked), {"count": planned})
    # A school admin does not see a run's archive list at all (it names every school).
    expected = 404 if who == "school_admin" else status
    assert response.status_code == expected
    blocked.refresh_from_db()
    assert (blocked.archives_approved_at is not None) == (expected == 302)


def test_approving_needs_the_csrf_token(world, blocked):
    planned = PlannedArchive.objects.filter(run=blocked).count()
    client = client_for(world.district_admin, csrf=True)
    assert client.post(approve_url(blocked), {"count": planned}).status_code == 403
    blocked.refresh_from_db()
    assert blocked.archives_approved_at is None
    token = csrf_token(client, approve_url(blocked))
    response = client.post(approve_url(blocked), {"count": planned, "csrfmiddlewaretoken": token})
    assert response.status_code == 302


def test_sign_out_form_is_on_every_page(world, blocked):
    client = client_for(world.district_admin)
    for url in (
        reverse("web:tab", args=[world.org.pk]),
        reverse("web:run", args=[blocked.pk]),
        approve_url(blocked),
        reverse("web:help_index"),
    ):
        assert 'action="/logout/"' in client.get(url).content.decode(), url
