"""Staff: one administrator per school, then the teachers the plan gave each school."""

from __future__ import annotations

import random

from devtools.generator.catalog import DOMAIN
from devtools.generator.contacts import Phones
from devtools.generator.names import ascii_name, first_name, pick_origin
from devtools.generator.output import Sink
from devtools.generator.plan import School
from devtools.generator.problems import Problems
from devtools.generator.records import user_row


def _staff_email(given: str, family: str, number: int, used: set[str]) -> str:
    local = f"{ascii_name(given) or 'staff'}.{ascii_name(family) or 'member'}{number}"
    address = f"{local}@{DOMAIN}"
    while address in used:  # only if two staff share name and number, i.e. never by design
        local += "x"
        address = f"{local}@{DOMAIN}"
    used.add(address)
    return address


def _staff_person(rng: random.Random) -> tuple[str, str, str]:
    origin = pick_origin(rng)
    sex = "female" if rng.random() < 0.7 else "male"  # US teachers are ~3/4 women
    middle = first_name(rng, origin, sex)[0] + "." if rng.random() < 0.3 else ""
    return first_name(rng, origin, sex), rng.choice(origin.family), middle


def write_staff(
    sink: Sink, rng: random.Random, phones: Phones, schools: list[School], problems: Problems
) -> None:
    """Administrators (one per school), then teachers."""
    used: set[str] = set()
    for school in schools:
        n = school.index + 1
        given, family, middle = _staff_person(rng)
        email = _staff_email(given, family, n, used)
        sink.staff(
            user_row(
                f"adm-{n:04d}",
                "administrator",
                school.source_id,
                username=email,
                user_ids=f"{{HR:A{n:05d}}}",
                given=given,
                family=family,
                middle=middle,
                identifier=f"A{n:05d}",
                email=email,
                # Clever's staff file has no phone column: drawn (so the rest of the
                # district stays the same) but left blank, so all formats agree.
                phone=(phones.us(), "")[1],
            )
        )
    teacher = 0
    for school in schools:
        for sid in school.teachers:
            number = int(sid[4:])
            given, family, middle = _staff_person(rng)
            email = _staff_email(given, family, number, used)
            if problems.teachers.get(teacher) == "no_email":
                email = ""
            if teacher == problems.shared_teacher:
                problems.shared_email, problems.shared_name = email, (given, family)
            # Likewise blank: Clever's teachers file has no phone column.
            sms = (phones.us() if rng.random() < 0.5 else "") and ""
            username = f"{ascii_name(given)[:1]}{ascii_name(family)}{number}"
            sink.staff(
                user_row(
                    sid,
                    "teacher",
                    school.source_id,
                    username=username,
                    user_ids=f"{{HR:E{number:05d}}}",
                    given=given,
                    family=family,
                    middle=middle,
                    identifier=f"E{number:05d}",
                    email=email,
                    sms=sms,
                )
            )
            teacher += 1
