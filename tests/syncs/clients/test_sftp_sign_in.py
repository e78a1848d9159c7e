"""The SFTP client's sign-in and host-key pinning against paramiko's in-process server
(tests/sftp_stub.py): password and key sign-in, a host key checked before any secret is
sent, and the connection test that records the first fingerprint."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from syncs.clients import sftp as client
from syncs.models import SyncConfig
from syncs.services import sync_run_create, sync_run_execute
from syncs.sources import sftp as sftp_source
from tests.sftp_stub import PASSWORD, fail, new_key

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
