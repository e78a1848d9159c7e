"""SFTP pull end to end against a real OpenSSH sshd (ECOSYSTEM §8), through sync_run_execute.

sshd runs unprivileged on a free 127.0.0.1 port with its own config, keys and data folder
(as root: under `setpriv` as uid 65534, since sshd only logs in its own user, `nobody`).
Each failure must fail the run with its reason and leave the mirror exactly as it was.
"""

from __future__ import annotations

import getpass
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paramiko
import pytest

from syncs.clients import sftp as client
from syncs.models import SourceKind, SyncConfig
from syncs.services import sync_run_create, sync_run_execute
from syncs.sources import sftp as sftp_source
from tests.builders import small_district
from tests.helpers import snapshot
from tests.sftp_stub import new_key

pytestmark = pytest.mark.sftp

SSHD = Path("/usr/sbin/sshd")  # sshd must be started by its absolute path
UNPRIVILEGED = 65534  # nobody/nogroup on Debian
BIG_FILE_BYTES = 8 * 1024**2  # four download batches


@dataclass
class Sshd:
    process: subprocess.Popen
    port: int
    username: str
    host_fingerprint: str  # as `ssh-keygen -l` prints it: independent of our own code
    client_key: str  # private key text whose public half is in authorized_keys
    log: Path

    def kill_sessions(self) -> list[int]:
        """SIGKILL the per-connection sshd processes (the listener keeps running): to the
        client it is the server going away mid-transfer."""
        children: dict[int, list[int]] = {}
        for stat_file in Path("/proc").glob("[0-9]*/stat"):
            try:
                # pid (comm) state ppid ...; comm may hold spaces, so split after ")".
                text = stat_file.read_text()
            except OSError:
                continue
            ppid = int(text.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(stat_file.parent.name))
        doomed, todo = [], list(children.get(self.process.pid, []))
        while todo:
            pid = todo.pop()
            doomed.append(pid)
            todo += children.get(pid, [])
        for pid in doomed:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return doomed


def _keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "rollcall-test", "-f", str(path)],
        check=True,
    )


def _free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _start(base: Path, prefix: list[str]) -> tuple[subprocess.Popen, int]:
    """Start sshd on a free port; retried in case another process takes the port first."""
    for _ in range(3):
        port = _free_port()
        config = base / "sshd_config"
        config.write_text(
            f"Port {port}\n"
            "ListenAddress 127.0.0.1\n"
            f"HostKey {base}/host_ed25519\n"
            f"PidFile {base}/sshd.pid\n"
            f"AuthorizedKeysFile {base}/authorized_keys\n"
            "StrictModes no\n"
            # With `UsePAM no` a locked account (nobody's `*` password) cannot log in at all.
            "UsePAM yes\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "PermitRootLogin no\n"
            "PrintMotd no\n"
            "LoginGraceTime 10\n"
            "Subsystem sftp internal-sftp\n"
            f"ForceCommand internal-sftp -d {base}/data\n"
        )
        if prefix:
            os.chown(config, UNPRIVILEGED, UNPRIVILEGED)
        log = (base / "sshd.log").open("ab")
        process = subprocess.Popen(
            [*prefix, str(SSHD), "-D", "-e", "-f", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and process.poll() is None:
            if _listening(port):
                return process, port
            time.sleep(0.02)
        process.kill()
        process.wait()
    pytest.fail(f"sshd did not start; its log:\n{(base / 'sshd.log').read_text()}")


@pytest.fixture(scope="session")
def sshd() -> Iterator[Sshd]:
    if not SSHD.exists():
        pytest.skip(
            "OpenSSH server is not installed (/usr/sbin/sshd missing): "
            "apt-get install openssh-server to run the real-sshd tests"
        )
    # /tmp rather than pytest's tmp dir: that one is root-only (0700), unreadable to nobody.
    base = Path(tempfile.mkdtemp(prefix="rollcall-sshd-"))
    process = None
    try:
        _keygen(base / "host_ed25519")
        _keygen(base / "client_ed25519")
        shutil.copy(base / "client_ed25519.pub", base / "authorized_keys")
        data = base / "data"
        small_district().write(data / "roster")
        big = small_district().write(data / "big")
        (big / "zz-extra.csv").write_bytes(b"x" * BIG_FILE_BYTES)

        if os.geteuid() == 0:
            # As root sshd wants its privilege-separation user; unprivileged it runs as
            # one user and can only log in as that user.
            setpriv = shutil.which("setpriv")
            if setpriv is None:
                pytest.fail("running as root needs setpriv (util-linux) to start sshd unprivileged")
            prefix = [
                setpriv,
                f"--reuid={UNPRIVILEGED}",
                f"--regid={UNPRIVILEGED}",
                "--clear-groups",
            ]
            username = pwd.getpwuid(UNPRIVILEGED).pw_name
            for path in [base, *base.rglob("*")]:
                os.chown(path, UNPRIVILEGED, UNPRIVILEGED)
        else:
            prefix, username = [], getpass.getuser()
        process, port = _start(base, prefix)

        listed = subprocess.run(
            ["ssh-keygen", "-l", "-f", str(base / "host_ed25519.pub")],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        yield Sshd(
            process=process,
            port=port,
            username=username,
            host_fingerprint=listed[1],
            client_key=(base / "client_ed25519").read_text(),
            log=base / "sshd.log",
        )
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def sftp_config(config, sshd) -> SyncConfig:
    config.source_kind = SourceKind.SFTP
    config.sftp_host = "127.0.0.1"
    config.sftp_port = sshd.port
    config.sftp_username = sshd.username
    config.sftp_private_key = sshd.client_key
    config.sftp_remote_dir = "roster"  # relative to internal-sftp's start folder (-d)
    config.sftp_host_key = sshd.host_fingerprint
    config.save()
    return config


def run_sync(config: SyncConfig):
    return sync_run_execute(run=sync_run_create(config=config))


@pytest.fixture
def synced(sftp_config):
    """A first sync from sshd has filled the mirror; returns its snapshot."""
    run = run_sync(sftp_config)
    assert run.status == "succeeded", run.message
    return snapshot()


def test_district_syncs_from_a_real_sshd_with_a_pinned_host_key(sftp_config):
    run = run_sync(sftp_config)
    assert run.status == "succeeded", run.message
    assert run.counts["students"]["created"] == 3
    assert run.counts["classes"]["created"] == 2
    assert run.counts["enrollments"]["created"] == 5


def test_connection_test_records_the_fingerprint_ssh_keygen_prints(sftp_config, sshd):
    SyncConfig.objects.filter(pk=sftp_config.pk).update(sftp_host_key="")
    sftp_config.refresh_from_db()
    report = sftp_source.test_connection(sftp_config)
    assert report.ok and report.recorded, report.message
    assert report.fingerprint == sshd.host_fingerprint
    assert report.files == [
        "classes.csv",
        "demographics.csv",
        "enrollments.csv",
        "orgs.csv",
        "users.csv",
    ]
    sftp_config.refresh_from_db()
    assert sftp_config.sftp_host_key == sshd.host_fingerprint


def test_wrong_private_key_fails_credentials_and_changes_nothing(sftp_config, synced):
    sftp_config.sftp_private_key = new_key("ed25519")[1]
    sftp_config.save()
    run = run_sync(sftp_config)
    assert (run.status, run.failure_reason) == ("failed", "credentials"), run.message
    assert "rejected the key" in run.message
    assert snapshot() == synced


def test_password_the_server_rejects_fails_credentials_and_changes_nothing(sftp_config, synced):
    sftp_config.sftp_private_key = ""
    sftp_config.sftp_password = "not-the-password"
    sftp_config.save()
    run = run_sync(sftp_config)
    assert (run.status, run.failure_reason) == ("failed", "credentials"), run.message
    assert "not-the-password" not in run.message + str(run.diagnostics)
    assert snapshot() == synced


def test_changed_host_key_fails_credentials_showing_both_and_changes_nothing(
    sftp_config, sshd, synced
):
    # The pin is the key the server had before; sshd now presents its own key.
    before = client.fingerprint(new_key("ed25519")[0])
    sftp_config.sftp_host_key = before
    sftp_config.save()
    run = run_sync(sftp_config)
    assert (run.status, run.failure_reason) == ("failed", "credentials"), run.message
    assert before in run.message and sshd.host_fingerprint in run.message
    assert snapshot() == synced


def test_sshd_killed_mid_download_fails_source_unavailable_and_changes_nothing(
    sftp_config, sshd, synced, monkeypatch
):
    sftp_config.sftp_remote_dir = "big"
    sftp_config.save()
    # Kill the session's sshd once the first batch of the big file has arrived (small
    # files fit in one smaller batch), then let the client see the connection drop.
    killed: list[int] = []
    real_readv = paramiko.SFTPFile.readv

    def readv(self, chunks, *args, **kwargs):
        yield from real_readv(self, chunks, *args, **kwargs)
        if chunks[0][1] == client.BATCH_BYTES and not killed:
            killed.extend(sshd.kill_sessions())
            channel = self.sftp.get_channel()
            deadline = time.monotonic() + 5
            while not channel.closed and time.monotonic() < deadline:
                time.sleep(0.005)

    monkeypatch.setattr(paramiko.SFTPFile, "readv", readv)

    run = run_sync(sftp_config)
    assert killed, "the download never reached the big file"
    assert (run.status, run.failure_reason) == ("failed", "source_unavailable"), run.message
    assert "zz-extra.csv" in run.message and f"127.0.0.1:{sshd.port}" in run.message
    failure = run.diagnostics["failure"]
    assert 0 < failure["received"] < failure["expected"] == BIG_FILE_BYTES
    assert snapshot() == synced
    # The listener survived: the next run connects again.
    assert sshd.process.poll() is None
