"""An in-process SSH/SFTP server for fast tests (paramiko talking to paramiko).

`StubSftpServer(root, host_key=...)` serves the folder `root`, read-only, on a
127.0.0.1 port from a thread, in the manner of paramiko's own tests/_stub_sftp.py. Switches
make it misbehave the way real servers do: drop the connection part-way through a
download, announce files larger than the data it sends, or stop answering reads.
It hides what only a real OpenSSH shows (chroot, permissions): test_sftp_sshd.py covers that.

`PASSWORD` is the one the `server` fixture (tests/syncs/conftest.py) accepts, and
`fail(config)` the SyncFailure a fetch through it raises.
"""

from __future__ import annotations

import io
import os
import socket
import stat
import threading
from pathlib import Path

import paramiko
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from paramiko.sftp import SFTP_FAILURE, SFTP_OK, SFTP_OP_UNSUPPORTED

from syncs.errors import SyncFailure
from syncs.models import SyncConfig
from syncs.sources import sftp as sftp_source

PASSWORD = "correct horse battery staple"


def new_key(kind: str = "ed25519") -> tuple[paramiko.PKey, str]:
    """A fresh private key as a paramiko key and as OpenSSH/PEM text (what a config holds)."""
    if kind == "ed25519":
        private = ed25519.Ed25519PrivateKey.generate()
        fmt = serialization.PrivateFormat.OpenSSH
    elif kind == "ecdsa":
        private = ec.generate_private_key(ec.SECP256R1())
        fmt = serialization.PrivateFormat.TraditionalOpenSSL  # "BEGIN EC PRIVATE KEY"
    elif kind == "rsa":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        fmt = serialization.PrivateFormat.TraditionalOpenSSL  # "BEGIN RSA PRIVATE KEY"
    else:
        raise ValueError(kind)
    text = private.private_bytes(
        serialization.Encoding.PEM, fmt, serialization.NoEncryption()
    ).decode()
    cls = {"ed25519": paramiko.Ed25519Key, "ecdsa": paramiko.ECDSAKey, "rsa": paramiko.RSAKey}
    return cls[kind].from_private_key(io.StringIO(text)), text


class StubSftpServer:
    """A read-only SFTP server on 127.0.0.1:`port`; use it as a context manager."""

    def __init__(
        self,
        root: Path,
        *,
        host_key: paramiko.PKey,
        username: str = "district",
        password: str | None = None,
        authorized_key: paramiko.PKey | None = None,
    ) -> None:
        self.root = Path(root)
        self.host_key = host_key
        self.username = username
        self.password = password
        self.authorized_key = authorized_key
        # Misbehaviour switches, read at each request.
        self.drop_after_bytes: int | None = None  # close the connection after this much data
        self.announce_extra_bytes = 0  # stat() says files are this much larger than they are
        self.stall_reads = False  # reads never answer (until the server stops)
        self.bytes_sent = 0
        self.connections = 0
        self.auth_attempts = 0  # credentials received, of any kind
        self._stopped = threading.Event()
        self._transports: list[paramiko.Transport] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)  # so the accept loop notices a stop
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, name="stub-sftp", daemon=True)

    def __enter__(self) -> StubSftpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stopped.set()
        self._listener.close()
        for transport in self._transports:
            transport.close()
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # the listener was closed
            self.connections += 1
            transport = paramiko.Transport(conn)
            transport.add_server_key(self.host_key)
            transport.set_subsystem_handler("sftp", paramiko.SFTPServer, _Folder)
            self._transports.append(transport)
            # With an event, start_server returns at once: a slow client never blocks accept.
            transport.start_server(event=threading.Event(), server=_Login(self, transport))


class _Login(paramiko.ServerInterface):
    """One connection's authentication: the configured password or public key."""

    def __init__(self, stub: StubSftpServer, transport: paramiko.Transport) -> None:
        self.stub = stub
        self.transport = transport

    def get_allowed_auths(self, username: str) -> str:
        methods = []
        if self.stub.authorized_key is not None:
            methods.append("publickey")
        if self.stub.password is not None:
            methods.append("password")
        return ",".join(methods) or "none"

    def check_auth_password(self, username: str, password: str) -> int:
        self.stub.auth_attempts += 1
        if (
            self.stub.password is not None
            and username == self.stub.username
            and password == self.stub.password
        ):
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        self.stub.auth_attempts += 1
        wanted = self.stub.authorized_key
        if username == self.stub.username and wanted is not None and key == wanted:
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED


class _Folder(paramiko.SFTPServerInterface):
    """The SFTP view of `stub.root`: "/" is the root; nothing outside it is reachable."""

    def __init__(self, server: _Login, *args, **kwargs) -> None:
        super().__init__(server, *args, **kwargs)
        self.stub = server.stub
        self.transport = server.transport

    def _local(self, path: str) -> Path:
        # canonicalize() normalizes "..", so the result stays under root.
        return self.stub.root / self.canonicalize(path).lstrip("/")

    def _attributes(self, st: os.stat_result, name: str = "") -> paramiko.SFTPAttributes:
        attr = paramiko.SFTPAttributes.from_stat(st, name)
        if stat.S_ISREG(st.st_mode):
            attr.st_size += self.stub.announce_extra_bytes
        return attr

    def list_folder(self, path: str):
        folder = self._local(path)
        try:
            return [self._attributes(os.lstat(folder / name), name) for name in os.listdir(folder)]
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno)

    def stat(self, path: str):
        try:
            return self._attributes(os.stat(self._local(path)))
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno)

    lstat = stat

    def open(self, path: str, flags: int, attr):
        if flags & (os.O_WRONLY | os.O_RDWR):
            return SFTP_OP_UNSUPPORTED  # read-only, like a district's outbox
        try:
            readfile = open(self._local(path), "rb")  # noqa: SIM115 - closed by the handle
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno)
        return _Handle(self, readfile)


class _Handle(paramiko.SFTPHandle):
    def __init__(self, folder: _Folder, readfile) -> None:
        super().__init__()
        self.folder = folder
        self.readfile = readfile  # SFTPHandle.read/close use this attribute

    def stat(self):
        attr = paramiko.SFTPAttributes.from_stat(os.fstat(self.readfile.fileno()))
        attr.st_size += self.folder.stub.announce_extra_bytes
        return attr

    def chattr(self, attr) -> int:
        return SFTP_OK

    def read(self, offset: int, length: int):
        stub = self.folder.stub
        if stub.stall_reads:
            stub._stopped.wait()
            return SFTP_FAILURE
        if stub.drop_after_bytes is not None and stub.bytes_sent >= stub.drop_after_bytes:
            self.folder.transport.close()  # the server goes away mid-download
            return SFTP_FAILURE
        data = super().read(offset, length)
        if isinstance(data, bytes):
            stub.bytes_sent += len(data)
        return data


def fail(config: SyncConfig, **kwargs) -> SyncFailure:
    """The SyncFailure a fetch of `config` raises."""
    with pytest.raises(SyncFailure) as caught:
        with sftp_source.fetch(config, **kwargs):
            pass
    return caught.value
