"""Uploads (issue #4): a zip or CSV files, checked before anything runs."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from rostering.models import Person
from syncs.errors import SyncFailure
from syncs.models import SyncRun
from syncs.uploads import sync_run_upload, upload_root


@pytest.fixture(autouse=True)
def _var(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    settings.ROLLCALL = {**settings.ROLLCALL, "MAX_UPLOAD_BYTES": 10 * 1024**2}


def csv_uploads(folder):
    return [SimpleUploadedFile(p.name, p.read_bytes()) for p in sorted(folder.glob("*.csv"))]


def zip_upload(members: dict[str, bytes], name="roster.zip") -> SimpleUploadedFile:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, data in members.items():
            zf.writestr(member, data)
    return SimpleUploadedFile(name, buf.getvalue())


@pytest.fixture
def upload(django_capture_on_commit_callbacks):
    """Upload, and let the worker (inline in tests) run the queued run."""

    def upload(**kwargs) -> SyncRun:
        with django_capture_on_commit_callbacks(execute=True):
            run = sync_run_upload(**kwargs)
        run.refresh_from_db()
        return run

    return upload


def refused(config, files, match):
    with pytest.raises(SyncFailure, match=match) as exc:
        sync_run_upload(config=config, files=files)
    assert exc.value.reason == "invalid_files"
    assert not SyncRun.objects.exists()
    root = upload_root(config)
    assert not root.exists() or not any(root.iterdir())


@pytest.mark.django_db
def test_upload_of_the_csv_files_syncs_once_and_keeps_them_on_the_run(
    config, district, tmp_path, upload
):
    run = upload(config=config, files=csv_uploads(district.write(tmp_path / "export")))
    assert run.status == "succeeded", run.message
    assert Person.objects.count() == 8
    assert run.upload_path.startswith(str(upload_root(config)))
    assert config.path.endswith("roster")  # the config's own source is unchanged


@pytest.mark.django_db
def test_upload_of_a_zip_with_junk_members_ignores_the_junk(config, district, tmp_path, upload):
    files = {f"export/{p.name}": p.read_bytes() for p in district.write(tmp_path / "e").iterdir()}
    files |= {"__MACOSX/export/._users.csv": b"\x00\x05junk", "export/.DS_Store": b"\x00junk"}
    run = upload(config=config, files=[zip_upload(files)], dry_run=True)
    assert run.status == "succeeded", run.message
    assert run.dry_run and not Person.objects.exists()


@pytest.mark.django_db
def test_upload_zip_slip_is_refused(config):
    refused(
        config, [zip_upload({"../../etc/cron.d/evil.csv": b"a,b\n"})], "points outside the archive"
    )


@pytest.mark.django_db
def test_upload_absolute_member_path_is_refused(config):
    refused(config, [zip_upload({"/tmp/users.csv": b"a,b\n"})], "points outside the archive")


@pytest.mark.django_db
def test_upload_zip_bomb_is_refused(config):
    refused(config, [zip_upload({"users.csv": b"0" * (8 * 1024**2)})], "decompression bomb")


@pytest.mark.django_db
def test_upload_over_the_size_limit_is_refused(config, settings):
    settings.ROLLCALL = {**settings.ROLLCALL, "MAX_UPLOAD_BYTES": 1000}
    refused(
        config,
        [SimpleUploadedFile("users.csv", b"x" * 2000)],
        "larger than the limit of 1,000 bytes",
    )


@pytest.mark.django_db
def test_upload_of_only_junk_members_is_refused(config):
    refused(
        config,
        [zip_upload({"__MACOSX/._users.csv": b"j", ".DS_Store": b"j"})],
        "holds no roster files",
    )


@pytest.mark.django_db
def test_upload_of_other_file_types_is_refused(config):
    refused(config, [SimpleUploadedFile("roster.xlsx", b"PK..")], "Only CSV files or one zip")
    refused(
        config,
        [SimpleUploadedFile("a.zip", b"PK"), SimpleUploadedFile("users.csv", b"a")],
        "either one zip or the CSV files",
    )


@pytest.mark.django_db
def test_upload_of_a_corrupt_zip_is_refused(config):
    refused(
        config, [SimpleUploadedFile("roster.zip", b"PK\x03\x04 not really")], "not a readable zip"
    )


@pytest.mark.django_db
def test_only_the_newest_uploads_are_kept(config, district, tmp_path, settings, upload):
    settings.ROLLCALL = {**settings.ROLLCALL, "KEEP_UPLOADS": 2}
    export = district.write(tmp_path / "export")
    for _ in range(3):
        upload(config=config, files=csv_uploads(export), dry_run=True)
    assert len(list(upload_root(config).iterdir())) == 2


@pytest.mark.django_db
def test_admin_upload_page_syncs_and_shows_the_run(
    admin_client, config, district, tmp_path, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    url = reverse("admin:syncs_syncconfig_upload", args=[config.pk])
    change = admin_client.get(reverse("admin:syncs_syncconfig_change", args=[config.pk]))
    assert url in change.content.decode()  # linked from the config's page
    assert admin_client.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, {"files": csv_uploads(district.write(tmp_path / "e"))})
    run = SyncRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:syncs_syncrun_change", args=[run.pk])
    assert run.status == "succeeded"


@pytest.mark.django_db
def test_upload_while_a_run_is_active_is_refused_and_not_kept(config, district, tmp_path):
    active = SyncRun.objects.create(config=config, status="running")
    with pytest.raises(SyncFailure, match=f"Run #{active.pk} of this sync is running"):
        sync_run_upload(config=config, files=csv_uploads(district.write(tmp_path / "e")))
    assert list(SyncRun.objects.all()) == [active]
    root = upload_root(config)
    assert not root.exists() or not any(root.iterdir())


@pytest.mark.django_db
def test_admin_upload_refusal_is_shown_in_the_form(admin_client, config):
    from django.urls import reverse

    url = reverse("admin:syncs_syncconfig_upload", args=[config.pk])
    response = admin_client.post(url, {"files": [zip_upload({"../evil.csv": b"a"})]})
    assert response.status_code == 200
    assert "points outside the archive" in response.content.decode()
    assert not SyncRun.objects.exists()


@pytest.mark.django_db
def test_admin_upload_needs_a_staff_login(client, config):
    from django.urls import reverse

    response = client.get(reverse("admin:syncs_syncconfig_upload", args=[config.pk]))
    assert response.status_code == 302 and "/login/" in response["Location"]
