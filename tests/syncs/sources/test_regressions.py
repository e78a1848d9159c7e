"""Regressions found by review of the file and API sources (issues #4 and #5)."""

from __future__ import annotations

import json
import zipfile

import pytest
from cryptography.fernet import Fernet
from django.test import override_settings

from rostering.models import Person
from syncs.models import SourceKind, SyncRun
from syncs.services import sync_run_create, sync_run_execute
from tests.builders import small_district


def write_clever_pages(folder, *, schools: bool) -> None:
    """A tiny Clever API pull as the source saves it: one page per collection."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*"):
        old.unlink()
    collections = {
        "districts": [{"data": {"id": "d1", "name": "D"}}],
        "schools": [{"data": {"id": "sch1", "name": "S"}}] if schools else [],
        "users": [
            {
                "data": {
                    "id": "t1",
                    "name": {"first": "T", "last": "One"},
                    "email": "t1@district.k12.ca.us",
                    "roles": {"teacher": {"schools": ["sch1"]}},
                }
            },
            {
                "data": {
                    "id": "s1",
                    "name": {"first": "S", "last": "One"},
                    "roles": {
                        "student": {"dob": "2/11/2012", "school": "sch1", "schools": ["sch1"]}
                    },
                }
            },
        ],
        "sections": [
            {
                "data": {
                    "id": "c1",
                    "name": "Math",
                    "school": "sch1",
                    "teacher": "t1",
                    "students": ["s1"],
                }
            }
        ],
    }
    index = {"collections": {}}
    for name, items in collections.items():
        (folder / f"{name}-0001.json").write_text(json.dumps({"data": items, "links": []}))
        index["collections"][name] = {
            "pages": [f"{name}-0001.json"],
            "items": len(items),
            "found": True,
        }
    (folder / "index.json").write_text(json.dumps(index))


@pytest.mark.django_db
def test_a_clever_pull_with_no_schools_fails_invalid_files_instead_of_archiving(config, tmp_path):
    config.format = "clever_api_json"
    config.deletion_threshold = 100  # only the empty-file guard can stop it
    config.save()
    write_clever_pages(tmp_path / "roster", schools=True)
    assert sync_run_execute(run=sync_run_create(config=config)).status == "succeeded"
    write_clever_pages(tmp_path / "roster", schools=False)
    run = sync_run_execute(run=sync_run_create(config=config))
    assert run.failure_reason == "invalid_files"
    assert Person.objects.filter(archived_at__isnull=True).count() == 2


@pytest.mark.django_db
def test_a_wrong_encryption_key_fails_the_run_instead_of_leaving_it_running(config):
    config.source_kind = SourceKind.CLEVER_API
    config.api_token = "tok"
    config.save()
    run_pk = SyncRun.objects.create(config_id=config.pk).pk
    with override_settings(FIELD_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
        sync_run_execute(run=SyncRun.objects.get(pk=run_pk))
    run = SyncRun.objects.get(pk=run_pk)
    assert (run.status, run.failure_reason, run.stage) == ("failed", "internal_error", "done")
    assert "FIELD_ENCRYPTION_KEYS" in run.message and "tok" not in run.message


@pytest.mark.django_db
def test_a_zip_member_clashing_with_a_file_fails_invalid_files(config, tmp_path):
    files = small_district().write(tmp_path / "d")
    archive = tmp_path / "roster.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in files.iterdir():
            zf.write(path, path.name)
        zf.writestr("users.csv/readme.txt", "x")
    config.path = str(archive)
    config.save()
    run = sync_run_execute(run=sync_run_create(config=config))
    assert run.failure_reason == "invalid_files"
    assert "clashes" in run.message


@pytest.mark.django_db
def test_an_upload_keeps_the_format_set_on_the_config(
    config, district, tmp_path, settings, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from syncs.uploads import sync_run_upload

    settings.VAR_DIR = tmp_path / "var"
    config.format = "clever_csv"
    config.save()
    export = district.write(tmp_path / "export")
    files = [SimpleUploadedFile(p.name, p.read_bytes()) for p in export.glob("*.csv")]
    with django_capture_on_commit_callbacks(execute=True):
        run = sync_run_upload(config=config, files=files)
    run.refresh_from_db()
    assert run.failure_reason == "invalid_files"  # read as Clever, as the config says
    assert "students.csv" in run.message


@pytest.mark.django_db
def test_oneroster_server_capping_page_size_is_read_to_the_end(httpserver, config, monkeypatch):
    """A server that returns fewer records than `limit` asked for (and no X-Total-Count)
    must be paged until an empty page, not taken as done after the first short page."""
    from werkzeug import Response

    from syncs.sources import oneroster_api

    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    users = [
        {"sourcedId": f"u{n:02d}", "role": "student", "givenName": "A", "familyName": "B"}
        for n in range(7)
    ]

    def page(request):
        offset = int(request.args.get("offset", 0))
        size = min(int(request.args.get("limit")), 2)  # the server's own cap
        name = request.path.rsplit("/", 1)[1]
        items = users if name == "users" else []
        return Response(
            json.dumps({name: items[offset : offset + size]}), content_type="application/json"
        )

    httpserver.expect_request("/token", method="POST").respond_with_json(
        {"access_token": "t", "token_type": "Bearer", "expires_in": 3600}
    )
    for name in ("orgs", "academicSessions", "demographics", "users", "classes", "enrollments"):
        httpserver.expect_request(f"/ims/oneroster/v1p1/{name}").respond_with_handler(page)
    config.source_kind = SourceKind.ONEROSTER_API
    config.api_url = httpserver.url_for("/").rstrip("/")
    config.oauth_version = "2"
    config.oauth_client_id = "id"
    config.oauth_client_secret = "secret"
    config.save()
    with oneroster_api.fetch(config, limit=5) as folder:
        got = [
            u
            for p in sorted(folder.glob("users.*.json"))
            for u in json.loads(p.read_text())["users"]
        ]
    assert sorted(u["sourcedId"] for u in got) == [u["sourcedId"] for u in users]


@pytest.mark.django_db
def test_oauth1_retry_after_a_503_is_signed_again_not_replayed(httpserver, config, monkeypatch):
    """A OneRoster server that refuses a repeated nonce must see a fresh signature on the
    retry; otherwise a passing 503 turns into a false 'credentials' failure."""
    import re

    from urllib3.util.retry import Retry
    from werkzeug import Response

    from syncs.sources import oneroster_api

    monkeypatch.setattr(Retry, "get_backoff_time", lambda self: 0)
    seen: list[str] = []

    def handler(request):
        nonce = re.search(r'oauth_nonce="([^"]+)"', request.headers["Authorization"]).group(1)
        if nonce in seen:
            return Response("nonce replayed", status=401)
        seen.append(nonce)
        if len(seen) == 1:
            return Response("busy", status=503)
        name = request.path.rsplit("/", 1)[1]
        return Response(json.dumps({name: []}), content_type="application/json")

    httpserver.expect_request(re.compile("/ims/oneroster/v1p1/.*")).respond_with_handler(handler)
    config.source_kind = SourceKind.ONEROSTER_API
    config.api_url = httpserver.url_for("/").rstrip("/")
    config.oauth_version = "1"
    config.oauth_client_id = "id"
    config.oauth_client_secret = "secret"
    config.save()
    with oneroster_api.fetch(config, limit=5):
        pass
    assert len(seen) == len(set(seen)) > 1
