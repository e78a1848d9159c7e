"""A fake Clever API v3.0 on a real HTTP server on 127.0.0.1, and what its recording says.

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
from collections import Counter
from datetime import date
from typing import Any

import phonenumbers
from werkzeug import Request, Response

from syncs.services import sync_run_create, sync_run_execute
from tests.helpers import NOW, ROSTER_SAMPLES

SAMPLES = ROSTER_SAMPLES / "clever-go-v3.0"
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
