"""Real servers on 127.0.0.1 for notification tests, and one world of listeners.

- `smtp`: an aiosmtpd SMTP server collecting every message; Django's email settings
  point at it (smtp backend), so emails go over a real socket.
- `receiver`: a webhook receiver (http.server in a thread) that checks every request's
  signature with its own HMAC code and answers as each test scripts it.
- `listeners`: district A with a config, and everyone who could hear about it.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from django.contrib.auth.models import Permission

from accounts.models import Membership, MembershipRole, User
from notify.models import Mode, NotificationPreference, Watch
from rostering.models import Organization, School
from syncs.models import RunStatus, SourceKind, SyncConfig, SyncRun

CANARY = "canary-s3cret-Zq81-never-shown"
WEBHOOK_SECRET = "whsec-test-0123456789abcdef"


# ---------------------------------------------------------------- SMTP


@dataclass
class Mailbox:
    messages: list[tuple[list[str], EmailMessage, str]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        raw = envelope.original_content or envelope.content
        raw = raw if isinstance(raw, bytes) else raw.encode()
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        # Every form a secret could take on the wire: the bytes, and the decoded message.
        seen = raw.decode("utf-8", "replace") + str(message["Subject"]) + body_of(message)
        self.messages.append((list(envelope.rcpt_tos), message, seen))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for rcpts, m, _ in self.messages if address in rcpts]

    @property
    def recipients(self) -> list[str]:
        return sorted(r for rcpts, _, _ in self.messages for r in rcpts)

    def bodies(self) -> list[str]:
        return [body_of(m) for _, m, _ in self.messages]

    def raw(self) -> list[str]:
        return [raw for _, _, raw in self.messages]


def body_of(message: EmailMessage) -> str:
    return message.get_content()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(settings):
    """A real SMTP server on loopback; Django sends to it."""
    mailbox = Mailbox()
    controller = None
    for _ in range(5):
        controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
        try:
            controller.start()
            break
        except OSError:
            controller = None
    assert controller is not None, "no SMTP server could start on 127.0.0.1"
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = "Rollcall <rollcall@example.org>"
    yield mailbox
    controller.stop()


# ---------------------------------------------------------------- webhook receiver


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool


def verify(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """The receiver's own check, written apart from notify.webhooks on purpose."""
    expected = hmac.new(
        secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    fresh = abs(time.time() - int(timestamp)) < 300
    return fresh and header.startswith("v1=") and hmac.compare_digest(header[3:], expected)


class Receiver:
    """Answers each POST with the next scripted (status, delay seconds, headers); 200 when
    the script runs out. Records every request and whether its signature checked out."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.script: deque[tuple[int, float, dict[str, str]]] = deque()
        self.received: list[Received] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                ok = verify(
                    receiver.secret,
                    self.headers.get("Rollcall-Timestamp", "0"),
                    body,
                    self.headers.get("Rollcall-Signature", ""),
                )
                with receiver.lock:
                    receiver.received.append(Received(self.path, dict(self.headers), body, ok))
                    status, delay, headers = (
                        receiver.script.popleft() if receiver.script else (200, 0.0, {})
                    )
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the client gave up waiting

            do_GET = do_POST  # noqa: N815 - a followed redirect would arrive as GET

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def then(self, status: int, delay: float = 0.0, **headers: str) -> Receiver:
        self.script.append((status, delay, headers))
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver(WEBHOOK_SECRET)
    yield r
    r.close()


@pytest.fixture
def other_receiver():
    r = Receiver(WEBHOOK_SECRET)
    yield r
    r.close()


# ---------------------------------------------------------------- listeners


@dataclass
class Listeners:
    org: Organization
    config: SyncConfig
    other_org: Organization
    other_config: SyncConfig
    admin: User  # district admin of A, immediate (no preference stored)
    daily_admin: User  # district admin of A, daily digest
    silent_admin: User  # district admin of A, off
    watcher: User  # support staff watching A
    school_admin: User  # school admin in A: never emailed
    other_admin: User  # district admin of B only
    bystander: User  # staff not watching A


def _user(username: str, **extra) -> User:
    return User.objects.create_user(
        username, email=f"{username}@example.org", password="pw", **extra
    )


def _district_admin(username: str, org: Organization) -> User:
    user = _user(username)
    Membership.objects.create(user=user, organization=org, role=MembershipRole.DISTRICT_ADMIN)
    return user


def _staff(username: str) -> User:
    user = _user(username, is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="syncs", codename__in=["view_syncconfig", "view_syncrun"]
        )
    )
    return user


@pytest.fixture
def listeners(db) -> Listeners:
    org = Organization.objects.create(name="Alpha District", slug="alpha")
    other = Organization.objects.create(name="Beta District", slug="beta")
    config = SyncConfig.objects.create(
        organization=org,
        name="Nightly",
        source_kind=SourceKind.SFTP,
        sftp_host="sftp.example.org",
        sftp_username="alpha",
        sftp_password=CANARY,
        sftp_private_key=CANARY,
        api_token=CANARY,
        oauth_client_secret=CANARY,
    )
    other_config = SyncConfig.objects.create(
        organization=other, name="Nightly", source_kind=SourceKind.LOCAL_FILES
    )
    admin = _district_admin("alpha-admin", org)
    daily = _district_admin("alpha-daily", org)
    NotificationPreference.objects.create(user=daily, organization=org, mode=Mode.DAILY)
    silent = _district_admin("alpha-silent", org)
    NotificationPreference.objects.create(user=silent, organization=org, mode=Mode.OFF)
    watcher = _staff("support-watcher")
    Watch.objects.create(user=watcher, organization=org)
    school_admin = _user("alpha-school")
    Membership.objects.create(
        user=school_admin,
        organization=org,
        role=MembershipRole.SCHOOL_ADMIN,
        school=School.objects.create(organization=org, sis_id="0123", name="Lincoln"),
    )
    return Listeners(
        org=org,
        config=config,
        other_org=other,
        other_config=other_config,
        admin=admin,
        daily_admin=daily,
        silent_admin=silent,
        watcher=watcher,
        school_admin=school_admin,
        other_admin=_district_admin("beta-admin", other),
        bystander=_staff("support-bystander"),
    )


def finished_run(
    config: SyncConfig,
    at: datetime,
    *,
    status: str = RunStatus.FAILED,
    reason: str = "",
    message: str = "",
    dry_run: bool = False,
) -> SyncRun:
    return SyncRun.objects.create(
        config=config,
        status=status,
        failure_reason=reason,
        message=message,
        dry_run=dry_run,
        started_at=at,
        finished_at=at,
        stage="done",
    )
