"""OneRoster REST source (DESIGN §5 "ClassLink / OneRoster REST") against a real HTTP
server on 127.0.0.1 (pytest-httpserver) that pages with limit/offset and checks auth:
every OAuth 1.0a request's signature is verified by an independent RFC 5849 verifier (and a
reused `oauth_nonce` is refused with 401, as RFC 5849 §3.3 allows), and OAuth 2 bearer
tokens are issued for HTTP Basic client credentials and expire.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import json
import logging
import re
import secrets
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote

import pytest
import requests
from urllib3.util.retry import Retry
from werkzeug import Request, Response

from accounts.models import ContactDevice
from devtools.generator import generate_district
from rostering.models import Class, Enrollment, Guardianship, Person
from syncs.clients import http
from syncs.clients import oneroster as oneroster_client
from syncs.formats import oneroster_csv, oneroster_json
from syncs.models import Issue, SourceKind, SyncConfig
from syncs.services import sync_run_create, sync_run_execute
from syncs.sources import oneroster_api
from tests.conftest import NOW
from tests.syncs.test_sync_run import snapshot

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


# ---------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def fast_and_clean(monkeypatch):
    """No backoff sleeps between retries (Retry-After is still honoured), plain HTTP to
    127.0.0.1 allowed for oauthlib, and no token cached across tests."""
    monkeypatch.setattr(Retry, "get_backoff_time", lambda self: 0)
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    oneroster_api.clear_token_cache()
    yield
    oneroster_api.clear_token_cache()


@pytest.fixture
def page_size(settings):
    def set_size(size: int) -> None:
        settings.ROLLCALL = {**settings.ROLLCALL, "ONEROSTER_PAGE_SIZE": size}

    set_size(2)
    return set_size


@pytest.fixture
def district_json(district, tmp_path) -> dict[str, list[dict]]:
    data = csv_to_json(district.write(tmp_path / "csv"))
    data["academicSessions"] = []  # the builder writes none; the server has an empty list
    return data


@pytest.fixture
def server(httpserver, district_json) -> FakeOneRoster:
    return FakeOneRoster(httpserver, district_json)


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
        *Issue.objects.filter(run=run).values_list("message", flat=True),
        caplog.text,
    ]
    for text in texts:
        assert SECRET not in text
        assert ACCESS_PREFIX not in text
        assert base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode() not in text


def canonical(roster) -> dict:
    """A Roster's records without where they were read from."""
    return {
        "schools": {k: (s.name,) for k, s in roster.schools.items()},
        "people": {
            k: (
                p.role,
                p.given_name,
                p.family_name,
                p.email,
                p.phone,
                p.other_phones,
                p.dob,
                p.grade,
                p.school_ids,
            )
            for k, p in roster.people.items()
        },
        "classes": {k: (c.school_id, c.name, c.term) for k, c in roster.classes.items()},
        "enrollments": {k: (e.role, e.primary) for k, e in roster.enrollments.items()},
        "guardianships": roster.guardianships,
        "unreadable_people": roster.unreadable_people,
    }


def mirror_outcome() -> dict:
    """What a sync wrote, without database keys (comparable across wiped databases)."""
    people = Person.objects.select_related("account")
    devices: dict[int, list] = {}
    for account_id, kind, value in ContactDevice.objects.values_list("account_id", "kind", "value"):
        devices.setdefault(account_id, []).append((kind, value))
    return {
        "people": sorted(
            (
                p.source_id,
                p.role,
                p.given_name,
                p.family_name,
                p.email,
                p.phone,
                str(p.dob),
                p.archived_at is None,
                sorted(devices.get(p.account_id, [])),
            )
            for p in people
        ),
        "classes": sorted(Class.objects.values_list("source_id", "name", "term", "school__sis_id")),
        "enrollments": sorted(Enrollment.objects.values_list("source_id", "role", "primary")),
        "guardianships": sorted(Guardianship.objects.values_list("source_id", flat=True)),
        "issues": sorted(Issue.objects.values_list("code", "source_id", "field")),
    }


# ---------------------------------------------------------------- same as CSV


def test_oneroster_api_district_syncs_like_csv(config, server, page_size, tmp_path, sync, district):
    """Paged JSON from the API gives the same mirror as the CSV files: syncing the CSV
    of the same district afterwards (same config) changes nothing."""
    api_config(config, server)
    run = run_sync(config)
    assert run.status == "succeeded", run.message
    assert run.counts["students"]["created"] == 3
    assert run.counts["parents"]["created"] == 3
    assert run.counts["enrollments"]["created"] == 5
    assert run.counts["guardianships"]["created"] == 3
    assert server.pages("users") == [0, 2, 4, 6]  # limit 2, X-Total-Count 8
    api_state = snapshot()

    config.source_kind = SourceKind.LOCAL_FILES
    config.save()
    again = sync(district)
    assert again.status == "succeeded", again.message
    for kind, counts in again.counts.items():
        changed = {k: v for k, v in counts.items() if k not in ("unchanged", "quarantined")}
        assert not any(changed.values()), (kind, counts)
    assert snapshot() == api_state


@pytest.mark.slow
def test_generated_district_api_and_csv_give_same_records(db, httpserver, settings, tmp_path, org):
    """A generated district (200 students, every kind of data problem) served as JSON with
    limit/offset paging parses to the very records of its CSV, and syncs to the same mirror
    and issues as the CSV sync into a clean database."""
    folder = tmp_path / "generated"
    generate_district(students=200, seed=7, out=folder)
    server = FakeOneRoster(httpserver, csv_to_json(folder))
    server.total_count = False  # page until a short page
    settings.ROLLCALL = {**settings.ROLLCALL, "ONEROSTER_PAGE_SIZE": 97}
    config = api_config(SyncConfig.objects.create(organization=org, name="api"), server)

    with oneroster_api.fetch(config) as pages:
        api_roster, api_findings = oneroster_json.parse(pages)
        assert len(list(pages.glob("enrollments.*.json"))) > 3
    csv_roster, csv_findings = oneroster_csv.parse(folder)
    assert canonical(api_roster) == canonical(csv_roster)
    assert sorted(f.code for f in api_findings) == sorted(f.code for f in csv_findings)

    run = run_sync(config)
    assert run.status == "succeeded", run.message
    api_state = mirror_outcome()
    assert api_state["issues"]  # the generated problems are reported

    from tests.syncs.test_same_district_three_formats import wipe

    wipe()
    org2 = type(org).objects.create(name="District", slug="district-csv")
    csv_config = SyncConfig.objects.create(
        organization=org2, name="files", source_kind=SourceKind.LOCAL_FILES, path=str(folder)
    )
    csv_run = run_sync(csv_config)
    assert csv_run.status == "succeeded", csv_run.message
    assert mirror_outcome() == api_state
    assert csv_run.counts == run.counts


# ---------------------------------------------------------------- OAuth 1.0a


@pytest.mark.parametrize("method", ["HMAC-SHA256", "HMAC-SHA1"])
def test_oauth1_every_request_signed(config, server, page_size, method, caplog):
    server.signature = method
    api_config(config, server, oauth_signature=method)
    caplog.set_level(logging.DEBUG)
    run = run_sync(config)
    assert run.status == "succeeded", run.message
    assert all(status == 200 for _c, _o, status in server.log), server.log
    assert len(server.log) >= 10
    assert_no_secret(run, caplog)


def test_oauth1_signature_method_mismatch_is_refused(config, server, page_size):
    server.signature = "HMAC-SHA256"
    api_config(config, server, oauth_signature="HMAC-SHA1")
    run = run_sync(config)
    assert (run.status, run.failure_reason) == ("failed", "credentials")


def test_oauth1_wrong_secret_fails_credentials(config, server, page_size, caplog):
    caplog.set_level(logging.DEBUG)
    api_config(config, server)
    server.secret = "the-real-secret"
    run = run_sync(config)
    assert (run.status, run.failure_reason) == ("failed", "credentials")
    assert "401" in run.message
    assert not Person.objects.exists()
    assert_no_secret(run, caplog)
    assert [s for _c, _o, s in server.log] == [401]  # 401 is never retried


# ---------------------------------------------------------------- OAuth 1.0a retries


def assert_no_nonce_reused(server: FakeOneRoster) -> None:
    nonces = server.nonces()
    assert nonces and all(nonces)
    reused = sorted({n for n in nonces if nonces.count(n) > 1})
    assert not reused, f"nonces sent more than once: {reused}"


def first_attempt_fails(server: FakeOneRoster, page: tuple[str, int], response) -> None:
    server.fault = lambda c, o, a: response() if (c, o) == page and a == 1 else None


def assert_resigned_after(server: FakeOneRoster, run, page, status, *, waited: float) -> None:
    """The page failed once with `status`, then came on a request signed afresh, sent no
    sooner than `waited` seconds later; the server never saw a nonce twice."""
    assert run.status == "succeeded", run.message
    assert server.statuses(*page) == [status, 200]
    attempts = [(nonce, at) for c, o, nonce, at in server.signed if (c, o) == page]
    assert len(attempts) == 2
    (first, first_at), (second, second_at) = attempts
    assert first != second
    assert second_at - first_at >= waited
    assert not [entry for entry in server.log if entry[2] == 401], server.log
    assert_no_nonce_reused(server)
    assert Person.objects.count() == 8


def test_oauth1_server_refuses_a_reused_nonce(config, server):
    """The fake server itself: the very same signed request sent twice is refused the
    second time (what a replayed OAuth 1.0a request meets on a nonce-checking server)."""
    api_config(config, server)
    client = oneroster_client.Client(config)
    try:
        url = f"{client.base}/orgs"
        request = client.session.prepare_request(
            requests.Request("GET", url, params={"sort": "sourcedId"})
        )
        first = client.session.send(request)
        again = client.session.send(request)
    finally:
        client.close()
    assert (first.status_code, again.status_code) == (200, 401)
    assert b"oauth_nonce already used" in again.content


def test_oauth1_retry_after_429_is_resigned_with_a_fresh_nonce(config, server, page_size):
    """Issue #10 defect 9: a 429 with Retry-After used to be retried by urllib3 with the
    same signed request (same nonce), which a nonce-checking server refuses with 401."""
    page = ("users", 2)
    first_attempt_fails(server, page, lambda: Response("slow down", 429, {"Retry-After": "1"}))
    api_config(config, server)
    run = run_sync(config)
    assert_resigned_after(server, run, page, 429, waited=0.95)


def test_oauth1_retry_after_503_is_resigned_with_a_fresh_nonce(config, server, page_size):
    page = ("classes", 0)
    first_attempt_fails(server, page, lambda: Response("maintenance", 503, {"Retry-After": "1"}))
    api_config(config, server)
    run = run_sync(config)
    assert_resigned_after(server, run, page, 503, waited=0.95)


def test_oauth1_500_without_retry_after_is_resigned_with_a_fresh_nonce(config, server, page_size):
    page = ("enrollments", 2)
    first_attempt_fails(server, page, lambda: Response("oops", 500))
    api_config(config, server)
    run = run_sync(config)
    assert_resigned_after(server, run, page, 500, waited=0)


def test_oauth1_read_timeout_is_resigned_with_a_fresh_nonce(config, server, page_size, monkeypatch):
    """A request that reached the server but got no answer in time is sent again by the
    caller, signed afresh, never resent as it was by urllib3."""
    # Every request of the sync has this read timeout, so it is generous for a busy CI
    # machine. The server answers one request at a time: the slow answer must end within
    # a timeout of the retry, which waits behind it.
    monkeypatch.setattr(http, "TIMEOUT", (3.05, 1.0))
    page = ("users", 4)

    def slow():
        time.sleep(1.3)
        return Response("too late", 200)

    first_attempt_fails(server, page, slow)
    api_config(config, server)
    run = run_sync(config)
    assert_resigned_after(server, run, page, 200, waited=1.0)


def test_oauth1_redirect_is_not_followed_with_the_same_nonce(config, server, page_size):
    """A redirect is not followed with the signed request (its nonce, and a signature for
    another URL): the run fails `source_unavailable` saying where the server points, not
    `credentials`."""
    moved = server.url + "/elsewhere" + server.prefix + "users"
    server.fault = lambda c, o, a: (
        Response("", 307, {"Location": moved + f"?offset={o}&limit=2&sort=sourcedId"})
        if c == "users"
        else None
    )
    api_config(config, server)
    run = run_sync(config)
    assert (run.status, run.failure_reason) == ("failed", "source_unavailable"), run.message
    assert "redirected" in run.message and "/elsewhere" in run.message
    assert "offset=" not in run.message
    assert [s for c, _o, s in server.log if c == "users"] == [307]
    assert_no_nonce_reused(server)
    assert not Person.objects.exists()


def test_oauth1_no_nonce_is_ever_sent_twice_in_a_sync(config, server, page_size):
    """Every page's first request fails, by every status a retry follows (429 and 503
    with and without Retry-After, 500, 502, 504): the sync completes, and across the whole
    sync the server never sees a nonce twice, nor refuses one."""
    failures = [
        (429, {"Retry-After": "0"}),
        (503, {"Retry-After": "0"}),
        (500, {}),
        (502, {}),
        (504, {}),
        (429, {}),
        (503, {}),
        (500, {"Retry-After": "0"}),
    ]
    pages: list[tuple[str, int]] = []

    def fault(collection, offset, attempt):
        if attempt > 1:
            return None
        pages.append((collection, offset))
        status, headers = failures[len(pages) % len(failures)]
        return Response("try again", status, headers)

    server.fault = fault
    api_config(config, server)
    run = run_sync(config)
    assert run.status == "succeeded", run.message
    assert len(pages) >= 10
    assert all(server.statuses(*page)[-1] in (200, 404) for page in pages)
    assert len(server.signed) == len(server.log) == 2 * len(pages)
    assert not [entry for entry in server.log if entry[2] == 401], server.log
    assert_no_nonce_reused(server)


# ---------------------------------------------------------------- OAuth 2


@pytest.fixture
def oauth2_server(server) -> FakeOneRoster:
    server.auth = "oauth2"
    return server


def test_oauth2_client_credentials(config, oauth2_server, page_size, caplog):
    caplog.set_level(logging.DEBUG)
    api_config(config, oauth2_server)
    run = run_sync(config)
    assert run.status == "succeeded", run.message
    assert oauth2_server.token_requests == 1  # cached for the whole run
    assert_no_secret(run, caplog)


def test_oauth2_token_endpoint_refuses_wrong_secret(config, oauth2_server, page_size, caplog):
    caplog.set_level(logging.DEBUG)
    api_config(config, oauth2_server)
    oauth2_server.secret = "another"
    run = run_sync(config)
    assert (run.status, run.failure_reason) == ("failed", "credentials")
    assert "invalid_client" in run.message
    assert_no_secret(run, caplog)


def test_oauth2_expired_token_is_fetched_again(config, oauth2_server, page_size, monkeypatch):
    """expires_in=1: a token is used for half its life, then a new one is fetched."""
    clock = iter(range(0, 10_000, 2))
    monkeypatch.setattr(oneroster_client, "_now", lambda: float(next(clock)))
    oauth2_server.expires_in = 1
    api_config(config, oauth2_server)
    run = run_sync(config)
    assert run.status == "succeeded", run.message
    assert oauth2_server.token_requests > 5
    assert all(status == 200 for _c, _o, status in oauth2_server.log)


def test_oauth2_token_refused_midway_is_renewed_once(config, oauth2_server, page_size):
    """The server stops accepting a token after 3 uses (401): the page is retried with a
    new token and the run completes."""
    oauth2_server.max_uses = 3
    api_config(config, oauth2_server)
    run = run_sync(config)
    assert run.status == "succeeded", run.message
    refused = [entry for entry in oauth2_server.log if entry[2] == 401]
    assert refused
    assert oauth2_server.token_requests == len(refused) + 1
    assert Person.objects.count() == 8


def test_oauth2_token_always_refused_fails_credentials(config, oauth2_server, page_size):
    oauth2_server.max_uses = 0
    api_config(config, oauth2_server)
    run = run_sync(config)
    assert (run.status, run.failure_reason) == ("failed", "credentials")
    assert oauth2_server.token_requests == 2  # one renewal, not a loop


# ---------------------------------------------------------------- transport failures


def test_429_retry_after_then_success(config, server, page_size):
    def fault(collection, offset, attempt):
        if collection == "users" and offset == 2 and attempt == 1:
            return Response("slow down", 429, {"Retry-After": "1"})
        return None

    server.fault = fault
    api_config(config, server)
    run = run_sync(config)
    assert run.status == "succeeded", run.message
    assert ("users", 2, 429) in server.log
    assert Person.objects.count() == 8


def test_500_on_page_3_of_5_leaves_everything_untouched(
    config, server, page_size, district, tmp_path, monkeypatch
):
    api_config(config, server)
    assert run_sync(config).status == "succeeded"
    before = snapshot()

    # The next night the district changed, but users page 3 (offset 4) keeps failing.
    server.data.update(csv_to_json(district.drop_user("s2").write(tmp_path / "csv2")))
    server.data["users"][0]["givenName"] = "Renamed"
    server.total_count = False  # 8 users at limit 2: pages at 0, 2, 4, 6 and an empty 8
    server.fault = lambda c, o, a: Response("oops", 500) if (c, o) == ("users", 4) else None
    server.attempts.clear()
    server.log.clear()
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))

    run = run_sync(config)
    assert (run.status, run.failure_reason) == ("failed", "source_unavailable")
    assert "500" in run.message
    assert server.attempts[("users", 4)] == oneroster_api.RETRIES + 1
    assert ("users", 6, 200) not in server.log
    assert snapshot() == before
    assert list(scratch.iterdir()) == []  # the pages read so far were removed


def test_401_fails_credentials_without_leaking(config, server, page_size, caplog):
    caplog.set_level(logging.DEBUG)
    server.fault = lambda c, o, a: (
        Response('{"imsx_codeMajor":"failure"}', 401) if c == "classes" else None
    )
    api_config(config, server)
    run = run_sync(config)
    assert (run.status, run.failure_reason) == ("failed", "credentials")
    assert not Person.objects.exists()
    assert_no_secret(run, caplog)


@pytest.mark.parametrize(
    "body",
    [
        "<html>Gateway</html>",
        json.dumps({"data": []}),
        json.dumps({"users": {"not": "a list"}}),
    ],
    ids=["not_json", "missing_key", "not_a_list"],
)
def test_malformed_page_fails_source_unavailable(config, server, page_size, body):
    server.fault = lambda c, o, a: (
        Response(body, 200, content_type="application/json") if (c, o) == ("users", 2) else None
    )
    api_config(config, server)
    run = run_sync(config)
    assert (run.status, run.failure_reason) == ("failed", "source_unavailable")
    assert "malformed" in run.message
    assert not Person.objects.exists()


def test_short_of_total_count_is_a_partial_download(config, server, page_size):
    server.fault = lambda c, o, a: (
        FakeOneRoster.json({"users": []}, 200, {"X-Total-Count": "8"})
        if (c, o) == ("users", 4)
        else None
    )
    api_config(config, server)
    run = run_sync(config)
    assert (run.status, run.failure_reason) == ("failed", "source_unavailable")
    assert "4 of the 8" in run.message


def test_404_on_required_collection_fails(config, server, page_size):
    server.missing.add("enrollments")
    api_config(config, server)
    run = run_sync(config)
    assert (run.status, run.failure_reason) == ("failed", "source_unavailable")
    assert "enrollments" in run.message


def test_404_on_demographics_is_not_fatal(config, server, page_size):
    server.missing.add("demographics")
    api_config(config, server)
    run = run_sync(config)
    assert run.status == "succeeded", run.message
    dob_errors = Issue.objects.filter(run=run, code="student_dob")
    assert sorted(dob_errors.values_list("source_id", flat=True)) == ["s1", "s2", "s3"]
    assert Person.objects.filter(role="teacher").count() == 2


def test_base_url_with_version_path_is_used_as_given(config, server, page_size):
    api_config(config, server, api_url=server.url + "/ims/oneroster/v1p1/")
    run = run_sync(config)
    assert run.status == "succeeded", run.message


def test_plain_http_to_another_host_is_refused(config, server):
    api_config(config, server, api_url="http://roster.example.org")
    run = run_sync(config)
    assert (run.status, run.failure_reason) == ("failed", "source_unavailable")
    assert server.log == []


# ---------------------------------------------------------------- connection test


def test_connection_reports_org_and_missing_schools(config, server, page_size):
    api_config(config, server, school_ids=["0123", "456"])
    report = oneroster_api.test_connection(config)
    assert report.ok
    assert report.organization == "District"
    assert report.schools == ["0123"]
    assert report.missing_schools == ["456"]
    assert report.near_matches == {"456": ["0456"]}
    assert "456 (did you mean 0456?)" in report.message
    assert SECRET not in report.message


def test_connection_with_wrong_secret(config, oauth2_server, page_size):
    api_config(config, oauth2_server)
    oauth2_server.secret = "another"
    report = oneroster_api.test_connection(config)
    assert not report.ok
    assert "refused" in report.message
    assert SECRET not in report.message


# ---------------------------------------------------------------- the JSON parser


def test_json_parser_findings(tmp_path):
    pages = tmp_path / "pages"
    pages.mkdir()
    bodies = {
        "orgs": [
            {"sourcedId": "d", "name": "District", "type": "district"},
            {"sourcedId": "0123", "name": "Lincoln", "type": "school"},
        ],
        "users": [
            {
                "sourcedId": "s1",
                "role": "student",
                "enabledUser": True,
                "givenName": "Ann",
                "familyName": "Lee",
                "orgs": [{"sourcedId": "0123", "type": "org"}],
                "agents": [{"sourcedId": "ghost", "type": "user"}],
            },
            {"givenName": "No", "familyName": "Id", "role": "student"},
            {
                "sourcedId": "g1",
                "role": "guardian",
                "givenName": "Gus",
                "familyName": "Lee",
                "orgs": [{"sourcedId": "0123", "type": "org"}],
                "agents": [{"sourcedId": "s1", "type": "user"}],
            },
            {"sourcedId": "x1", "role": "wizard", "givenName": "X", "familyName": "Y"},
            {"sourcedId": "off", "role": "student", "enabledUser": "false"},
        ],
        "classes": [
            {
                "sourcedId": "c1",
                "title": "Math",
                "school": {"sourcedId": "0123", "type": "org"},
                "terms": [{"sourcedId": "t1", "type": "academicSession"}],
            }
        ],
        "enrollments": [
            {
                "sourcedId": "e1",
                "class": {"sourcedId": "c1"},
                "user": {"sourcedId": "s1"},
                "role": "student",
                "primary": False,
            },
            {"sourcedId": "e2", "user": {"sourcedId": "s1"}, "role": "student"},
        ],
        "academicSessions": [{"sourcedId": "t1", "title": "Fall 2026"}],
        "demographics": [{"sourcedId": "s1", "birthDate": "2014-03-09"}],
    }
    for name, records in bodies.items():
        (pages / f"{name}.00000.json").write_text(json.dumps({name: records}))
    roster, findings = oneroster_json.parse(pages)
    assert set(roster.people) == {"s1", "g1"}
    assert roster.people["s1"].dob == "2014-03-09"
    assert roster.people["g1"].role == "parent"
    assert roster.guardianships == {("g1", "s1")}
    assert roster.classes["c1"].term == "Fall 2026"
    assert roster.classes["c1"].school_id == "0123"
    assert list(roster.enrollments) == [("c1", "s1")]
    assert roster.unreadable_people == {"x1"}
    got = sorted((f.code, f.file, f.line, f.source_id, f.value) for f in findings)
    assert got == [
        ("invalid_row", "enrollments", 2, "", ""),
        ("invalid_row", "users", 2, "", ""),
        ("invalid_row", "users", 4, "x1", "wizard"),
        ("unknown_reference", "users", 1, "s1", "ghost"),
    ]
