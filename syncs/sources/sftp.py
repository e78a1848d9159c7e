"""Source: roster files in a folder on the district's SFTP server (DESIGN §5, SFTP pull).

`fetch(config)` downloads the folder's files (regular files only: no dotfiles, no
subfolders) into a temporary folder that is always removed, and yields it. The server's
host key must already be pinned: `test_connection(config)` (the admin's "Test SFTP
connection") records it on first use and shows what a sync would download.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from syncs.clients import sftp as client
from syncs.errors import SyncFailure
from syncs.models import FailureReason, SyncConfig
from syncs.sources.local import unpack_lone_zip

logger = logging.getLogger(__name__)


@dataclass
class ConnectionReport:
    """What a connection test found, for the admin to show."""

    ok: bool
    fingerprint: str = ""  # the host key the server presented ("" if none was seen)
    recorded: bool = False  # the fingerprint was pinned by this test
    files: list[str] = field(default_factory=list)  # what a sync would download
    message: str = ""


def endpoint_of(config: SyncConfig) -> client.Endpoint:
    return client.Endpoint(
        host=config.sftp_host.strip(),
        port=config.sftp_port,
        username=config.sftp_username,
        password=config.sftp_password,
        private_key=config.sftp_private_key,
        pinned_fingerprint=config.sftp_host_key,
    )


def remote_dir_of(config: SyncConfig) -> str:
    return config.sftp_remote_dir.strip() or "."


@contextmanager
def fetch(config: SyncConfig, *, timeouts: client.Timeouts | None = None) -> Iterator[Path]:
    """Yield a local folder holding the remote folder's files, complete, or fail the run."""
    if not config.sftp_host_key.strip():
        # A nightly run has nobody to confirm a new key with: never trust on first use here.
        raise SyncFailure(
            FailureReason.CREDENTIALS,
            f"The SFTP server's host key is not pinned yet for {config.sftp_host or 'this sync'}. "
            'Run "Test SFTP connection" in the admin once to record it, then sync again.',
            {"host": config.sftp_host},
        )
    remote_dir = remote_dir_of(config)
    tmp = Path(tempfile.mkdtemp(prefix="rollcall-sftp-"))
    try:
        # The session is closed before the files are parsed: no connection is held open
        # for the length of a run.
        with client.connect(endpoint_of(config), timeouts=timeouts) as session:
            files = session.download_folder(
                remote_dir, tmp, max_file_bytes=settings.ROLLCALL["MAX_FILE_BYTES"]
            )
        logger.info(
            "Sync config %s: downloaded %d file(s), %d bytes, from %s",
            config.pk,
            len(files),
            sum(f.size for f in files),
            session.endpoint.where,
        )
        unpack_lone_zip(tmp)
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_connection(
    config: SyncConfig, *, timeouts: client.Timeouts | None = None
) -> ConnectionReport:
    """Connect, check (or, when none is pinned yet, record) the host key, and list the
    files a sync would download. Never raises for a failure it can explain."""
    remote_dir = remote_dir_of(config)
    endpoint = endpoint_of(config)
    try:
        with client.connect(endpoint, trust_unpinned=True, timeouts=timeouts) as session:
            files = [f.name for f in session.list_files(remote_dir)]
    except SyncFailure as failure:
        return ConnectionReport(
            ok=False,
            fingerprint=failure.details.get("presented", ""),
            message=failure.message,
        )

    recorded = not client.normalize_fingerprint(config.sftp_host_key)
    if recorded:
        # Conditional: if two tests race, the first key recorded stays pinned.
        recorded = bool(
            SyncConfig.objects.filter(pk=config.pk, sftp_host_key="").update(
                sftp_host_key=session.fingerprint
            )
        )
        config.refresh_from_db(fields=["sftp_host_key"])
        key_note = (
            f"Its host key {session.fingerprint} ({session.key_type}) was not pinned and has "
            "now been recorded; confirm this fingerprint with the district's IT."
        )
    else:
        key_note = f"Its host key {session.fingerprint} matches the pinned one."
    listing = ", ".join(files) if files else "none"
    return ConnectionReport(
        ok=True,
        fingerprint=session.fingerprint,
        recorded=recorded,
        files=files,
        message=(
            f"Connected to {endpoint.where} as {endpoint.username!r}. {key_note} "
            f"{len(files)} file(s) in {remote_dir!r}: {listing}."
        ),
    )


test_connection.__test__ = False  # a service, not a test: keep pytest from collecting it
