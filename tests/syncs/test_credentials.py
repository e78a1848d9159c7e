"""Secrets at rest (issue #5): encrypted in the database, loud on a wrong key, rotatable,
never in dumpdata or the admin."""

from __future__ import annotations

import importlib
import json
import os
import stat
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.urls import reverse

from syncs.fields import EncryptedTextField, FieldKeyMismatch, looks_like_token
from syncs.management.commands.rotate_field_keys import encrypted_fields
from syncs.models import SyncConfig

SECRETS = {
    "sftp_password": "correct horse battery staple",
    "sftp_private_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE\n-----END",
    "api_token": "clever-district-token-0123456789",
    "oauth_client_secret": "oauth-s3cret-ABCDEF",
}
COLUMNS = tuple(SECRETS)


def _raw(config: SyncConfig) -> dict[str, str | None]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(COLUMNS)} FROM syncs_syncconfig WHERE id = %s", [config.pk]
        )
        return dict(zip(COLUMNS, cursor.fetchone(), strict=True))


def _set_raw(config: SyncConfig, values: dict[str, str]) -> None:
    with connection.cursor() as cursor:
        for column, value in values.items():
            cursor.execute(
                f"UPDATE syncs_syncconfig SET {column} = %s WHERE id = %s", [value, config.pk]
            )


@pytest.fixture
def secret_config(config) -> SyncConfig:
    for name, value in SECRETS.items():
        setattr(config, name, value)
    config.save()
    return config


def _reload(config: SyncConfig) -> SyncConfig:
    return SyncConfig.objects.get(pk=config.pk)


def test_secrets_round_trip(secret_config):
    fresh = _reload(secret_config)
    assert {name: getattr(fresh, name) for name in SECRETS} == SECRETS
    assert (
        dict(zip(COLUMNS, SyncConfig.objects.values_list(*COLUMNS).get(pk=fresh.pk), strict=True))
        == SECRETS
    )


def test_the_database_holds_ciphertext_under_the_first_key(secret_config):
    first = Fernet(settings.FIELD_ENCRYPTION_KEYS[0])
    for name, stored in _raw(secret_config).items():
        assert stored != SECRETS[name]
        assert SECRETS[name] not in stored
        assert looks_like_token(stored)
        assert first.decrypt(stored.encode()).decode() == SECRETS[name]


def test_queryset_update_encrypts_too(secret_config):
    SyncConfig.objects.filter(pk=secret_config.pk).update(api_token="updated-token")
    assert _raw(secret_config)["api_token"] != "updated-token"
    assert _reload(secret_config).api_token == "updated-token"


def test_an_empty_secret_stays_an_empty_string(config):
    assert _raw(config) == dict.fromkeys(COLUMNS, "")
    fresh = _reload(config)
    assert all(getattr(fresh, name) == "" for name in SECRETS)
    assert SyncConfig.objects.filter(pk=config.pk, api_token="").exists()


def test_dumpdata_holds_no_plaintext_and_loaddata_restores_it(secret_config, tmp_path):
    out = StringIO()
    call_command("dumpdata", "syncs", stdout=out)
    dump = out.getvalue()
    for value in SECRETS.values():
        assert value not in dump
        assert json.dumps(value)[1:-1] not in dump  # nor its JSON-escaped form
    (fields,) = [o["fields"] for o in json.loads(dump) if o["model"] == "syncs.syncconfig"]
    assert all(looks_like_token(fields[name]) for name in SECRETS)

    fixture = tmp_path / "syncs.json"
    fixture.write_text(dump)
    SyncConfig.objects.filter(pk=secret_config.pk).update(**dict.fromkeys(SECRETS, "changed"))
    call_command("loaddata", str(fixture), verbosity=0)
    fresh = _reload(secret_config)
    assert {name: getattr(fresh, name) for name in SECRETS} == SECRETS  # not encrypted twice


def test_a_wrong_key_raises_loudly_and_never_returns_ciphertext(secret_config):
    with override_settings(FIELD_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
        with pytest.raises(FieldKeyMismatch) as excinfo:
            _reload(secret_config)
        with pytest.raises(ImproperlyConfigured):
            list(SyncConfig.objects.values_list("api_token", flat=True))
    message = str(excinfo.value)
    assert "syncs.SyncConfig." in message and "FIELD_ENCRYPTION_KEYS" in message
    assert "gAAAA" not in message and SECRETS["sftp_password"] not in message


def test_rotation_new_first_key_rotate_then_drop_the_old_keys(secret_config):
    old_keys = list(settings.FIELD_ENCRYPTION_KEYS)
    new_key = Fernet.generate_key().decode()
    before = _raw(secret_config)

    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key, *old_keys]):
        assert _reload(secret_config).api_token == SECRETS["api_token"]  # old still decrypts
        out = StringIO()
        call_command("rotate_field_keys", stdout=out)
        assert "Re-encrypted 4 value(s)" in out.getvalue()
        out = StringIO()
        call_command("rotate_field_keys", stdout=out)  # idempotent
        assert "Re-encrypted 0 value(s)" in out.getvalue()
        assert "4 already used it" in out.getvalue()

    after = _raw(secret_config)
    assert all(after[c] != before[c] for c in COLUMNS)
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key]):
        fresh = _reload(secret_config)
        assert {name: getattr(fresh, name) for name in SECRETS} == SECRETS
    with override_settings(FIELD_ENCRYPTION_KEYS=old_keys):
        with pytest.raises(FieldKeyMismatch):
            _reload(secret_config)


def test_rotation_refuses_a_value_no_key_decrypts_and_changes_nothing(secret_config):
    stranger = Fernet(Fernet.generate_key()).encrypt(b"lost").decode()
    _set_raw(secret_config, {"oauth_client_secret": stranger})
    before = _raw(secret_config)
    new_first = [Fernet.generate_key().decode(), *settings.FIELD_ENCRYPTION_KEYS]
    with override_settings(FIELD_ENCRYPTION_KEYS=new_first):
        with pytest.raises(CommandError, match="oauth_client_secret"):
            call_command("rotate_field_keys", stdout=StringIO())
    assert _raw(secret_config) == before  # the three it had rotated are rolled back


def test_rotate_finds_every_encrypted_field_through_the_app_registry():
    found = {model._meta.label: [f.name for f in fields] for model, fields in encrypted_fields()}
    assert sorted(found["syncs.SyncConfig"]) == sorted(SECRETS)
    assert all(
        isinstance(f, EncryptedTextField) for _, fields in encrypted_fields() for f in fields
    )


def test_the_migration_encrypts_pre_existing_plaintext(config):
    migration = importlib.import_module("syncs.migrations.0006_encrypt_secrets")
    _set_raw(config, {**SECRETS, "oauth_client_secret": ""})  # as stored before 0006

    assert migration.encrypt_plaintext(connection) == 3
    raw = _raw(config)
    assert raw["oauth_client_secret"] == ""
    assert all(looks_like_token(raw[c]) for c in COLUMNS if c != "oauth_client_secret")
    fresh = _reload(config)
    assert fresh.sftp_password == SECRETS["sftp_password"]
    assert fresh.sftp_private_key == SECRETS["sftp_private_key"]
    assert fresh.api_token == SECRETS["api_token"]

    assert migration.encrypt_plaintext(connection) == 0  # already encrypted: left alone
    assert _raw(config) == raw

    assert migration.decrypt_to_plaintext(connection) == 3  # the reverse step
    assert _raw(config) == {**SECRETS, "oauth_client_secret": ""}


# ---------------------------------------------------------------- admin


def _form_data(config: SyncConfig, **changes) -> dict:
    data = {
        "organization": config.organization_id,
        "name": config.name,
        "source_kind": config.source_kind,
        "format": config.format,
        "path": config.path,
        "sftp_host": config.sftp_host,
        "sftp_port": config.sftp_port,
        "sftp_username": config.sftp_username,
        "sftp_remote_dir": config.sftp_remote_dir,
        "sftp_host_key": config.sftp_host_key,
        "api_url": config.api_url,
        "oauth_version": config.oauth_version,
        "oauth_signature": config.oauth_signature,
        "oauth_client_id": config.oauth_client_id,
        "oauth_token_url": config.oauth_token_url,
        "school_ids": "[]",
        "deletion_threshold": str(config.deletion_threshold),
        "drop_alert_percent": str(config.drop_alert_percent),
        "window_start": "23:00",
        "window_end": "05:00",
        "time_zone": config.time_zone,
        "enabled": "on",
        **dict.fromkeys(SECRETS, ""),
    }
    data.update(changes)
    return data


def test_admin_pages_never_contain_a_secret_nor_its_ciphertext(admin_client, secret_config):
    raw = _raw(secret_config)
    pages = [
        reverse("admin:syncs_syncconfig_change", args=[secret_config.pk]),
        reverse("admin:syncs_syncconfig_changelist"),
        reverse("admin:syncs_syncconfig_history", args=[secret_config.pk]),
    ]
    for url in pages:
        page = admin_client.get(url).content.decode()
        for name, value in SECRETS.items():
            for line in value.splitlines():
                assert line not in page, (url, name)
            assert raw[name] not in page, (url, name)
    change_page = admin_client.get(pages[0]).content.decode()
    assert change_page.count("Set. Leave blank to keep it") == 4
    assert "Remove the stored API token" in change_page
    assert "Remove the stored OAuth client secret" in change_page


def test_admin_api_secrets_are_write_only(admin_client, secret_config):
    url = reverse("admin:syncs_syncconfig_change", args=[secret_config.pk])

    response = admin_client.post(url, _form_data(secret_config, name="renamed"))
    assert response.status_code == 302, response.content.decode()[:2000]
    fresh = _reload(secret_config)
    assert fresh.name == "renamed"
    assert {name: getattr(fresh, name) for name in SECRETS} == SECRETS  # blank keeps

    admin_client.post(url, _form_data(fresh, api_token="new-token"))
    assert _reload(secret_config).api_token == "new-token"

    admin_client.post(url, _form_data(fresh, clear_oauth_client_secret="on"))
    fresh = _reload(secret_config)
    assert fresh.oauth_client_secret == "" and _raw(fresh)["oauth_client_secret"] == ""
    page = admin_client.get(url).content.decode()
    assert "new-token" not in page
    assert page.count("Not set.") == 1


# ---------------------------------------------------------------- settings


@pytest.fixture
def key_settings(monkeypatch, tmp_path):
    """config.settings' key loader, with a clean environment and var/ in tmp_path."""
    import config.settings as base

    for name in ("FIELD_ENCRYPTION_KEYS", "FIELD_ENCRYPTION_KEYS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("ROLLCALL_REQUIRE_SECRET_KEY", raising=False)
    monkeypatch.setattr(base, "VAR_DIR", tmp_path / "var")
    return base._field_encryption_keys


def test_settings_read_comma_separated_keys(key_settings, monkeypatch):
    keys = [Fernet.generate_key().decode() for _ in range(2)]
    monkeypatch.setenv("FIELD_ENCRYPTION_KEYS", f"{keys[0]}, {keys[1]}")
    assert key_settings() == keys


def test_settings_read_a_keys_file(key_settings, monkeypatch, tmp_path):
    keys = [Fernet.generate_key().decode() for _ in range(2)]
    path = tmp_path / "keys"
    path.write_text("\n".join(keys) + "\n")
    monkeypatch.setenv("FIELD_ENCRYPTION_KEYS_FILE", str(path))
    assert key_settings() == keys


def test_settings_refuse_a_bad_key(key_settings, monkeypatch):
    monkeypatch.setenv("FIELD_ENCRYPTION_KEYS", f"{Fernet.generate_key().decode()},not-a-key")
    with pytest.raises(ImproperlyConfigured, match="key 2 of 2 is not a Fernet key"):
        key_settings()


def test_settings_generate_a_local_key_once(key_settings, tmp_path):
    keys = key_settings()
    path = tmp_path / "var" / "field_keys"
    assert len(keys) == 1 and Fernet(keys[0])
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert key_settings() == keys


def test_settings_refuse_to_start_without_keys_in_production(key_settings, monkeypatch, tmp_path):
    monkeypatch.setenv("ROLLCALL_REQUIRE_SECRET_KEY", "true")
    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEYS is not set"):
        key_settings()
    assert not (tmp_path / "var" / "field_keys").exists()
