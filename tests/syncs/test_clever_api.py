"""The Clever API v3.0 source and format against a real HTTP server on 127.0.0.1.

The server (`FakeClever`, on pytest-httpserver) serves the recorded v3.0 answers of
Clever's own demo district (`../shared/roster-samples/clever-go-v3.0/`: districts.json,
users.json, sections.json) PAGE BY PAGE: it honours `limit`, answers
`starting_after=<id>` cursors, and links each page to the next with a `links` entry
`rel: "next"` (a relative URI, as Clever sends). The recording has no /schools answer, so
the server builds one from the school IDs the users and sections reference; it has no
/terms either, so /terms answers 404 (an optional collection). Expected counts are derived
in the tests from the raw JSON by small helpers written independently of the parser.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from rostering.models import Class, Enrollment, Guardianship, Person, School
from syncs.clients.http import RateLimitRetry
from syncs.errors import SyncFailure
from syncs.formats import clever_api as clever_format
from syncs.models import SourceKind
from syncs.services import sync_run_create, sync_run_execute
from syncs.sources import clever_api
from tests.conftest import NOW
from tests.syncs.test_sync_run import snapshot

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "roster-samples" / "clever-go-v3.0"
TOKEN = "t"


def load(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


# ------------------------------------------------------------------ the fake Clever


class FakeClever:
    """Clever API v3.0 over the recorded answers, paged by `limit` and `starting_after`."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        districts, users, sections = (
            load("districts.json"),
            load("users.json"),
            load("sections.json"),
        )
        self.collections: dict[str, list[dict[str, Any]]] = {
            "districts": districts["data"],
            "users": users["data"],
            "sections": sections["data"],
        }
        self.collections["schools"] = [
            {"data": {"id": sid, "name": f"Demo school {sid[-4:]}"}, "uri": f"/v3.0/schools/{sid}"}
            for sid in referenced_schools(users["data"], sections["data"])
        ]
        # (collection, page number) -> statuses to answer before the real page; a status
        # listed with `always` answers every time.
        self.failures: dict[tuple[str, int], list[tuple[int, dict[str, str]]]] = {}
        self.always: dict[tuple[str, int], int] = {}
        self.requests: list[tuple[str, int]] = []  # (path and query, status answered)
        self.auth_headers: set[str] = set()

    def handle(self, request: Request) -> Response:
        status, body, headers = self._answer(request)
        self.requests.append((request.full_path, status))
        return Response(
            json.dumps(body), status=status, headers=headers, content_type="application/json"
        )

    def _answer(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        self.auth_headers.add(request.headers.get("Authorization", ""))
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {"message": "invalid token"}, {}
        match = re.fullmatch(r"/v3\.0/(\w+)", request.path)
        if not match or match.group(1) not in self.collections:
            return 404, {"message": "not found"}, {}
        name = match.group(1)
        items = self.collections[name]
        limit = int(request.args.get("limit", "100"))
        if limit > 10000:
            return 413, {"message": "limit too large"}, {}
        start = 0
        if after := request.args.get("starting_after"):
            ids = [item["data"]["id"] for item in items]
            start = ids.index(after) + 1
        number = start // limit + 1
        if (name, number) in self.always:
            return self.always[(name, number)], {"message": "server error"}, {}
        if self.failures.get((name, number)):
            status, headers = self.failures[(name, number)].pop(0)
            return status, {"message": "try later"}, headers
        page = items[start : start + limit]
        links = [{"rel": "self", "uri": request.full_path.rstrip("?")}]
        if start + limit < len(items):
            links.append(
                {"rel": "next", "uri": f"/v3.0/{name}?starting_after={page[-1]['data']['id']}"}
            )
        return 200, {"data": page, "links": links}, {}

    def pages(self, name: str, limit: int) -> int:
        return -(-len(self.collections[name]) // limit)


@pytest.fixture
def fake() -> FakeClever:
    return FakeClever()


@pytest.fixture
def server(fake):
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.expect_request(re.compile(r"^/")).respond_with_handler(fake.handle)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        if server.is_running():
            server.stop()


@pytest.fixture
def fast_retries(monkeypatch):
    """No backoff between retries (Retry-After is still honoured: it is a sleep of its own)."""
    monkeypatch.setattr(RateLimitRetry, "get_backoff_time", lambda self: 0.0)


@pytest.fixture
def clever_config(config, server, monkeypatch):
    """The conftest config pointed at the fake Clever, with 250-item pages."""
    monkeypatch.setattr(clever_api, "PAGE_SIZE", 250)
    config.source_kind = SourceKind.CLEVER_API
    config.api_url = f"http://127.0.0.1:{server.port}"
    config.api_token = TOKEN
    config.deletion_threshold = 100
    config.save()
    return config


def run_sync(config):
    return sync_run_execute(run=sync_run_create(config=config), now=NOW)


# ------------------------------------------------------------------ expected, from the JSON
# Independent of the parser and the rules: plain reads of the recorded objects.


def referenced_schools(users: list[dict], sections: list[dict]) -> list[str]:
    ids: set[str] = set()
    for item in users:
        for role in item["data"]["roles"].values():
            ids.update(role.get("schools") or [])
            if role.get("school"):
                ids.add(role["school"])
    ids.update(item["data"]["school"] for item in sections if item["data"].get("school"))
    return sorted(ids)


def users_with(role: str) -> list[dict]:
    return [item["data"] for item in load("users.json")["data"] if role in item["data"]["roles"]]


def real_dob(raw: str, today: date) -> bool:
    m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", raw or "")
    if not m:
        return False
    month, day, year = map(int, m.groups())
    try:
        return date(year, month, day) <= today
    except ValueError:
        return False


def supported_phone(raw: str) -> str | None:
    try:
        number = phonenumbers.parse(raw, "US")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    if phonenumbers.region_code_for_number(number) not in {
        "US",
        "PR",
        "AS",
        "GU",
        "MP",
        "VI",
        "CA",
    }:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# RFC 5322 dot-atom local part (no quotes, no spaces) @ a dotted host name.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_EMAIL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{{2,}}")


def looks_like_email(raw: str) -> bool:
    return bool(_EMAIL.fullmatch(raw or ""))


def expected_from_recording(today: date) -> dict[str, Any]:
    students = users_with("student")
    staff = users_with("teacher") + users_with("district_admin") + users_with("staff")
    contacts = users_with("contact")
    sections = [item["data"] for item in load("sections.json")["data"]]

    good_students = {u["id"] for u in students if real_dob(u["roles"]["student"].get("dob"), today)}
    good_staff = {u["id"] for u in staff if looks_like_email(u.get("email", ""))}
    phones = {u["id"]: u["roles"]["contact"].get("phone", "") for u in contacts}
    bad_phones = sum(1 for p in phones.values() if p and not supported_phone(p))
    named = {u["id"] for u in contacts if any((u.get("name") or {}).values())}
    reachable = {
        u["id"]
        for u in contacts
        if looks_like_email(u.get("email", "")) or supported_phone(phones[u["id"]] or "x")
    }
    good_contacts = named & reachable
    # Rule D: a valid phone several contacts give goes to one of them; each other loses it
    # and, still holding their own email, gets a device_in_use alert.
    shared_phones = Counter(
        supported_phone(p) for cid, p in phones.items() if cid in good_contacts and p
    )
    shared_phones.pop(None, None)
    device_in_use = sum(n - 1 for n in shared_phones.values())
    emails = Counter(
        u["email"].lower()
        for u in students + staff + contacts
        if u["id"] in good_students | good_staff | good_contacts
    )
    assert all(n == 1 for n in emails.values()), "the recording has no shared emails"

    teacher_pairs = {
        (s["id"], t) for s in sections for t in [s.get("teacher"), *s.get("teachers", [])] if t
    }
    student_pairs = {(s["id"], st) for s in sections for st in s.get("students", [])}
    student_pairs -= {(c, p) for c, p in teacher_pairs}
    enrolled = {p for p in teacher_pairs if p[1] in good_staff} | {
        p for p in student_pairs if p[1] in good_students
    }
    guardianships = {
        (u["id"], rel["student"])
        for u in contacts
        for rel in u["roles"]["contact"]["student_relationships"]
        if u["id"] in good_contacts and rel["student"] in good_students
    }
    issues = Counter(
        {
            "student_dob": len(students) - len(good_students),
            "teacher_email": len(staff) - len(good_staff),
            "parent_name": len(contacts) - len(named),
            "parent_contact": len(named - reachable),
            "unsupported_phone": bad_phones,
            "device_in_use": device_in_use,
            "class_no_teacher": sum(
                1 for s in sections if not (s.get("teacher") or s.get("teachers"))
            ),
        }
    )
    return {
        "accounts": len(good_students) + len(good_staff) + len(good_contacts),
        "students": len(good_students),
        "teachers": len(good_staff),
        "parents": len(good_contacts),
        "classes": len(sections),
        "enrollments": len(enrolled),
        "guardianships": len(guardianships),
        "schools": len(
            referenced_schools(load("users.json")["data"], load("sections.json")["data"])
        ),
        "issues": +issues,  # drop the zero counts
    }


# ------------------------------------------------------------------ a whole sync


def test_recorded_demo_district_synced_page_by_page(clever_config, fake, fast_retries):
    """Users (2,098) arrive in 9 pages of 250 and sections (378) in 2; the counts match
    what the recording itself says."""
    expected = expected_from_recording(NOW.date())
    run = run_sync(clever_config)
    assert run.status == "succeeded", run.message

    users_pages = [p for p, status in fake.requests if p.startswith("/v3.0/users")]
    assert len(users_pages) == fake.pages("users", 250) == 9
    assert all("limit=250" in p for p in users_pages)
    assert fake.auth_headers == {f"Bearer {TOKEN}"}

    assert School.objects.count() == expected["schools"] == 5
    assert Person.objects.filter(account__isnull=False).count() == expected["accounts"]
    assert Person.objects.filter(role="student").count() == expected["students"]
    assert (
        Person.objects.filter(role__in=("teacher", "administrator")).count() == expected["teachers"]
    )
    assert Person.objects.filter(role="parent").count() == expected["parents"]
    assert Class.objects.count() == expected["classes"]
    assert Enrollment.objects.count() == expected["enrollments"]
    assert Guardianship.objects.count() == expected["guardianships"]
    assert Counter(run.issues.values_list("code", flat=True)) == expected["issues"]

    # The same canonical shapes as Clever CSV: a contact's combined name is kept whole.
    parent = Person.objects.get(source_id="603ebb2bb452fb006c7639cd")
    assert (parent.role, parent.given_name, parent.family_name) == ("parent", "Aaron Berge", "")
    student = Person.objects.get(source_id="5a25ffb0c1bc2a00360003ed")
    assert (student.given_name, student.family_name, student.grade) == (
        "Steve",
        "Ziemann",
        "Kindergarten",
    )
    # /terms answered 404 (optional): classes keep Clever's term_id.
    assert (
        Class.objects.get(source_id="5a25ffc265e950634b00017c").term == "603ebb2ab452fb006c763964"
    )

    again = run_sync(clever_config)
    assert again.status == "succeeded", again.message
    for kind, counts in again.counts.items():
        assert (counts["created"], counts["updated"], counts["archived"]) == (0, 0, 0), kind


def test_429_with_retry_after_waits_then_completes(clever_config, fake):
    fake.failures[("users", 2)] = [(429, {"Retry-After": "1"})]
    started = time.monotonic()
    run = run_sync(clever_config)
    assert run.status == "succeeded", run.message
    assert time.monotonic() - started >= 1.0
    statuses = [status for path, status in fake.requests if "users" in path]
    assert statuses.count(429) == 1 and len(statuses) == 9 + 1


def test_500_on_page_3_of_5_fails_and_leaves_the_mirror_as_it_was(
    clever_config, fake, fast_retries, monkeypatch
):
    monkeypatch.setattr(clever_api, "PAGE_SIZE", 500)
    assert fake.pages("users", 500) == 5
    assert run_sync(clever_config).status == "succeeded"
    before = snapshot()

    made: list[Path] = []
    real_mkdtemp = tempfile.mkdtemp

    def mkdtemp(*args, **kwargs):
        made.append(Path(real_mkdtemp(*args, **kwargs)))
        return str(made[-1])

    monkeypatch.setattr(clever_api.tempfile, "mkdtemp", mkdtemp)
    fake.always[("users", 3)] = 500
    fake.requests.clear()
    run = run_sync(clever_config)

    assert (run.status, run.failure_reason) == ("failed", "source_unavailable")
    assert "users (page 3)" in run.message and "500" in run.message
    assert snapshot() == before
    users_pages = [p for p, _status in fake.requests if p.startswith("/v3.0/users")]
    assert not any("sections" in p for p, _status in fake.requests)  # stopped at page 3
    assert len(users_pages) == 2 + 6  # two good pages, then page 3 tried 1 + 5 retries
    assert made and not made[0].exists()  # the partial pull was removed


def test_401_fails_credentials_without_the_token_anywhere(clever_config, fake):
    secret = "sk-district-abc123SECRET"
    clever_config.api_token = secret
    clever_config.save()
    run = run_sync(clever_config)
    assert (run.status, run.failure_reason) == ("failed", "credentials")
    assert secret not in run.message
    assert secret not in json.dumps(run.diagnostics)
    assert len(fake.requests) == 1  # a 401 is never retried


def test_x_ratelimit_reset_stands_in_for_missing_retry_after():
    class Resp:
        headers = {"X-RateLimit-Reset": str(time.time() + 7)}

    retry = RateLimitRetry(total=1, retry_after_max=120)
    assert 5.5 < retry.get_retry_after(Resp()) <= 7.0
    Resp.headers = {"X-RateLimit-Reset": str(time.time() + 10_000)}
    assert retry.get_retry_after(Resp()) == 120  # capped
    Resp.headers = {"Retry-After": "2", "X-RateLimit-Reset": str(time.time() + 50)}
    assert retry.get_retry_after(Resp()) == 2  # Retry-After wins when given


def test_plain_http_to_a_remote_host_is_refused(config):
    config.source_kind = SourceKind.CLEVER_API
    config.api_url = "http://api.clever.com"
    config.api_token = TOKEN
    with pytest.raises(SyncFailure) as failure:
        with clever_api.fetch(config):
            pass
    assert failure.value.reason == "source_unavailable"
    assert "https" in failure.value.message
    report = clever_api.test_connection(config)
    assert not report.ok and "plain HTTP" in report.message
    config.save()
    run = run_sync(config)
    assert (run.status, run.failure_reason) == ("failed", "source_unavailable")


# ------------------------------------------------------------------ connection test


def test_connection_names_the_district_its_schools_and_missing_school_ids(clever_config, fake):
    schools = referenced_schools(fake.collections["users"], fake.collections["sections"])
    fake.token = clever_config.api_token = "district-token-0123456789abcdef"
    clever_config.school_ids = [schools[0], "5a25ff950a5f621109000099"]
    report = clever_api.test_connection(clever_config)
    assert report.district == "#DEMO_DISTRICT"
    assert report.school_ids == schools
    assert report.missing_school_ids == ["5a25ff950a5f621109000099"]
    assert not report.ok
    assert "#DEMO_DISTRICT" in report.message and "5a25ff950a5f621109000099" in report.message
    assert fake.token not in report.message

    clever_config.school_ids = schools[:2]
    report = clever_api.test_connection(clever_config)
    assert report.ok and report.missing_school_ids == []


def test_connection_with_a_rejected_token_says_so(clever_config):
    clever_config.api_token = "wrong-token-xyz"
    report = clever_api.test_connection(clever_config)
    assert not report.ok
    assert "refused the credentials" in report.message
    assert "wrong-token-xyz" not in report.message


# ------------------------------------------------------------------ the format, unit level


def write_pull(folder: Path, **collections: list[dict]) -> Path:
    index = {"collections": {}}
    for name in ("schools", "users", "sections", "districts", "terms"):
        items = collections.get(name, [])
        page = f"{name}-0001.json"
        (folder / page).write_text(json.dumps({"data": [{"data": i} for i in items], "links": []}))
        index["collections"][name] = {"pages": [page], "items": len(items), "found": True}
    (folder / "index.json").write_text(json.dumps(index))
    return folder


def test_user_with_several_roles_keeps_the_highest_and_still_links_guardianships(tmp_path):
    rel = {"student_relationships": [{"student": "s1"}, {"student": "ghost"}], "phone": ""}
    users = [
        {
            "id": "s1",
            "name": {"first": "Sam", "last": "Lee"},
            "roles": {"student": {"dob": "2/11/2015", "schools": ["A"]}},
        },
        {
            "id": "tc",
            "email": "tc@example.org",
            "name": {"first": "Tia", "last": "Cruz"},
            "roles": {"teacher": {"schools": ["A"]}, "contact": rel},
        },
        {
            "id": "sc",
            "email": "sc@example.org",
            "name": {"first": "Ana", "last": "Lee"},
            "roles": {
                "student": {"dob": "1/2/2008", "schools": ["A"]},
                "contact": {"student_relationships": [{"student": "s1"}]},
            },
        },
        {
            "id": "da",
            "email": "da@example.org",
            "name": {"first": "Dee", "last": "A"},
            "roles": {"district_admin": {}},
        },
        {
            "id": "st",
            "email": "st@example.org",
            "name": {"first": "Stu", "last": "F"},
            "roles": {"staff": {"schools": ["B"]}},
        },
    ]
    sections = [
        {
            "id": "c1",
            "school": "A",
            "name": "Math",
            "teacher": "tc",
            "teachers": ["tc", "st"],
            "students": ["s1", "tc", "nobody"],
        }
    ]
    roster, findings = clever_format.parse(
        write_pull(tmp_path, schools=[{"id": "A"}, {"id": "B"}], users=users, sections=sections)
    )
    roles = {pid: p.role for pid, p in roster.people.items()}
    assert roles == {
        "s1": "student",
        "tc": "teacher",
        "sc": "parent",
        "da": "administrator",
        "st": "administrator",
    }
    assert roster.guardianships == {("tc", "s1"), ("sc", "s1")}
    assert roster.people["sc"].dob == "1/2/2008"  # student fields kept on the record
    assert roster.people["da"].school_ids == ("A", "B")  # a district admin: every school
    assert [(f.code, f.value) for f in findings] == [("unknown_reference", "ghost")]
    e = roster.enrollments
    assert (e[("c1", "tc")].role, e[("c1", "tc")].primary) == ("teacher", True)
    assert (e[("c1", "st")].role, e[("c1", "st")].primary) == ("teacher", False)
    assert e[("c1", "s1")].role == "student" and ("c1", "nobody") in e  # scope reports it
    assert roster.classes["c1"].name == "Math"


def test_404_on_a_required_collection_fails_but_terms_are_optional(clever_config, fake):
    del fake.collections["sections"]
    run = run_sync(clever_config)
    assert (run.status, run.failure_reason) == ("failed", "source_unavailable")
    assert "sections" in run.message and "404" in run.message
    assert Person.objects.count() == 0


def test_next_link_to_another_host_is_refused_so_the_token_stays_home():
    base = "https://api.clever.com"
    assert clever_api._resolve(base, "/v3.0/users?starting_after=x", "users") == (
        "https://api.clever.com/v3.0/users?starting_after=x"
    )
    with pytest.raises(SyncFailure) as failure:
        clever_api._resolve(base, "https://evil.example/v3.0/users", "users")
    assert failure.value.reason == "source_unavailable"


def test_admin_test_connection_action_reaches_clever(admin_client, clever_config, fake):
    from django.urls import reverse

    fake.token = clever_config.api_token = "district-token-0123456789abcdef"
    clever_config.save()
    response = admin_client.post(
        reverse("admin:syncs_syncconfig_changelist"),
        {"action": "test_connection", "_selected_action": [clever_config.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert "#DEMO_DISTRICT" in page
    assert fake.token not in page


def test_sync_roster_source_clever_end_to_end(clever_config, fake, fast_retries, monkeypatch):
    import json
    from io import StringIO

    from django.core.management import call_command

    fake.token = "cli-token-0123456789abcdef"
    monkeypatch.setenv("ROLLCALL_API_TOKEN", fake.token)
    out = StringIO()
    call_command(
        "sync_roster",
        "--org",
        "cli-demo",
        "--source",
        "clever",
        "--url",
        clever_config.api_url,
        "--json",
        stdout=out,
    )
    report = json.loads(out.getvalue())
    assert report["run"]["status"] == "succeeded"
    assert report["counts"]["classes"]["created"] == 378
    assert fake.token not in out.getvalue()
