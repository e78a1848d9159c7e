"""Fixtures shared by the sync tests: an in-process SFTP server and a config using it."""

from __future__ import annotations

from pathlib import Path

import paramiko
import pytest

from syncs.clients import sftp as client
from syncs.models import SourceKind, SyncConfig
from tests.builders import small_district
from tests.sftp_stub import PASSWORD, StubSftpServer, new_key


@pytest.fixture(scope="module")
def host_key() -> paramiko.PKey:
    return new_key("ed25519")[0]


@pytest.fixture(scope="module")
def user_key() -> tuple[paramiko.PKey, str]:
    return new_key("ed25519")


@pytest.fixture
def remote_root(tmp_path) -> Path:
    """The server's files: a district in outbox/, plus what a sync must leave alone."""
    root = tmp_path / "remote"
    outbox = small_district().write(root / "outbox")
    (outbox / ".uploading.csv").write_text("a dotfile: ignored\n")
    (outbox / "archive").mkdir()
    (outbox / "archive" / "users.csv").write_text("a subfolder: ignored\n")
    (root / "empty").mkdir()
    return root


@pytest.fixture
def server(remote_root, host_key, user_key):
    with StubSftpServer(
        remote_root, host_key=host_key, password=PASSWORD, authorized_key=user_key[0]
    ) as stub:
        yield stub


@pytest.fixture
def sftp_config(config, server, host_key) -> SyncConfig:
    """The conftest config, switched to SFTP with a password and the pinned host key."""
    config.source_kind = SourceKind.SFTP
    config.sftp_host = "127.0.0.1"
    config.sftp_port = server.port
    config.sftp_username = server.username
    config.sftp_password = PASSWORD
    config.sftp_remote_dir = "outbox"
    config.sftp_host_key = client.fingerprint(host_key)
    config.save()
    return config
