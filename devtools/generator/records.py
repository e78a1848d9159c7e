"""The people the generator makes, as the rows every format's writer lays out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


class User(NamedTuple):
    """A person as a OneRoster 1.1 users.csv row (the fields in column order); the other
    formats' writers take what they need from it."""

    source_id: str
    status: str
    date_last_modified: str
    enabled: str
    orgs: str
    role: str
    username: str
    user_ids: str
    given: str
    family: str
    middle: str
    identifier: str
    email: str
    sms: str
    phone: str
    agents: str
    grades: str
    password: str


def user_row(
    source_id: str,
    role: str,
    orgs: str,
    *,
    username: str = "",
    user_ids: str = "",
    given: str = "",
    family: str = "",
    middle: str = "",
    identifier: str = "",
    email: str = "",
    sms: str = "",
    phone: str = "",
    agents: str = "",
    grades: str = "",
) -> User:
    """A users.csv row. Bulk files leave status and dateLastModified blank; no passwords."""
    return User(source_id, "", "", "true", orgs, role, username, user_ids, given, family,
                 middle, identifier, email, sms, phone, agents, grades, "")  # fmt: skip


@dataclass(slots=True)
class Guardian:
    source_id: str
    role: str
    sex: str
    given: str
    family: str
    middle: str = ""
    email: str = ""
    sms: str = ""
    phone: str = ""
