"""SFTP pull (DESIGN §3 fetch, §5 SFTP) against paramiko's in-process server: host-key
pinning, password and key sign-in, whole downloads or a failure, and the admin's
write-only secrets and connection test. The real OpenSSH tier is test_sftp_sshd.py."""

from __future__ import annotations

import socket
import tempfile
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.urls import reverse

from syncs.clients import sftp as client
from syncs.errors import SyncFailure
from syncs.models import SyncConfig
from syncs.services import sync_run_create, sync_run_execute
from syncs.sources import sftp as sftp_source
from tests.sftp_stub import new_key
from tests.syncs.conftest import PASSWORD

FAST = client.Timeouts(connect=1, banner=0.3, handshake=0.3, auth=1, read=0.2)


def fail(config: SyncConfig, **kwargs) -> SyncFailure:
    """The SyncFailure a fetch of `config` raises."""
    with pytest.raises(SyncFailure) as caught:
        with sftp_source.fetch(config, **kwargs):
            pass
    return caught.value


@pytest.fixture
def temp_folders(monkeypatch) -> list[Path]:
    """Records the temporary folders the SFTP source makes."""
    made: list[Path] = []
    real_mkdtemp = tempfile.mkdtemp

    def mkdtemp(*args, **kwargs):
        made.append(Path(real_mkdtemp(*args, **kwargs)))
        return str(made[-1])

    monkeypatch.setattr(sftp_source.tempfile, "mkdtemp", mkdtemp)
    return made


# ---------------------------------------------------------------- download


def test_fetch_downloads_every_file_of_the_folder_byte_for_byte(sftp_config, remote_root):
    with sftp_source.fetch(sftp_config) as folder:
        got = {p.name: p.read_bytes() for p in folder.iterdir()}
    outbox = remote_root / "outbox"
    assert got == {p.name: p.read_bytes() for p in outbox.glob("*.csv") if p.name[0] != "."}


def test_fetch_skips_dotfiles_and_subfolders(sftp_config):
    with sftp_source.fetch(sftp_config) as folder:
        assert sorted(p.name for p in folder.iterdir()) == [
            "classes.csv",
            "demographics.csv",
            "enrollments.csv",
            "orgs.csv",
            "users.csv",
        ]


def test_sync_run_from_sftp_applies_the_district(sftp_config):
    run = sync_run_execute(run=sync_run_create(config=sftp_config))
    assert run.status == "succeeded", run.message
    assert run.counts["students"]["created"] == 3


def test_temporary_folder_is_removed_after_a_successful_fetch(sftp_config, temp_folders):
    with sftp_source.fetch(sftp_config) as folder:
        assert folder.is_dir() and any(folder.iterdir())
    assert temp_folders == [folder]
    assert not folder.exists()


def test_temporary_folder_is_removed_after_a_failed_download(sftp_config, server, temp_folders):
    server.drop_after_bytes = 100
    assert fail(sftp_config).reason == "source_unavailable"
    assert len(temp_folders) == 1 and not temp_folders[0].exists()


def test_temporary_folder_is_removed_when_parsing_fails_after_the_fetch(sftp_config, temp_folders):
    with pytest.raises(ValueError):
        with sftp_source.fetch(sftp_config):
            raise ValueError("the parser gave up")
    assert len(temp_folders) == 1 and not temp_folders[0].exists()


def test_server_closing_the_connection_mid_download_fails_source_unavailable(sftp_config, server):
    server.drop_after_bytes = 200  # a few chunks into the first file
    failure = fail(sftp_config)
    assert failure.reason == "source_unavailable"
    assert f"127.0.0.1:{server.port}" in failure.message
    assert "closed the connection while downloading classes.csv" in failure.message


def test_file_shorter_than_the_size_the_server_announced_is_a_failure_not_a_smaller_roster(
    sftp_config, server
):
    server.announce_extra_bytes = 10  # the data ends before the announced size
    failure = fail(sftp_config)
    assert failure.reason == "source_unavailable"
    assert failure.details["received"] + 10 == failure.details["expected"]
    assert "incomplete" in failure.message


def test_missing_remote_folder_fails_source_unavailable_naming_it(sftp_config):
    sftp_config.sftp_remote_dir = "outbox/2026-11-24"
    failure = fail(sftp_config)
    assert failure.reason == "source_unavailable"
    assert "'outbox/2026-11-24' does not exist" in failure.message
    assert "127.0.0.1" in failure.message


def test_empty_remote_folder_yields_an_empty_folder(sftp_config):
    # The parser, not the transport, says which required files are missing.
    sftp_config.sftp_remote_dir = "empty"
    with sftp_source.fetch(sftp_config) as folder:
        assert list(folder.iterdir()) == []


# ---------------------------------------------------------------- sign-in


def test_password_sign_in_is_accepted(sftp_config):
    with sftp_source.fetch(sftp_config) as folder:
        assert (folder / "users.csv").exists()


def test_wrong_password_fails_credentials_without_echoing_it(sftp_config):
    sftp_config.sftp_password = "hunter2-wrong"
    failure = fail(sftp_config)
    assert failure.reason == "credentials"
    assert "rejected the password for user 'district'" in failure.message
    assert "hunter2" not in failure.message + repr(failure.details)


@pytest.mark.parametrize("kind", ["ed25519", "ecdsa", "rsa"])
def test_private_key_sign_in_works_for_each_key_type(sftp_config, server, kind):
    key, text = new_key(kind)
    server.authorized_key = key
    sftp_config.sftp_password = ""
    sftp_config.sftp_private_key = text
    with sftp_source.fetch(sftp_config) as folder:
        assert (folder / "users.csv").exists()


def test_unauthorized_private_key_fails_credentials(sftp_config):
    sftp_config.sftp_password = ""
    sftp_config.sftp_private_key = new_key("ed25519")[1]  # not the authorized one
    failure = fail(sftp_config)
    assert failure.reason == "credentials"
    assert "rejected the key" in failure.message
    assert "PRIVATE KEY" not in failure.message + repr(failure.details)


def test_key_rejected_then_password_accepted_signs_in(sftp_config):
    sftp_config.sftp_private_key = new_key("ed25519")[1]  # rejected, password still right
    with sftp_source.fetch(sftp_config) as folder:
        assert (folder / "users.csv").exists()


def test_unreadable_private_key_fails_credentials_before_connecting(sftp_config, server):
    sftp_config.sftp_password = ""
    sftp_config.sftp_private_key = "-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n"
    failure = fail(sftp_config)
    assert failure.reason == "credentials"
    assert "could not be read" in failure.message
    assert server.connections == 0


def test_passphrase_protected_private_key_fails_credentials(sftp_config):
    text = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
        .decode()
    )
    sftp_config.sftp_password = ""
    sftp_config.sftp_private_key = text
    failure = fail(sftp_config)
    assert failure.reason == "credentials"
    assert "passphrase" in failure.message


def test_endpoint_repr_never_shows_secrets(sftp_config):
    sftp_config.sftp_private_key = new_key("ed25519")[1]
    text = repr(sftp_source.endpoint_of(sftp_config))
    assert PASSWORD not in text and "PRIVATE KEY" not in text


# ---------------------------------------------------------------- host key


def test_fingerprint_is_sha256_unpadded_base64_like_openssh(host_key):
    fp = client.fingerprint(host_key)
    assert fp.startswith("SHA256:") and not fp.endswith("=") and len(fp) == 7 + 43
    assert fp == host_key.fingerprint  # paramiko's OpenSSH-compatible rendering
    # A pasted `ssh-keygen -l` line is understood too.
    assert client.normalize_fingerprint(f"256 {fp} root@sftp (ED25519)") == fp


def test_pinned_host_key_that_matches_connects(sftp_config, host_key):
    with client.connect(sftp_source.endpoint_of(sftp_config)) as session:
        assert session.fingerprint == client.fingerprint(host_key)


def test_host_key_mismatch_fails_credentials_showing_both_fingerprints_and_sends_nothing(
    sftp_config, server, host_key
):
    pinned = client.fingerprint(new_key("ed25519")[0])  # the key the district had before
    sftp_config.sftp_host_key = pinned
    failure = fail(sftp_config)
    assert failure.reason == "credentials"
    assert pinned in failure.message
    assert client.fingerprint(host_key) in failure.message
    assert server.auth_attempts == 0  # the password never went to the impostor


def test_nightly_fetch_refuses_an_unpinned_host_key_without_connecting(sftp_config, server):
    sftp_config.sftp_host_key = ""
    failure = fail(sftp_config)
    assert failure.reason == "credentials"
    assert "not pinned yet" in failure.message and "Test SFTP connection" in failure.message
    assert server.connections == 0


def test_sync_run_with_an_unpinned_host_key_fails_credentials(sftp_config):
    sftp_config.sftp_host_key = ""
    sftp_config.save()
    run = sync_run_execute(run=sync_run_create(config=sftp_config))
    assert (run.status, run.failure_reason) == ("failed", "credentials")


def test_first_connection_test_records_the_fingerprint_and_lists_the_files(sftp_config, host_key):
    sftp_config.sftp_host_key = ""
    sftp_config.save()
    report = sftp_source.test_connection(sftp_config)
    assert report.ok and report.recorded
    assert report.fingerprint == client.fingerprint(host_key)
    assert report.files == [
        "classes.csv",
        "demographics.csv",
        "enrollments.csv",
        "orgs.csv",
        "users.csv",
    ]
    assert "now been recorded" in report.message and report.fingerprint in report.message
    sftp_config.refresh_from_db()
    assert sftp_config.sftp_host_key == report.fingerprint
    with sftp_source.fetch(sftp_config) as folder:  # the nightly sync now connects
        assert (folder / "users.csv").exists()


def test_connection_test_with_the_pinned_key_records_nothing(sftp_config):
    report = sftp_source.test_connection(sftp_config)
    assert report.ok and not report.recorded
    assert "matches the pinned one" in report.message


def test_connection_test_on_mismatch_reports_both_fingerprints_and_keeps_the_pin(
    sftp_config, host_key
):
    pinned = client.fingerprint(new_key("ed25519")[0])
    SyncConfig.objects.filter(pk=sftp_config.pk).update(sftp_host_key=pinned)
    sftp_config.refresh_from_db()
    report = sftp_source.test_connection(sftp_config)
    assert not report.ok and not report.recorded
    assert report.fingerprint == client.fingerprint(host_key)
    assert pinned in report.message and report.fingerprint in report.message
    sftp_config.refresh_from_db()
    assert sftp_config.sftp_host_key == pinned


def test_first_connection_test_with_a_wrong_password_records_nothing(sftp_config):
    sftp_config.sftp_host_key = ""
    sftp_config.sftp_password = "wrong"
    sftp_config.save()
    report = sftp_source.test_connection(sftp_config)
    assert not report.ok and not report.recorded
    sftp_config.refresh_from_db()
    assert sftp_config.sftp_host_key == ""


# ---------------------------------------------------------------- network failures


def test_connection_refused_fails_source_unavailable(sftp_config):
    with socket.create_server(("127.0.0.1", 0)) as probe:
        sftp_config.sftp_port = probe.getsockname()[1]
    failure = fail(sftp_config, timeouts=FAST)  # the port is closed again: nothing listens
    assert failure.reason == "source_unavailable"
    assert "refused the connection" in failure.message


def test_unknown_host_fails_source_unavailable(sftp_config, monkeypatch):
    def no_such_host(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    # No real lookup: tests talk to 127.0.0.1 only.
    monkeypatch.setattr(client.socket, "create_connection", no_such_host)
    sftp_config.sftp_host = "sftp.district.invalid"
    failure = fail(sftp_config)
    assert failure.reason == "source_unavailable"
    assert "'sftp.district.invalid' could not be found" in failure.message


def test_server_that_never_speaks_times_out_as_source_unavailable(sftp_config):
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts (backlog), never answers
        sftp_config.sftp_port = silent.getsockname()[1]
        started = time.monotonic()
        failure = fail(sftp_config, timeouts=FAST)
    assert failure.reason == "source_unavailable"
    assert "sent no SSH greeting in time" in failure.message
    assert "starting the SSH session" in failure.message
    assert time.monotonic() - started < 3


def test_server_that_stops_answering_mid_download_times_out_as_source_unavailable(
    sftp_config, server
):
    server.stall_reads = True
    started = time.monotonic()
    failure = fail(sftp_config, timeouts=FAST)
    assert failure.reason == "source_unavailable"
    assert "timed out" in failure.message and "downloading" in failure.message
    assert time.monotonic() - started < 3


# ---------------------------------------------------------------- admin


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
