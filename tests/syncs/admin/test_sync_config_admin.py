"""The SyncConfig admin: write-only SFTP secrets on the change form, and the "Test
connection" action against paramiko's in-process server (tests/sftp_stub.py)."""

from __future__ import annotations

from django.urls import reverse

from syncs.clients import sftp as client
from syncs.models import SyncConfig
from tests.sftp_stub import PASSWORD, new_key


def _change_form_data(config: SyncConfig, **changes) -> dict:
    data = {
        "organization": config.organization_id,
        "name": config.name,
        "source_kind": config.source_kind,
        "format": config.format,
        "path": config.path,
        "sftp_host": config.sftp_host,
        "sftp_port": config.sftp_port,
        "sftp_username": config.sftp_username,
        "sftp_password": "",
        "sftp_private_key": "",
        "sftp_remote_dir": config.sftp_remote_dir,
        "sftp_host_key": config.sftp_host_key,
        "school_ids": "[]",
        "deletion_threshold": str(config.deletion_threshold),
        "drop_alert_percent": str(config.drop_alert_percent),
        "window_start": "23:00",
        "window_end": "05:00",
        "time_zone": config.time_zone,
        "enabled": "on",
    }
    data.update(changes)
    return data


def test_admin_change_page_never_renders_the_stored_sftp_secrets(admin_client, sftp_config):
    key_text = new_key("ed25519")[1]
    SyncConfig.objects.filter(pk=sftp_config.pk).update(sftp_private_key=key_text)
    url = reverse("admin:syncs_syncconfig_change", args=[sftp_config.pk])
    page = admin_client.get(url).content.decode()
    assert PASSWORD not in page
    assert key_text.splitlines()[1] not in page
    assert page.count("Set. Leave blank to keep it") == 2


def test_admin_blank_secret_keeps_the_stored_one_and_a_new_one_replaces_it(
    admin_client, sftp_config
):
    url = reverse("admin:syncs_syncconfig_change", args=[sftp_config.pk])
    response = admin_client.post(url, _change_form_data(sftp_config, sftp_username="renamed"))
    assert response.status_code == 302, response.content.decode()[:2000]
    sftp_config.refresh_from_db()
    assert (sftp_config.sftp_username, sftp_config.sftp_password) == ("renamed", PASSWORD)

    admin_client.post(url, _change_form_data(sftp_config, sftp_password="new secret"))
    sftp_config.refresh_from_db()
    assert sftp_config.sftp_password == "new secret"


def test_admin_remove_box_clears_a_stored_secret(admin_client, sftp_config):
    url = reverse("admin:syncs_syncconfig_change", args=[sftp_config.pk])
    admin_client.post(url, _change_form_data(sftp_config, clear_sftp_password="on"))
    sftp_config.refresh_from_db()
    assert sftp_config.sftp_password == ""


def test_admin_refuses_an_unreadable_private_key(admin_client, sftp_config):
    url = reverse("admin:syncs_syncconfig_change", args=[sftp_config.pk])
    response = admin_client.post(
        url, _change_form_data(sftp_config, sftp_private_key="ssh-ed25519 AAAA... (public)")
    )
    assert response.status_code == 200
    assert "could not be read" in response.content.decode()
    sftp_config.refresh_from_db()
    assert sftp_config.sftp_private_key == ""


def test_admin_action_test_sftp_connection_records_the_key_and_reports(
    admin_client, sftp_config, host_key
):
    SyncConfig.objects.filter(pk=sftp_config.pk).update(sftp_host_key="")
    response = admin_client.post(
        reverse("admin:syncs_syncconfig_changelist"),
        {"action": "test_connection", "_selected_action": [sftp_config.pk]},
        follow=True,
    )
    shown = [(m.level_tag, m.message) for m in response.context["messages"]]
    assert len(shown) == 1 and shown[0][0] == "success"
    assert client.fingerprint(host_key) in shown[0][1] and "users.csv" in shown[0][1]
    sftp_config.refresh_from_db()
    assert sftp_config.sftp_host_key == client.fingerprint(host_key)


def test_admin_action_test_sftp_connection_reports_a_failure_as_an_error(admin_client, sftp_config):
    SyncConfig.objects.filter(pk=sftp_config.pk).update(sftp_password="Wr0ng-Secret!")
    response = admin_client.post(
        reverse("admin:syncs_syncconfig_changelist"),
        {"action": "test_connection", "_selected_action": [sftp_config.pk]},
        follow=True,
    )
    shown = [(m.level_tag, m.message) for m in response.context["messages"]]
    assert len(shown) == 1 and shown[0][0] == "error"
    assert "rejected the password" in shown[0][1] and "Wr0ng-Secret!" not in shown[0][1]
