"""Uploads over the API: the admin upload's checks and limits (syncs.uploads), for upload
configs only, answered 202 with the queued run."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from syncs.models import SourceKind, SyncRun
from tests.api.conftest import client_for, threshold_district
from tests.factories import SyncConfigFactory, SyncRunFactory


@pytest.fixture(autouse=True)
def _var(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    settings.ROLLCALL = {**settings.ROLLCALL, "MAX_UPLOAD_BYTES": 2 * 1024**2}


@pytest.fixture
def upload_config(world):
    return SyncConfigFactory(organization=world.org, name="Uploads", source_kind=SourceKind.UPLOAD)


def roster_zip(tmp_path) -> SimpleUploadedFile:
    folder = threshold_district().write(tmp_path / "export")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.glob("*.csv")):
            zf.write(path, path.name)
    return SimpleUploadedFile("roster.zip", buf.getvalue(), content_type="application/zip")


def post(client, config, data):
    return client.post(f"/api/v1/sync-configs/{config.pk}/uploads/", data, format="multipart")


def test_uploading_a_zip_queues_its_run_with_202(
    world, upload_config, tmp_path, django_capture_on_commit_callbacks
):
    client = client_for(world.district_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, upload_config, {"files": [roster_zip(tmp_path)], "dry_run": "true"})
    assert response.status_code == 202, response.json()
    data = response.json()
    assert data["existing"] is False and data["dry_run"] is True
    run = SyncRun.objects.get(pk=data["id"])
    assert run.upload_path.endswith("roster.zip")
    # The worker (inline in tests) synced the upload.
    assert run.status == "succeeded", run.message


def test_uploading_csv_files_works_too(world, upload_config, tmp_path):
    folder = threshold_district().write(tmp_path / "export")
    files = [SimpleUploadedFile(p.name, p.read_bytes()) for p in sorted(folder.glob("*.csv"))]
    response = post(client_for(world.district_admin), upload_config, {"files": files})
    assert response.status_code == 202, response.json()


def test_only_upload_configs_take_uploads(world, tmp_path):
    response = post(
        client_for(world.district_admin), world.config, {"files": [roster_zip(tmp_path)]}
    )
    assert response.status_code == 409
    assert response.json()["code"] == "not_upload_config"


def test_an_upload_while_a_run_is_active_is_409(world, upload_config, tmp_path):
    active = SyncRunFactory(config=upload_config, status="running")
    response = post(
        client_for(world.district_admin), upload_config, {"files": [roster_zip(tmp_path)]}
    )
    assert response.status_code == 409
    assert response.json()["code"] == "run_active"
    assert response.json()["details"] == {"run": active.pk}


def test_files_the_admin_would_refuse_are_refused_with_400(world, upload_config, tmp_path):
    client = client_for(world.district_admin)
    text = SimpleUploadedFile("notes.txt", b"hello")
    response = post(client, upload_config, {"files": [text]})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_files"
    assert "notes.txt" in response.json()["message"]
    bad_zip = io.BytesIO()
    with zipfile.ZipFile(bad_zip, "w") as zf:
        zf.writestr("../../etc/users.csv", "sourcedId\n")
    response = post(
        client, upload_config, {"files": [SimpleUploadedFile("x.zip", bad_zip.getvalue())]}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_files"
    assert not upload_config.runs.exists()


def test_a_request_without_files_is_400(world, upload_config):
    response = post(client_for(world.district_admin), upload_config, {"dry_run": "true"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "files" in response.json()["details"]


def test_uploads_over_the_limit_are_refused(world, upload_config, settings):
    client = client_for(world.district_admin)
    settings.ROLLCALL = {**settings.ROLLCALL, "MAX_UPLOAD_BYTES": 1000}
    # Over the limit as stored: the admin upload's own check.
    response = post(
        client, upload_config, {"files": [SimpleUploadedFile("users.csv", b"x" * 2000)]}
    )
    assert response.status_code == 400
    assert "limit" in response.json()["message"]
    # Far over it: refused from the request's length, before it is read.
    big = SimpleUploadedFile("users.csv", b"x" * (1024**2 + 5000))
    response = post(client, upload_config, {"files": [big]})
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert not upload_config.runs.exists()
