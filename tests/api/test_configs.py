"""Sync configs over the API: PATCH as each role allows, validation, and credentials that
are write-only everywhere."""

from __future__ import annotations

from decimal import Decimal

from syncs.models import SyncConfig
from tests.api.conftest import client_for, grant
from tests.api.test_auth import endpoints
from tests.factories import UserFactory

SECRETS = {
    "sftp_password": "hunter2-sftp-secret",
    "api_token": "clever-district-token-secret",
    "oauth_client_secret": "oauth-client-secret-value",
}


def patch(client, config, data):
    return client.patch(f"/api/v1/sync-configs/{config.pk}/", data, format="json")


def test_a_district_admin_sets_threshold_window_and_enabled(world):
    response = patch(
        client_for(world.district_admin),
        world.config,
        {
            "deletion_threshold": "55",
            "window_start": "22:30",
            "window_end": "04:00",
            "enabled": False,
        },
    )
    assert response.status_code == 200, response.json()
    assert response.json()["deletion_threshold"] == 55
    config = SyncConfig.objects.get(pk=world.config.pk)
    assert config.deletion_threshold == Decimal("55")
    assert (config.window_start.isoformat(), config.window_end.isoformat()) == (
        "22:30:00",
        "04:00:00",
    )
    assert config.enabled is False


def test_a_district_admin_never_sets_the_source_or_credentials(world):
    client = client_for(world.district_admin)
    for data in (
        {"source_kind": "sftp"},
        {"sftp_password": "x"},
        {"school_ids": ["0123"]},
        {"enabled": False, "api_token": "x"},
    ):
        response = patch(client, world.config, data)
        assert response.status_code == 403, data
        assert response.json()["code"] == "permission_denied"
    config = SyncConfig.objects.get(pk=world.config.pk)
    assert (config.source_kind, config.sftp_password, config.enabled) == ("local_files", "", True)


def test_staff_need_manage_credentials_for_the_source(world):
    staff = grant(
        UserFactory(is_staff=True),
        "syncs.view_syncconfig",
        "syncs.change_syncconfig",
    )
    client = client_for(staff)
    assert patch(client, world.config, {"deletion_threshold": 20}).status_code == 200
    assert patch(client, world.config, {"sftp_host": "sftp.example.org"}).status_code == 403
    staff = grant(staff, "syncs.manage_credentials")
    assert (
        patch(client_for(staff), world.config, {"sftp_host": "sftp.example.org"}).status_code == 200
    )


def test_invalid_values_are_400_with_field_messages_and_save_nothing(world):
    client = client_for(world.support)
    cases = {
        "deletion_threshold": {"deletion_threshold": 150},
        "window_end": {"window_start": "05:00", "window_end": "05:00"},
        "time_zone": {"time_zone": "Mars/Olympus_Mons"},
        "school_ids": {"school_ids": [123]},
        "sftp_private_key": {"sftp_private_key": "not a key"},
    }
    for field, data in cases.items():
        response = patch(client, world.config, data)
        assert response.status_code == 400, (field, response.json())
        assert response.json()["code"] == "invalid"
        assert field in response.json()["details"], (field, response.json())
    config = SyncConfig.objects.get(pk=world.config.pk)
    assert config.deletion_threshold == Decimal("10") and config.time_zone == "America/Los_Angeles"


def test_unknown_or_read_only_fields_are_400(world):
    response = patch(client_for(world.support), world.config, {"organization": world.other_org.pk})
    assert response.status_code == 400
    assert "organization" in response.json()["details"]
    assert SyncConfig.objects.get(pk=world.config.pk).organization_id == world.org.pk


def test_credentials_are_written_but_never_read_back_anywhere(world):
    support = client_for(world.support)
    response = patch(
        support,
        world.config,
        {
            "source_kind": "sftp",
            "sftp_host": "sftp.example.org",
            "sftp_username": "demo",
            **SECRETS,
        },
    )
    assert response.status_code == 200, response.json()
    for secret in SECRETS.values():
        assert secret.encode() not in response.content
    assert response.json()["credentials"] == {
        "sftp_password": True,
        "sftp_private_key": False,
        "api_token": True,
        "oauth_client_secret": True,
    }
    config = SyncConfig.objects.get(pk=world.config.pk)
    assert config.sftp_password == SECRETS["sftp_password"]  # stored (encrypted at rest)
    for user in (world.support, world.district_admin, world.school_admin):
        client = client_for(user)
        for method, url in endpoints(world):
            if method != "get":
                continue
            response = client.get(url)
            content = (
                b"".join(response.streaming_content) if response.streaming else response.content
            )
            for secret in SECRETS.values():
                assert secret.encode() not in content, (user, url)


def test_a_blank_secret_removes_it(world):
    client = client_for(world.support)
    patch(client, world.config, {"sftp_password": "temporary"})
    response = patch(client, world.config, {"sftp_password": ""})
    assert response.json()["credentials"]["sftp_password"] is False
    assert SyncConfig.objects.get(pk=world.config.pk).sftp_password == ""


def test_patching_leaves_the_preflight_record_alone(world):
    """Only the fields sent are saved, so a pre-flight check writing meanwhile is kept."""
    client = client_for(world.district_admin)
    config = SyncConfig.objects.get(pk=world.config.pk)
    SyncConfig.objects.filter(pk=config.pk).update(preflight_ok=False, preflight_message="down")
    assert patch(client, config, {"enabled": False}).status_code == 200
    config.refresh_from_db()
    assert (config.preflight_ok, config.preflight_message, config.enabled) == (False, "down", False)


def test_put_is_not_offered(world):
    response = client_for(world.support).put(
        f"/api/v1/sync-configs/{world.config.pk}/", {"enabled": False}, format="json"
    )
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
