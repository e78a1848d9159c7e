"""SFTP client (paramiko): a pinned host key, timeouts at every step, whole files or nothing.

`connect(endpoint)` opens an authenticated session, after checking the server's host key
against the pinned SHA256 fingerprint *before* any credential is sent. With nothing
pinned it connects only when the caller asks for first use (`trust_unpinned=True`, the
admin's connection test), so the caller can show and record the fingerprint; a nightly
sync never trusts an unknown key. `AutoAddPolicy` is never used.

Every error becomes a `SyncFailure` (DESIGN §3): rejected credentials, an unreadable key
or a host key mismatch → `credentials`; DNS, refused or dropped connections, timeouts, a
missing folder, a short download → `source_unavailable`. Messages name the host and what
happened, never a password or key.
"""

from __future__ import annotations

import socket
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import paramiko

from syncs.clients.sshkeys import fingerprint, load_private_key, normalize_fingerprint
from syncs.errors import SyncFailure
from syncs.models import FailureReason

# Bytes asked for in one pipelined batch (64 read requests of 32 KiB): one round trip
# per batch, and at most this much buffered ahead of the disk.
BATCH_BYTES = 2 << 20
# Errors the network or the SFTP server can raise once connected.
REMOTE_ERRORS = (OSError, EOFError, paramiko.SSHException)


@dataclass(frozen=True)
class Timeouts:
    """Seconds to wait at each step: a silent server fails the run instead of hanging a
    worker until the task timeout."""

    connect: float = 10  # TCP connection
    banner: float = 15  # the server's "SSH-2.0-..." line
    handshake: float = 15  # key exchange
    auth: float = 15  # each authentication reply
    read: float = 30  # each SFTP reply, including each chunk of a download


DEFAULT_TIMEOUTS = Timeouts()


@dataclass(frozen=True)
class Endpoint:
    """Where and who to connect as. The secrets are left out of `repr` so that they never
    reach a log or a traceback's locals by accident."""

    host: str
    port: int = 22
    username: str = ""
    password: str = field(default="", repr=False)
    private_key: str = field(default="", repr=False)
    pinned_fingerprint: str = ""

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class RemoteFile:
    name: str
    size: int


class SftpSession:
    """An authenticated SFTP session on a server whose host key was checked."""

    def __init__(
        self,
        endpoint: Endpoint,
        sftp: paramiko.SFTPClient,
        fingerprint: str,
        key_type: str,
    ) -> None:
        self.endpoint = endpoint
        self.fingerprint = fingerprint
        self.key_type = key_type
        self._sftp = sftp

    def list_files(self, remote_dir: str) -> list[RemoteFile]:
        """The regular files in `remote_dir`, by name; dotfiles and folders are left out."""
        where = self.endpoint.where
        try:
            entries = self._sftp.listdir_attr(remote_dir)
        except FileNotFoundError as exc:
            raise SyncFailure(
                FailureReason.SOURCE_UNAVAILABLE,
                f"The folder {remote_dir!r} does not exist on the SFTP server {where}.",
                {"host": self.endpoint.host, "remote_dir": remote_dir},
            ) from exc
        except PermissionError as exc:
            raise SyncFailure(
                FailureReason.SOURCE_UNAVAILABLE,
                f"The SFTP server {where} does not let {self.endpoint.username!r} read the "
                f"folder {remote_dir!r}.",
                {"host": self.endpoint.host, "remote_dir": remote_dir},
            ) from exc
        except REMOTE_ERRORS as exc:
            raise _unavailable(self.endpoint, f"listing {remote_dir!r}", exc) from exc
        files = []
        for entry in entries:
            name = entry.filename
            if name.startswith("."):
                continue
            if "/" in name or "\\" in name or "\0" in name:
                # Not a name a folder can hold: a broken or hostile server. Writing it
                # locally could escape the download folder.
                raise SyncFailure(
                    FailureReason.SOURCE_UNAVAILABLE,
                    f"The SFTP server {where} listed {name!r} in {remote_dir!r}, which is "
                    "not a plain file name; nothing was downloaded.",
                    {"host": self.endpoint.host, "name": name},
                )
            mode, size = entry.st_mode or 0, entry.st_size or 0
            if stat.S_ISLNK(mode):  # a link to a file counts as that file
                try:
                    target = self._sftp.stat(_remote_path(remote_dir, name))
                except REMOTE_ERRORS:
                    continue  # a dangling link is not a file
                mode, size = target.st_mode or 0, target.st_size or 0
            if stat.S_ISREG(mode):
                files.append(RemoteFile(name, size))
        return sorted(files, key=lambda f: f.name)

    def download_folder(
        self, remote_dir: str, dest: Path, *, max_file_bytes: int | None = None
    ) -> list[RemoteFile]:
        """Download every file `list_files` finds in `remote_dir` into `dest`, whole."""
        files = self.list_files(remote_dir)
        for item in files:
            self.download_file(remote_dir, item, dest / item.name, max_file_bytes)
        return files

    def download_file(
        self, remote_dir: str, item: RemoteFile, target: Path, max_file_bytes: int | None
    ) -> None:
        """Download one listed file whole into `target`; a short read fails the run."""
        progress = _Progress(expected=item.size)
        with target.open("wb") as out:
            # Local write errors (a full disk) surface here as themselves, not as the
            # server's fault: only `_chunks` maps errors to failure reasons.
            path = _remote_path(remote_dir, item.name)
            for chunk in self._chunks(path, item, progress, max_file_bytes):
                out.write(chunk)
        if progress.received != progress.expected:
            # A read that ended early without an error is still a partial download:
            # a smaller file would be a smaller roster.
            raise SyncFailure(
                FailureReason.SOURCE_UNAVAILABLE,
                f"{item.name} from {self.endpoint.where} arrived incomplete: "
                f"{progress.received} bytes received, {progress.expected} expected. Nothing "
                "was changed; the next run will try again.",
                {
                    "host": self.endpoint.host,
                    "file": item.name,
                    "received": progress.received,
                    "expected": progress.expected,
                },
            )

    def _chunks(
        self, path: str, item: RemoteFile, progress: _Progress, max_file_bytes: int | None
    ) -> Iterator[bytes]:
        """The remote file's bytes in order, counted in `progress`; remote errors become
        `SyncFailure`s.

        Each batch goes out as one `readv`: paramiko sends its 32 KiB read requests
        together, so a distant server costs one round trip per batch, not per 32 KiB.
        `prefetch` would pipeline the whole file, but its thread cannot be stopped and
        dies with a traceback when the connection drops (paramiko#2379, #2454); a readv
        thread only sends one batch's requests and ends.
        """
        try:
            with self._sftp.open(path, "rb") as src:
                # The size now, not at listing time: the export may have been rewritten.
                progress.expected = src.stat().st_size or 0
                if max_file_bytes is not None and progress.expected > max_file_bytes:
                    raise SyncFailure(
                        FailureReason.INVALID_FILES,
                        f"{item.name} on {self.endpoint.where} is {progress.expected} bytes, "
                        f"more than the {max_file_bytes} allowed; nothing was changed.",
                        {"file": item.name, "size": progress.expected},
                    )
                while progress.received < progress.expected:
                    if self._sftp.get_channel().closed:
                        raise EOFError("the SFTP channel is closed")
                    want = min(BATCH_BYTES, progress.expected - progress.received)
                    (chunk,) = src.readv([(progress.received, want)])
                    progress.received += len(chunk)
                    yield chunk
                    if len(chunk) < want:
                        return  # the data ended before the size the server announced
                if src.read(1):
                    raise SyncFailure(
                        FailureReason.SOURCE_UNAVAILABLE,
                        f"{item.name} on {self.endpoint.where} grew while it was downloaded; "
                        "the SIS may still be writing it. Nothing was changed; the next run "
                        "will try again.",
                        {"host": self.endpoint.host, "file": item.name},
                    )
        except FileNotFoundError as exc:
            raise SyncFailure(
                FailureReason.SOURCE_UNAVAILABLE,
                f"{item.name} disappeared from {self.endpoint.where} while the folder was "
                "being downloaded; the SIS may have been replacing it. Try again later.",
                {"host": self.endpoint.host, "file": item.name},
            ) from exc
        except REMOTE_ERRORS as exc:
            raise _unavailable(
                self.endpoint,
                f"downloading {item.name} ({progress.received} of {progress.expected} "
                "bytes received)",
                exc,
                file=item.name,
                received=progress.received,
                expected=progress.expected,
            ) from exc


@dataclass
class _Progress:
    """Bytes of one file: announced by the server, and received so far."""

    expected: int
    received: int = 0


@contextmanager
def connect(
    endpoint: Endpoint,
    *,
    trust_unpinned: bool = False,
    timeouts: Timeouts | None = None,
) -> Iterator[SftpSession]:
    """An authenticated session on `endpoint`, closed on leaving the block.

    The host key must match `endpoint.pinned_fingerprint`; with none pinned, only
    `trust_unpinned=True` (a connection test that records the key) connects at all.
    """
    timeouts = timeouts or DEFAULT_TIMEOUTS
    pinned, key = _settings_checked(endpoint, trust_unpinned)
    sock = _open_socket(endpoint, timeouts)
    transport = paramiko.Transport(sock)
    try:
        transport.banner_timeout = timeouts.banner
        transport.handshake_timeout = timeouts.handshake
        transport.auth_timeout = timeouts.auth
        try:
            _handshake(transport, timeouts)
            server_key = transport.get_remote_server_key()
        except REMOTE_ERRORS as exc:
            raise _unavailable(endpoint, "starting the SSH session", exc) from exc
        presented = fingerprint(server_key)
        if pinned and presented != pinned:
            raise SyncFailure(
                FailureReason.CREDENTIALS,
                f"The SFTP server {endpoint.where} presented host key {presented} "
                f"({server_key.get_name()}), but {pinned} is pinned. Nothing was sent to it. "
                "If the district replaced its server or key, confirm the new fingerprint "
                "with them and update the pinned key; otherwise someone may be "
                "impersonating the server.",
                {"host": endpoint.host, "pinned": pinned, "presented": presented},
            )
        _authenticate(transport, endpoint, key)
        try:
            sftp = paramiko.SFTPClient.from_transport(transport)
            if sftp is None:
                raise paramiko.SSHException("the server refused the SFTP subsystem")
            # Each SFTP reply (each chunk of a download) must arrive within this time.
            sftp.get_channel().settimeout(timeouts.read)
        except REMOTE_ERRORS as exc:
            raise _unavailable(endpoint, "opening the SFTP session", exc) from exc
        yield SftpSession(endpoint, sftp, presented, server_key.get_name())
    finally:
        transport.close()  # also closes the socket and every channel


def _settings_checked(endpoint: Endpoint, trust_unpinned: bool) -> tuple[str, paramiko.PKey | None]:
    """The pinned fingerprint and the private key, or fail before touching the server."""
    pinned = normalize_fingerprint(endpoint.pinned_fingerprint)
    if endpoint.pinned_fingerprint.strip() and not pinned:
        raise SyncFailure(
            FailureReason.CREDENTIALS,
            f"The pinned host key for {endpoint.where} is not a SHA256 fingerprint "
            "(SHA256:...). Clear it and run the connection test to record the server's key.",
            {"host": endpoint.host},
        )
    if not pinned and not trust_unpinned:
        raise SyncFailure(
            FailureReason.CREDENTIALS,
            f"The host key of {endpoint.where} is not pinned yet. Run the SFTP connection "
            "test once to record it before syncing.",
            {"host": endpoint.host},
        )
    if not endpoint.host:
        raise SyncFailure(
            FailureReason.SOURCE_UNAVAILABLE, "No SFTP host is configured.", {"host": ""}
        )
    # Parsed before connecting: a key that cannot be read fails without touching the server.
    key = load_private_key(endpoint.private_key) if endpoint.private_key.strip() else None
    if key is None and not endpoint.password:
        raise SyncFailure(
            FailureReason.CREDENTIALS,
            f"No SFTP password or private key is set for {endpoint.where}.",
            {"host": endpoint.host},
        )
    return pinned, key


def _open_socket(endpoint: Endpoint, timeouts: Timeouts) -> socket.socket:
    try:
        return socket.create_connection((endpoint.host, endpoint.port), timeout=timeouts.connect)
    except socket.gaierror as exc:
        raise SyncFailure(
            FailureReason.SOURCE_UNAVAILABLE,
            f"The SFTP host {endpoint.host!r} could not be found (DNS lookup failed). "
            "Check the host name.",
            {"host": endpoint.host, "error": str(exc)},
        ) from exc
    except ConnectionRefusedError as exc:
        raise SyncFailure(
            FailureReason.SOURCE_UNAVAILABLE,
            f"The SFTP server {endpoint.where} refused the connection: nothing is listening "
            "on that port.",
            {"host": endpoint.host, "port": endpoint.port},
        ) from exc
    except TimeoutError as exc:
        raise SyncFailure(
            FailureReason.SOURCE_UNAVAILABLE,
            f"The SFTP server {endpoint.where} did not accept a connection within "
            f"{timeouts.connect:g} s (a firewall, or the wrong host or port).",
            {"host": endpoint.host, "port": endpoint.port},
        ) from exc
    except OSError as exc:
        raise _unavailable(endpoint, "connecting", exc) from exc


def _handshake(transport: paramiko.Transport, timeouts: Timeouts) -> None:
    """Banner and key exchange, within the timeouts. paramiko's own `start_client(timeout=)`
    returns silently when the time is up, so the wait is done here."""
    done = threading.Event()
    transport.start_client(event=done)
    if not done.wait(timeouts.banner + timeouts.handshake):
        raise TimeoutError(f"no SSH handshake within {timeouts.banner + timeouts.handshake:g} s")
    if not transport.is_active():
        raise transport.get_exception() or paramiko.SSHException("SSH negotiation failed")


def _authenticate(
    transport: paramiko.Transport, endpoint: Endpoint, key: paramiko.PKey | None
) -> None:
    """Sign in with the key, then the password; a rejection fails `credentials`."""
    rejected: Exception | None = None
    try:
        if key is not None:
            try:
                transport.auth_publickey(endpoint.username, key)
            except paramiko.AuthenticationException as exc:
                rejected = exc
        if not transport.is_authenticated() and endpoint.password:
            # fallback=True answers a keyboard-interactive prompt with the password too,
            # as servers that only offer that method for passwords expect.
            try:
                transport.auth_password(endpoint.username, endpoint.password)
            except paramiko.AuthenticationException as exc:
                rejected = exc
    except REMOTE_ERRORS as exc:
        raise _unavailable(endpoint, "signing in", exc) from exc
    if not transport.is_authenticated():
        method = "key" if key is not None else "password"
        if key is not None and endpoint.password:
            method = "key and password"
        raise SyncFailure(
            FailureReason.CREDENTIALS,
            f"The SFTP server {endpoint.where} rejected the {method} for user "
            f"{endpoint.username!r}. Check the username and credentials with the district.",
            {
                "host": endpoint.host,
                "username": endpoint.username,
                "error": type(rejected).__name__ if rejected else "",
            },
        ) from rejected


def _unavailable(endpoint: Endpoint, doing: str, exc: BaseException, **details) -> SyncFailure:
    """`source_unavailable` for a transport error while `doing` something."""
    text = str(exc).lower()
    if "protocol banner" in text:  # paramiko's words for "no SSH greeting"
        what = "sent no SSH greeting in time (is an SSH server on that port?)"
    elif isinstance(exc, TimeoutError):
        what = "stopped answering (timed out)"
    elif isinstance(exc, EOFError | ConnectionError) or any(
        word in text for word in ("closed", "dropped", "reset", "eof")
    ):
        what = "closed the connection"
    else:
        what = f"failed ({type(exc).__name__}: {exc})" if str(exc) else f"failed ({exc!r})"
    return SyncFailure(
        FailureReason.SOURCE_UNAVAILABLE,
        f"The SFTP server {endpoint.where} {what} while {doing}. Nothing was changed; "
        "the next run will try again.",
        {"host": endpoint.host, "port": endpoint.port, "error": type(exc).__name__, **details},
    )


def _remote_path(remote_dir: str, name: str) -> str:
    return str(PurePosixPath(remote_dir or ".") / name)
