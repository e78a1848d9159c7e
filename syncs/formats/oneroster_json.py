"""OneRoster 1.1 REST pages (JSON) → Roster, the same records as the OneRoster CSV parser.

The `oneroster_api` source saves each page as `<collection>.<page>.json`, a body such as
`{"users": [...]}`. References are objects (`{"sourcedId": "…", "type": "org"}`) in
`orgs`, `school`, `class`, `user`, `agents`, `terms`; a plain ID string (or a CSV-style
comma list) is accepted too. Required collections: orgs, users, classes, enrollments;
demographics (birth dates) and academicSessions (term names) are optional.

An issue about a record names the collection as its file and the record's position in the
collection (1-based, across pages) as its line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from sys import intern
from typing import Any

from syncs.errors import SyncFailure
from syncs.findings import Finding, IssueCode, person_finding
from syncs.formats.base import Advance, Collection, RosterParser, no_progress
from syncs.formats.oneroster_csv import link_agents
from syncs.formats.oneroster_files import (
    DELETED,
    ENROLLMENT_ROLES,
    IGNORED_USER_ROLES,
    USER_ROLES,
)
from syncs.records import (
    ClassRecord,
    EnrollmentRecord,
    PersonRecord,
    Roster,
    SchoolRecord,
    Where,
)

REQUIRED = ("orgs", "users", "classes", "enrollments")
# The collections whose records an issue can name, and the kind of their records.
ORGS = Collection("orgs", "school")
USERS = Collection("users", "person")
CLASSES = Collection("classes", "class")
ENROLLMENTS = Collection("enrollments", "enrollment")
OPTIONAL = ("demographics", "academicSessions")
# Which Roster.empty_files kind each required collection stands for.
EMPTY_KIND = {
    "orgs": "schools",
    "users": "people",
    "classes": "classes",
    "enrollments": "enrollments",
}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float):
        return str(value)
    return ""


def _ref(value: Any) -> str:
    """The sourcedId of one reference (`{"sourcedId": …}` or a bare ID)."""
    if isinstance(value, dict):
        return _text(value.get("sourcedId"))
    return _text(value)


def _refs(value: Any) -> list[str]:
    """The sourcedIds of a reference list, blanks and repeats dropped, order kept."""
    if value is None:
        return []
    if isinstance(value, str):
        parts = value.split(",")
    elif isinstance(value, list):
        parts = value
    else:
        parts = [value]
    ids: list[str] = []
    for part in parts:
        ids += [p.strip() for p in part.split(",")] if isinstance(part, str) else [_ref(part)]
    return list(dict.fromkeys(i for i in ids if i))


def _first_text(record: dict, *keys: str) -> str:
    for key in keys:
        value = record.get(key)
        if isinstance(value, list):
            value = next((v for v in value if _text(v)), "")
        if _text(value):
            return _text(value)
    return ""


def _pages(folder: Path, name: str) -> list[Path]:
    return sorted(folder.glob(f"{name}.*.json"))


class _Parser(RosterParser):
    unit = "record"
    first_in_same_file = "as record"

    def __init__(self, folder: Path) -> None:
        super().__init__(Roster())
        self.folder = folder

    def records(self, name: str) -> Iterator[tuple[int, Any]]:
        """(position, record) of every record of a collection, page by page."""
        position = 0
        for path in _pages(self.folder, name):
            try:
                body = json.loads(path.read_bytes())
            except (ValueError, UnicodeDecodeError) as exc:
                raise SyncFailure(
                    "invalid_files",
                    f"{path.name} is not valid JSON: {exc}.",
                    {"file": path.name},
                ) from exc
            items = body.get(name) if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise SyncFailure(
                    "invalid_files",
                    f"{path.name} has no {name!r} list.",
                    {"file": path.name},
                )
            for item in items:
                position += 1
                yield position, item
        if name in EMPTY_KIND:
            self.roster.file_rows[name] = position
            if position == 0:
                self.roster.empty_files[EMPTY_KIND[name]] = name

    def deleted(self, record: dict) -> bool:
        return _text(record.get("status")).lower() in DELETED

    # -- findings ----------------------------------------------------------------

    def _bad_role(self, source_id: str, line: int, raw: str) -> None:
        self.roster.unreadable_people.add(source_id)
        self.add(
            Finding(
                code=IssueCode.INVALID_ROW,
                source_id=source_id,
                file="users",
                line=line,
                field="role",
                value=raw,
                message=f"users record {line}: role `{raw}` is not a OneRoster role.",
            )
        )

    def _unknown(self, owner: PersonRecord, ref: str) -> None:
        self.add(
            person_finding(
                owner,
                IssueCode.UNKNOWN_REFERENCE,
                f"users record {owner.where.line}: agents names user {ref}, who is not in users.",
                "agents",
                ref,
            )
        )

    # -- collections ---------------------------------------------------------------

    def orgs(self) -> None:
        for line, org in self.records("orgs"):
            if not isinstance(org, dict):
                self.no_id(ORGS, line, "sourcedId")
                continue
            if self.deleted(org):
                continue
            org_type = _text(org.get("type")).lower()
            if org_type == "district" and not self.roster.district_name:
                self.roster.district_name = _text(org.get("name"))
            if org_type != "school":
                continue
            school_id = _text(org.get("sourcedId"))
            if school_id:
                self.roster.schools.setdefault(
                    school_id, SchoolRecord(school_id, _text(org.get("name")))
                )

    def sessions(self) -> dict[str, str]:
        return {
            _text(s.get("sourcedId")): _text(s.get("title"))
            for _line, s in self.records("academicSessions")
            if isinstance(s, dict)
        }

    def birth_dates(self) -> dict[str, str]:
        dobs: dict[str, str] = {}
        for _line, d in self.records("demographics"):
            if isinstance(d, dict):
                # Keyed on the user; some servers name the user in `user` or userSourcedId.
                sid = _text(d.get("sourcedId")) or _ref(d.get("user"))
                sid = sid or _text(d.get("userSourcedId"))
                dobs[sid] = _text(d.get("birthDate"))
        return dobs

    def users(self, dobs: dict[str, str]) -> dict[str, list[str]]:
        people = self.roster.people
        agent_ids: dict[str, list[str]] = {}
        for line, user in self.records("users"):
            if not isinstance(user, dict):
                self.no_id(USERS, line, "sourcedId")
                continue
            source_id = intern(_text(user.get("sourcedId")))
            if not source_id:
                self.no_id(USERS, line, "sourcedId")
                continue
            if self.deleted(user):
                continue
            if _text(user.get("enabledUser")).lower() == "false":
                continue
            raw_role = _text(user.get("role"))
            role = USER_ROLES.get(raw_role.lower())
            if role is None:
                if raw_role.lower() not in IGNORED_USER_ROLES:
                    self._bad_role(source_id, line, raw_role)
                continue
            if source_id in people:
                self.duplicate(USERS, source_id, line, people[source_id].where)
                continue
            orgs = _refs(user.get("orgs") if "orgs" in user else user.get("orgSourcedIds"))
            phones = tuple(
                dict.fromkeys(p for p in (_text(user.get("sms")), _text(user.get("phone"))) if p)
            )
            people[source_id] = PersonRecord(
                source_id=source_id,
                role=role,
                given_name=_first_text(user, "preferredGivenName", "givenName"),
                family_name=_first_text(user, "preferredFamilyName", "familyName"),
                email=_text(user.get("email")),
                phone=phones[0] if phones else "",
                other_phones=phones[1:],
                dob=dobs.get(source_id, ""),
                grade=(_refs(user.get("grades")) or [""])[0],
                school_ids=tuple(orgs),
                where=Where("users", line),
            )
            agents = _refs(user.get("agents") if "agents" in user else user.get("agentSourcedIds"))
            if agents:
                agent_ids[source_id] = agents
        return agent_ids

    def link_guardians(self, agent_ids: dict[str, list[str]]) -> None:
        for owner, ref in link_agents(self.roster, agent_ids):
            self._unknown(owner, ref)

    def classes(self, terms: dict[str, str]) -> None:
        classes = self.roster.classes
        for line, klass in self.records("classes"):
            if not isinstance(klass, dict):
                self.no_id(CLASSES, line, "sourcedId")
                continue
            source_id = intern(_text(klass.get("sourcedId")))
            if not source_id:
                self.no_id(CLASSES, line, "sourcedId")
                continue
            if self.deleted(klass):
                continue
            if source_id in classes:
                self.duplicate(CLASSES, source_id, line, classes[source_id].where)
                continue
            term_ids = _refs(
                klass.get("terms") if "terms" in klass else klass.get("termSourcedIds")
            )
            school = klass.get("school") if "school" in klass else klass.get("schoolSourcedId")
            classes[source_id] = ClassRecord(
                source_id=source_id,
                school_id=_ref(school),
                name=_text(klass.get("title")),
                term=", ".join(terms.get(t, t) for t in term_ids),
                where=Where("classes", line),
            )

    def enrollments(self) -> None:
        enrollments = self.roster.enrollments
        for line, e in self.records("enrollments"):
            if not isinstance(e, dict):
                self.no_id(ENROLLMENTS, line, "class and user")
                continue
            class_id = intern(_ref(e.get("class") if "class" in e else e.get("classSourcedId")))
            person_id = intern(_ref(e.get("user") if "user" in e else e.get("userSourcedId")))
            if not class_id or not person_id:
                self.no_id(ENROLLMENTS, line, "class and user")
                continue
            if self.deleted(e):
                continue
            role = ENROLLMENT_ROLES.get(_text(e.get("role")).lower())
            if role is None:
                continue  # administrator/proctor enrollments are not class members here
            primary = _text(e.get("primary")).lower() == "true"
            key = (class_id, person_id)
            known = enrollments.get(key)
            # The same person listed twice in a class: the teacher role wins.
            if known is None or (known.role == "student" and role == "teacher"):
                enrollments[key] = EnrollmentRecord(
                    class_id, person_id, role, primary, "enrollments", line
                )


def parse(folder: Path, advance: Advance = no_progress) -> tuple[Roster, list[Finding]]:
    """Parse the pages the OneRoster API source saved in `folder`.

    `advance` is taken as by every parser and not called: the parse stage counts CSV
    rows (its total is the CSV files' lines, 0 for pages).
    """
    present = {name for name in REQUIRED + OPTIONAL if _pages(folder, name)}
    missing = [name for name in REQUIRED if name not in present]
    if missing:
        raise SyncFailure(
            "invalid_files",
            "Required OneRoster collection(s) missing: " + ", ".join(missing) + ".",
            {"missing_files": missing, "found_files": sorted(present)},
        )
    p = _Parser(folder)
    p.roster.files = sorted(present)
    p.orgs()
    terms = p.sessions()
    dobs = p.birth_dates()
    p.link_guardians(p.users(dobs))
    p.classes(terms)
    p.enrollments()
    if "demographics" not in present:
        p.roster.ignored_headers.setdefault("(files)", []).append(
            "demographics missing: students have no birth dates"
        )
    return p.roster, p.findings
