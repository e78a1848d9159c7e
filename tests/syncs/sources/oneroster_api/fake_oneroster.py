"""A fake OneRoster 1.1 REST server on 127.0.0.1 (pytest-httpserver) that pages with
limit/offset and checks auth: every OAuth 1.0a request's signature is verified by an
independent RFC 5849 verifier (and a reused `oauth_nonce` is refused with 401, as RFC 5849
§3.3 allows), and OAuth 2 bearer tokens are issued for HTTP Basic client credentials and
expire. Also: a CSV district as the REST binding serves it, and a config pointed at it.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import json
import re
import secrets
import time
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote

from werkzeug import Request, Response

from syncs.models import SourceKind, SyncConfig
from syncs.selectors import run_issue_queryset
from syncs.services import sync_run_create, sync_run_execute
from syncs.sources import oneroster_api
from tests.helpers import NOW

CLIENT_ID = "rollcall-client"
SECRET = "s3cr3t-Zq9!client&secret"
ACCESS_PREFIX = "tok-"

# ---------------------------------------------------------------- CSV -> OneRoster JSON


def _refs(cell: str, kind: str) -> list[dict]:
    return [{"sourcedId": part.strip(), "type": kind} for part in cell.split(",") if part.strip()]


def _ref(cell: str, kind: str) -> dict | None:
    return {"sourcedId": cell.strip(), "type": kind} if cell.strip() else None


# CSV column -> (JSON key, converter) for the columns that are references or lists.
_RENAMES = {
    "orgs": {"parentSourcedId": ("parent", lambda c: _ref(c, "org"))},
    "users": {
        "orgSourcedIds": ("orgs", lambda c: _refs(c, "org")),
        "agentSourcedIds": ("agents", lambda c: _refs(c, "user")),
        "grades": ("grades", lambda c: [g.strip() for g in c.split(",") if g.strip()]),
    },
    "classes": {
        "schoolSourcedId": ("school", lambda c: _ref(c, "org")),
        "courseSourcedId": ("course", lambda c: _ref(c, "course")),
        "termSourcedIds": ("terms", lambda c: _refs(c, "academicSession")),
        "grades": ("grades", lambda c: [g.strip() for g in c.split(",") if g.strip()]),
    },
    "enrollments": {
        "classSourcedId": ("class", lambda c: _ref(c, "class")),
        "userSourcedId": ("user", lambda c: _ref(c, "user")),
        "schoolSourcedId": ("school", lambda c: _ref(c, "org")),
    },
}


def csv_to_json(folder: Path) -> dict[str, list[dict]]:
    """A OneRoster 1.1 CSV folder as the REST binding would serve it."""
    out: dict[str, list[dict]] = {}
    for name in ("orgs", "users", "classes", "enrollments", "demographics", "academicSessions"):
        path = folder / f"{name}.csv"
        if not path.exists():
            continue
        renames = _RENAMES.get(name, {})
        records = []
        with path.open(encoding="utf-8-sig", newline="") as f:
            for row in csv.DictReader(f):
                record = {}
                for column, cell in row.items():
                    if column in renames:
                        key, convert = renames[column]
                        value = convert(cell or "")
                        if value:
                            record[key] = value
                    elif cell:
                        record[column] = cell
                records.append(record)
        out[name] = records
    return out


# ---------------------------------------------------------------- RFC 5849 verifier


def _enc(value: str) -> str:
    return quote(value, safe="-._~")


def _oauth_params(header: str) -> dict[str, str]:
    assert header.startswith("OAuth "), header
    return {
        k: unquote(v) for k, v in re.findall(r'([A-Za-z0-9_]+)="([^"]*)"', header[len("OAuth ") :])
    }


def verify_oauth1(request: Request, secret: str, method: str) -> str | None:
    """None if the request is signed correctly, else why not (RFC 5849 §3.4)."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("OAuth "):
        return "no OAuth header"
    oauth = _oauth_params(header)
    if oauth.get("oauth_consumer_key") != CLIENT_ID:
        return "wrong consumer key"
    if oauth.get("oauth_signature_method") != method:
        return f"signature method {oauth.get('oauth_signature_method')}"
    if not oauth.get("oauth_nonce") or not oauth.get("oauth_timestamp"):
        return "no nonce or timestamp"
    signature = oauth.pop("oauth_signature", "")
    oauth.pop("realm", None)
    params = parse_qsl(request.query_string.decode(), keep_blank_values=True)
    params += list(oauth.items())
    normalized = "&".join(f"{k}={v}" for k, v in sorted((_enc(k), _enc(v)) for k, v in params))
    base_uri = f"{request.scheme}://{request.host.lower()}{request.path}"
    base_string = "&".join((request.method.upper(), _enc(base_uri), _enc(normalized)))
    digest = hashlib.sha256 if method == "HMAC-SHA256" else hashlib.sha1
    key = f"{_enc(secret)}&"
    expected = base64.b64encode(
        hmac.new(key.encode(), base_string.encode(), digest).digest()
    ).decode()
    return None if hmac.compare_digest(expected, signature) else "bad signature"


# ---------------------------------------------------------------- the fake server


class FakeOneRoster:
    """A OneRoster 1.1 server: collections paged by limit/offset, sorted by sourcedId."""

    def __init__(self, httpserver, data: dict[str, list[dict]], *, auth: str = "oauth1"):
        self.data = data
        self.auth = auth  # oauth1 | oauth2
        self.signature = "HMAC-SHA256"
        self.secret = SECRET
        self.total_count = True
        self.missing: set[str] = set()  # collections answering 404
        self.expires_in = 3600
        self.max_uses: int | None = None  # a token is refused after this many uses
        self.tokens: dict[str, int] = {}  # token -> uses
        self.token_requests = 0
        self.log: list[tuple[str, int, int]] = []  # (collection, offset, status)
        self.fault = None  # fault(collection, offset, attempt) -> Response | None
        self.attempts: dict[tuple[str, int], int] = {}
        # OAuth 1: every signed request received, refused or not, in order:
        # (collection, offset, oauth_nonce, arrival on time.monotonic()).
        self.signed: list[tuple[str, int, str, float]] = []
        self.reject_reused_nonces = True  # RFC 5849 §3.3: a nonce is good for one request
        self.prefix = "/ims/oneroster/v1p1/"
        httpserver.expect_request(re.compile(".*")).respond_with_handler(self.handle)
        self.url = httpserver.url_for("/").rstrip("/")

    @staticmethod
    def json(body, status=200, headers=None) -> Response:
        return Response(json.dumps(body), status, headers, content_type="application/json")

    def refuse(self, why: str) -> Response:
        return self.json(
            {"imsx_codeMajor": "failure", "imsx_description": why},
            401,
            {"WWW-Authenticate": "OAuth" if self.auth == "oauth1" else "Bearer"},
        )

    def handle(self, request: Request) -> Response:
        if request.path == "/token":
            return self.token(request)
        collection = (
            request.path[len(self.prefix) :] if request.path.startswith(self.prefix) else ""
        )
        offset = int(request.args.get("offset", 0))
        limit = int(request.args.get("limit", 100))
        why = self.check_auth(request, collection, offset)
        if why:
            self.log.append((collection, offset, 401))
            return self.refuse(why)
        attempt = self.attempts[(collection, offset)] = (
            self.attempts.get((collection, offset), 0) + 1
        )
        if self.fault and (response := self.fault(collection, offset, attempt)) is not None:
            self.log.append((collection, offset, response.status_code))
            return response
        if collection not in self.data or collection in self.missing:
            self.log.append((collection, offset, 404))
            return self.json({"imsx_codeMajor": "failure"}, 404)
        assert request.args.get("sort") == "sourcedId"
        records = sorted(self.data[collection], key=lambda r: r.get("sourcedId", ""))
        headers = {"X-Total-Count": str(len(records))} if self.total_count else {}
        self.log.append((collection, offset, 200))
        return self.json({collection: records[offset : offset + limit]}, 200, headers)

    def check_auth(self, request: Request, collection: str, offset: int) -> str | None:
        if self.auth == "oauth1":
            header = request.headers.get("Authorization", "")
            nonce = (
                _oauth_params(header).get("oauth_nonce", "") if header.startswith("OAuth ") else ""
            )
            reused = bool(nonce) and nonce in self.nonces()
            self.signed.append((collection, offset, nonce, time.monotonic()))
            why = verify_oauth1(request, self.secret, self.signature)
            if why is None and reused and self.reject_reused_nonces:
                why = "oauth_nonce already used (a replayed request)"
            return why
        header = request.headers.get("Authorization", "")
        token = header[len("Bearer ") :] if header.startswith("Bearer ") else ""
        if token not in self.tokens:
            return "unknown token"
        self.tokens[token] += 1
        if self.max_uses is not None and self.tokens[token] > self.max_uses:
            return "token expired"
        return None

    def token(self, request: Request) -> Response:
        self.token_requests += 1
        header = request.headers.get("Authorization", "")
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{self.secret}".encode()).decode()
        if request.method != "POST" or not hmac.compare_digest(header, expected):
            return self.json({"error": "invalid_client"}, 401)
        if request.form.get("grant_type") != "client_credentials":
            return self.json({"error": "unsupported_grant_type"}, 400)
        if request.form.get("scope") != oneroster_api.SCOPE:
            return self.json({"error": "invalid_scope"}, 400)
        token = ACCESS_PREFIX + secrets.token_hex(8)
        self.tokens[token] = 0
        return self.json(
            {"access_token": token, "token_type": "bearer", "expires_in": self.expires_in}
        )

    def pages(self, collection: str) -> list[int]:
        return [o for c, o, s in self.log if c == collection and s == 200]

    def nonces(self) -> list[str]:
        return [nonce for _c, _o, nonce, _at in self.signed]

    def statuses(self, collection: str, offset: int) -> list[int]:
        return [s for c, o, s in self.log if (c, o) == (collection, offset)]


def api_config(config: SyncConfig, server: FakeOneRoster, **fields) -> SyncConfig:
    config.source_kind = SourceKind.ONEROSTER_API
    config.api_url = server.url
    config.oauth_version = "2" if server.auth == "oauth2" else "1"
    config.oauth_signature = server.signature
    config.oauth_client_id = CLIENT_ID
    config.oauth_client_secret = SECRET
    for name, value in fields.items():
        setattr(config, name, value)
    config.save()
    return config


def run_sync(config: SyncConfig):
    return sync_run_execute(run=sync_run_create(config=config), now=NOW)


def assert_no_secret(run, caplog) -> None:
    texts = [
        run.message,
        json.dumps(run.diagnostics),
        *run_issue_queryset(run).values_list("message", flat=True),
        caplog.text,
    ]
    for text in texts:
        assert SECRET not in text
        assert ACCESS_PREFIX not in text
        assert base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode() not in text
