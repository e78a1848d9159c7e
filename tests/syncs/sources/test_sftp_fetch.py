"""SFTP fetch (DESIGN §3 fetch, §5 SFTP) against paramiko's in-process server
(tests/sftp_stub.py): whole downloads or a failure, temporary folders removed, and
network failures that fail `source_unavailable` in time. The real OpenSSH tier is
test_sftp_sshd.py."""

from __future__ import annotations

import socket
import tempfile
import time
from pathlib import Path

import pytest

from syncs.clients import sftp as client
from syncs.services import sync_run_create, sync_run_execute
from syncs.sources import sftp as sftp_source
from tests.sftp_stub import fail

FAST = client.Timeouts(connect=1, banner=0.3, handshake=0.3, auth=1, read=0.2)


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
