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
from pathlib import Path

from django.conf import settings

from syncs.clients import sftp as client
from syncs.errors import SyncFailure
from syncs.models import FailureReason, SourceKind, SyncConfig
from syncs.sources.base import ConnectionReport, Option, OptionError, Source, env_or
from syncs.sources.local import unpack_lone_zip

logger = logging.getLogger(__name__)


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


class SftpSource(Source):
    """A folder on the district's SFTP server, with its host key pinned."""

    kind = SourceKind.SFTP
    fields = (
        "sftp_host",
        "sftp_port",
        "sftp_username",
        "sftp_password",
        "sftp_private_key",
        "sftp_remote_dir",
        "sftp_host_key",
        "format",
    )
    secrets = ("sftp_password", "sftp_private_key")
    preflight = "sftp"
    command = "sftp"
    config_name = "SFTP"
    option_group = "SFTP (--source sftp)"
    options = (
        Option(("--host",)),
        Option(("--port",), help="Default 22.", type=int),
        Option(("--user",)),
        Option(
            ("--password",),
            help="Prefer the ROLLCALL_SFTP_PASSWORD environment variable: a command line "
            "is visible to other users and kept in shell history.",
        ),
        Option(("--key-file",), help="Private key file (OpenSSH or PEM)."),
        Option(("--remote-dir",), help="Folder on the server (default: the login folder)."),
        Option(
            ("--host-key",),
            help="Pin the server's host key fingerprint (SHA256:...). Without it, the first "
            "connection records the key it is shown and says so.",
        ),
    )

    def fetch(self, config):
        return fetch(config)

    def test_connection(self, config):
        return test_connection(config)

    def option_values(self, opts, current):
        """Anything left out keeps what the config already has."""
        config = current()
        values: dict = {}
        password = env_or(opts, "password", "ROLLCALL_SFTP_PASSWORD")
        if opts.get("key_file"):
            try:
                values["sftp_private_key"] = Path(opts["key_file"]).expanduser().read_text()
            except (OSError, UnicodeDecodeError) as exc:
                raise OptionError(f"--key-file cannot be read: {exc}.") from None
        if password:
            values["sftp_password"] = password
        for option, name in (
            ("host", "sftp_host"),
            ("user", "sftp_username"),
            ("remote_dir", "sftp_remote_dir"),
            ("port", "sftp_port"),
        ):
            if opts.get(option) is not None:
                values[name] = opts[option]
        if opts.get("host_key"):
            pinned = client.normalize_fingerprint(opts["host_key"])
            if not pinned:
                raise OptionError(
                    "--host-key must be a SHA256 fingerprint (SHA256:...), as ssh-keyscan "
                    "| ssh-keygen -lf - prints it."
                )
            values["sftp_host_key"] = pinned

        def now(name: str):
            return values.get(name, getattr(config, name))

        missing = [
            flag
            for flag, name in (("--host", "sftp_host"), ("--user", "sftp_username"))
            if not now(name)
        ]
        if not (now("sftp_password") or now("sftp_private_key")):
            missing.append("--password or --key-file")
        if missing:
            raise OptionError("An SFTP sync needs " + ", ".join(missing) + ".")
        return values

    def after_save(self, config, warn) -> None:
        """First use: record the key the server shows, and say so (never silently)."""
        if config.sftp_host_key:
            return
        report = test_connection(config)
        if not report.ok:
            # The run that follows fails too (no pinned key); this says why.
            warn(f"SFTP connection test failed: {report.message}")
        elif report.recorded:
            warn(
                f"Recorded the SFTP server's host key {report.fingerprint} on first "
                "connection. Confirm it with the district and pass --host-key next time."
            )
