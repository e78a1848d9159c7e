"""The nightly pre-flight (syncs.services.preflight): in its slot before the window,
each config's source is checked for what tonight's sync needs (files, sign-in, school
IDs), and the outcome is said on the config without echoing a secret."""

from __future__ import annotations

import json
import re
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.test import override_settings
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from syncs.clients import sftp as client
from syncs.models import SourceKind, SyncConfig
from syncs.services import preflight as preflight_service
from syncs.services.preflight import sync_configs_preflight
from syncs.sources.oneroster_api import OneRosterConnectionReport
from tests.builders import small_district
from tests.helpers import MINUTE, local, make_config
from tests.sftp_stub import PASSWORD

# The default window opens at 23:00 PST; with PREFLIGHT_HOURS_BEFORE = 3 the slot of the
# night of 2026-11-24 is 20:00-23:00 PST.
SLOT = local(2026, 11, 24, 20, 0)


def preflight(config: SyncConfig, now: datetime = SLOT) -> SyncConfig:
    assert sync_configs_preflight(now=now) == [config.pk]
    config.refresh_from_db()
    return config


@pytest.fixture
def files_config(config):
    """The conftest config (local files), with the small district written to its path."""
    small_district().write(Path(config.path))
    config.school_ids = ["0123", "0456"]
    config.save()
    return config


def test_preflight_is_due_only_in_its_slot_before_the_window_once_a_night(files_config):
    pk = files_config.pk
    assert sync_configs_preflight(now=local(2026, 11, 24, 19, 59)) == []
    assert sync_configs_preflight(now=SLOT) == [pk]
    assert sync_configs_preflight(now=SLOT + 15 * MINUTE) == []
    assert sync_configs_preflight(now=local(2026, 11, 24, 22, 59)) == []
    assert sync_configs_preflight(now=local(2026, 11, 24, 23, 0)) == []  # the window
    assert sync_configs_preflight(now=local(2026, 11, 25, 19, 59)) == []
    assert sync_configs_preflight(now=local(2026, 11, 25, 20, 0)) == [pk]  # the next night
    files_config.refresh_from_db()
    assert files_config.preflight_checked_at == local(2026, 11, 25, 20, 0)


def test_preflight_in_the_middle_of_its_slot_checks_a_config_not_yet_checked(files_config):
    assert sync_configs_preflight(now=local(2026, 11, 24, 22, 30)) == [files_config.pk]


def test_preflight_slot_follows_the_preflight_hours_setting(files_config, settings):
    settings.ROLLCALL = {**settings.ROLLCALL, "PREFLIGHT_HOURS_BEFORE": 1}
    assert sync_configs_preflight(now=SLOT) == []
    assert sync_configs_preflight(now=local(2026, 11, 24, 22, 0)) == [files_config.pk]


def test_preflight_of_good_local_files_is_ok(files_config):
    config = preflight(files_config)
    assert config.preflight_ok is True
    assert config.preflight_checked_at == SLOT
    assert config.preflight_message.startswith("Pre-flight 2026-11-24 20:00 PST: OK")
    assert "all 2 configured school IDs found" in config.preflight_message


def test_preflight_of_a_missing_folder_fails_naming_it(config):
    config = preflight(config)
    assert config.preflight_ok is False
    assert config.preflight_message == (
        f"Pre-flight 2026-11-24 20:00 PST: {config.path} does not exist, so tonight's sync "
        "would find no files."
    )


def test_preflight_of_local_files_missing_a_school_id_suggests_the_near_one(files_config):
    files_config.school_ids = ["123", "0456", "9999"]
    files_config.save()
    config = preflight(files_config)
    assert config.preflight_ok is False
    assert "school IDs not found in the files: 123 (did you mean 0123?); 9999." in (
        config.preflight_message
    )


def test_preflight_of_a_zip_reads_the_school_ids_inside_it(files_config, tmp_path):
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted((tmp_path / "roster").iterdir()):
            zf.write(path, f"export/{path.name}")
    files_config.path = str(archive)
    files_config.save()
    assert preflight(files_config).preflight_ok is True

    files_config.school_ids = ["0789"]
    files_config.save()
    config = preflight(files_config, SLOT + timedelta(days=1))
    assert config.preflight_ok is False
    assert "school IDs not found in the files: 0789." in config.preflight_message


def test_preflight_of_clever_csv_files_reads_schools_csv(config, tmp_path):
    folder = tmp_path / "roster"
    folder.mkdir()
    (folder / "schools.csv").write_text("School_id,School_name\nA1,Alpha\nB2,Beta\n")
    (folder / "students.csv").write_text("School_id,Student_id\n")
    config.school_ids = ["A1", "b2"]
    config.save()
    config = preflight(config)
    assert config.preflight_ok is False
    assert "not found in the files: b2 (did you mean B2?)" in config.preflight_message


def test_preflight_of_files_naming_no_schools_fails_when_school_ids_are_set(config, tmp_path):
    folder = tmp_path / "roster"
    folder.mkdir()
    (folder / "users.csv").write_text("sourcedId\n")
    config.school_ids = ["0123"]
    config.save()
    config = preflight(config)
    assert config.preflight_ok is False
    assert "no orgs.csv or schools.csv" in config.preflight_message


def test_preflight_of_good_sftp_is_ok(sftp_config):
    sftp_config.school_ids = ["0123"]
    sftp_config.save()
    config = preflight(sftp_config)
    assert config.preflight_ok is True, config.preflight_message
    assert "all 1 configured school IDs found" in config.preflight_message


def test_preflight_of_sftp_with_a_wrong_password_fails_without_echoing_it(sftp_config):
    sftp_config.sftp_password = "wrong-password-123"
    sftp_config.save()
    config = preflight(sftp_config)
    assert config.preflight_ok is False
    assert "rejected the password" in config.preflight_message
    assert "wrong-password-123" not in config.preflight_message
    assert PASSWORD not in config.preflight_message


def test_preflight_of_sftp_missing_a_school_id_fails_naming_it(sftp_config):
    sftp_config.school_ids = ["0123", "456"]
    sftp_config.save()
    config = preflight(sftp_config)
    assert config.preflight_ok is False
    assert "school IDs not found in the SFTP files: 456 (did you mean 0456?)." in (
        config.preflight_message
    )


def test_preflight_of_sftp_never_pins_an_unpinned_host_key(sftp_config):
    sftp_config.sftp_host_key = ""
    sftp_config.save()
    config = preflight(sftp_config)
    assert config.preflight_ok is False
    assert "not pinned yet" in config.preflight_message
    assert config.sftp_host_key == ""


def test_preflight_of_sftp_with_a_mismatched_host_key_fails(sftp_config):
    sftp_config.sftp_host_key = client.fingerprint(client.load_private_key(_other_key()))
    sftp_config.save()
    config = preflight(sftp_config)
    assert config.preflight_ok is False
    assert "is pinned" in config.preflight_message


def _other_key() -> str:
    from tests.sftp_stub import new_key

    return new_key("ed25519")[1]


# A minimal Clever: bearer token, /v3.0/districts and /v3.0/schools on one page each.
CLEVER_TOKEN = "district-token-abcdef0123456789"
CLEVER_SCHOOLS = ["5a25ff950a5f621109000001", "5a25ff950a5f621109000002"]


def _clever(request: Request) -> Response:
    if request.headers.get("Authorization") != f"Bearer {CLEVER_TOKEN}":
        return Response(json.dumps({"message": "invalid token"}), status=401)
    name = re.fullmatch(r"/v3\.0/(\w+)", request.path).group(1)
    data = {
        "districts": [{"data": {"id": "d1", "name": "Demo District"}}],
        "schools": [{"data": {"id": sid, "name": sid[-4:]}} for sid in CLEVER_SCHOOLS],
    }.get(name)
    if data is None:
        return Response(json.dumps({"message": "not found"}), status=404)
    return Response(json.dumps({"data": data, "links": []}), content_type="application/json")


@pytest.fixture(scope="module")
def clever_server():
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.expect_request(re.compile(r"^/")).respond_with_handler(_clever)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        if server.is_running():
            server.stop()


@pytest.fixture
def clever_config(config, clever_server):
    config.source_kind = SourceKind.CLEVER_API
    config.api_url = f"http://127.0.0.1:{clever_server.port}"
    config.api_token = CLEVER_TOKEN
    config.school_ids = [CLEVER_SCHOOLS[0]]
    config.save()
    return config


def test_preflight_of_a_good_clever_token_is_ok(clever_config):
    config = preflight(clever_config)
    assert config.preflight_ok is True, config.preflight_message
    assert config.preflight_message == (
        "Pre-flight 2026-11-24 20:00 PST: OK: signed in to Clever; all 1 configured school "
        "IDs found."
    )


def test_preflight_of_a_rejected_clever_token_fails_without_echoing_it(clever_config):
    clever_config.api_token = "wrong-token-xyz"
    clever_config.save()
    config = preflight(clever_config)
    assert config.preflight_ok is False
    assert "refused the credentials" in config.preflight_message
    assert "wrong-token-xyz" not in config.preflight_message


def test_preflight_of_clever_missing_a_school_id_fails_naming_it(clever_config):
    clever_config.school_ids = [CLEVER_SCHOOLS[0], "5a25ff950a5f621109000003"]
    clever_config.save()
    config = preflight(clever_config)
    assert config.preflight_ok is False
    assert "school IDs not found in Clever: 5a25ff950a5f621109000003 (did you mean" in (
        config.preflight_message
    )
    assert CLEVER_TOKEN not in config.preflight_message


def test_preflight_of_oneroster_missing_a_school_id_fails_though_the_sign_in_worked(
    config, monkeypatch
):
    # The OneRoster connection test reports ok when only school IDs are missing.
    report = OneRosterConnectionReport(
        ok=True, missing_schools=["123"], near_matches={"123": ["0123"]}, message="Signed in."
    )
    monkeypatch.setattr(preflight_service, "sync_config_test_connection", lambda *, config: report)
    config.source_kind = SourceKind.ONEROSTER_API
    config.school_ids = ["123"]
    config.save()
    config = preflight(config)
    assert config.preflight_ok is False
    assert "school IDs not found in the OneRoster server: 123 (did you mean 0123?)." in (
        config.preflight_message
    )


def test_preflight_an_error_in_one_config_is_recorded_and_the_others_are_checked(
    org, files_config, monkeypatch
):
    broken = make_config(org, "broken", path=files_config.path)
    real = preflight_service._check_local

    def check(config):
        if config.pk == broken.pk:
            raise RuntimeError("password=hunter2 leaked into an exception")
        return real(config)

    monkeypatch.setattr(preflight_service, "_check_local", check)
    assert sorted(sync_configs_preflight(now=SLOT)) == sorted([files_config.pk, broken.pk])
    broken.refresh_from_db()
    files_config.refresh_from_db()
    assert broken.preflight_ok is False
    assert "unexpected error" in broken.preflight_message
    assert "hunter2" not in broken.preflight_message
    assert files_config.preflight_ok is True


def test_preflight_of_undecryptable_credentials_fails_that_config_only(org, files_config):
    sftp = make_config(org, "sftp", source_kind=SourceKind.SFTP, sftp_password="pw")
    with override_settings(FIELD_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
        assert sorted(sync_configs_preflight(now=SLOT)) == sorted([files_config.pk, sftp.pk])
        ok = dict(SyncConfig.objects.values_list("pk", "preflight_ok"))
        message = SyncConfig.objects.values_list("preflight_message", flat=True).get(pk=sftp.pk)
    assert ok == {files_config.pk: True, sftp.pk: False}
    assert "cannot be decrypted" in message


def test_preflight_skips_upload_and_disabled_configs(org, tmp_path):
    make_config(org, "uploads", source_kind=SourceKind.UPLOAD, path=str(tmp_path))
    make_config(org, "off", enabled=False, path=str(tmp_path))
    assert sync_configs_preflight(now=SLOT) == []
    assert not SyncConfig.objects.filter(preflight_checked_at__isnull=False).exists()


def test_preflight_out_of_time_leaves_the_rest_for_the_next_tick(org, files_config):
    other = make_config(org, "second", path=files_config.path)
    assert sync_configs_preflight(now=SLOT, budget_seconds=0) == [files_config.pk]
    assert sync_configs_preflight(now=SLOT + 15 * MINUTE, budget_seconds=0) == [other.pk]
