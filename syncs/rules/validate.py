"""Stage 4, validate: per-record checks (DESIGN §4 table), before devices are assigned.

Errors quarantine the record (rule Q): a new one is not created, an existing one keeps
its last good state and is never archived while it is present in the source.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from accounts.devices import normalize_email, normalize_phone
from syncs.findings import Finding, IssueCode, person_finding
from syncs.records import ClassRecord, PersonRecord, Roster

OLDEST_BIRTH_YEAR = 1900
MANY_GUARDIANS = 6
# A web address: a scheme, "www.", or a lower-case host on a common top-level domain
# ("meet.example.org/x", "bit.ly/y", "zoom.us"). Case matters so that course names like
# "ASP.NET" or "Chem 1.CO" are not mistaken for one.
_URL = re.compile(
    r"(?i:https?://|www\.)"
    r"|\b[a-z][a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|org|net|edu|gov|io|us|ly|me|co|info)(?=/|\s|$)"
)


_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_YMD = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})")
_MDY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


def parse_dob(raw: str, today: date) -> date | None:
    """A real calendar date in an accepted format, not in the future; else None.

    Accepted: MM/DD/YYYY and YYYY/MM/DD (month and day may have one digit) and ISO
    YYYY-MM-DD. The shapes never overlap, so the first that matches decides.
    """
    raw = raw.strip()
    if m := _ISO.fullmatch(raw) or _YMD.fullmatch(raw):
        year, month, day = m.groups()
    elif m := _MDY.fullmatch(raw):
        month, day, year = m.groups()
    else:
        return None
    try:
        born = date(int(year), int(month), int(day))
    except ValueError:  # 02/30 and the like
        return None
    return born if OLDEST_BIRTH_YEAR <= born.year and born <= today else None


class Normalized:
    """Normalized devices by raw value: a memo (see syncs.pipeline.normalize.normalize_many)
    with the libraries as the fallback, so rules stay pure functions."""

    def __init__(
        self,
        emails: dict[str, str | None] | None = None,
        phones: dict[str, str | None] | None = None,
    ) -> None:
        self.emails = emails or {}
        self.phones = phones or {}

    def email(self, raw: str) -> str | None:
        return self.emails[raw] if raw in self.emails else normalize_email(raw)

    def phone(self, raw: str) -> str | None:
        return self.phones[raw] if raw in self.phones else normalize_phone(raw)


@dataclass
class Validated:
    findings: list[Finding] = field(default_factory=list)
    person_errors: set[str] = field(default_factory=set)
    class_errors: set[str] = field(default_factory=set)
    dob: dict[str, date] = field(default_factory=dict)
    # person -> [(kind, normalized value)] for devices that passed syntax checks
    claims: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


# Runs once per person (over 100,000 in a large district): its checks stay in one
# function, so that splitting them adds no call per person (issue #11).
def validate_person(p: PersonRecord, today: date, out: Validated, norm: Normalized) -> None:
    add = out.findings.append
    errors_before = len(out.person_errors)
    label = f"{p.role.capitalize()} {p.name or p.source_id}"

    email = norm.email(p.email) if p.email else None
    phone = None
    unusable = []
    for raw in (p.phone, *p.other_phones):  # sms first, then the other phone column
        if not raw:
            continue
        normalized = norm.phone(raw)
        if not normalized:
            unusable.append(raw)
        elif phone is None:
            phone = normalized
    claims = []
    if email:
        claims.append(("email", email))
    if phone:
        claims.append(("phone", phone))

    if p.role in ("teacher", "administrator"):
        if not email:
            why = (
                "has no email address"
                if not p.email
                else f"has an invalid email address ({p.email})"
            )
            add(person_finding(p, IssueCode.TEACHER_EMAIL, f"{label} {why}.", "email", p.email))
            out.person_errors.add(p.source_id)
    elif p.email and not email:
        add(
            person_finding(
                p,
                IssueCode.INVALID_EMAIL,
                f"{label}: email address {p.email} is not valid and was ignored.",
                "email",
                p.email,
            )
        )

    for raw in unusable:
        add(
            person_finding(
                p,
                IssueCode.UNSUPPORTED_PHONE,
                f"{label}: phone {raw} is not a valid US, US territory or Canadian number and was dropped.",
                "phone",
                raw,
            )
        )

    if p.role == "parent":
        if not p.given_name and not p.family_name:
            add(
                person_finding(
                    p, IssueCode.PARENT_NAME, f"Parent {p.source_id} has no name.", "name"
                )
            )
            out.person_errors.add(p.source_id)
        if not claims:
            given = [v for v in (p.email, p.phone, *p.other_phones) if v]
            why = (
                "has no email address or phone number"
                if not given
                else "has no valid email address or supported phone number"
            )
            add(
                person_finding(
                    p,
                    IssueCode.PARENT_CONTACT,
                    f"{label} {why}.",
                    "email" if p.email else "phone",
                    ", ".join(given),
                )
            )
            out.person_errors.add(p.source_id)

    if p.role == "student":
        born = parse_dob(p.dob, today) if p.dob else None
        if born is None:
            why = "has no date of birth" if not p.dob else f"has an invalid date of birth ({p.dob})"
            add(person_finding(p, IssueCode.STUDENT_DOB, f"{label} {why}.", "dob", p.dob))
            out.person_errors.add(p.source_id)
        else:
            out.dob[p.source_id] = born

    if claims and len(out.person_errors) == errors_before:
        out.claims[p.source_id] = claims


def validate_class(c: ClassRecord, roster: Roster, out: Validated) -> None:
    def finding(code: IssueCode, message: str, fld: str = "", value: str = "") -> Finding:
        return Finding(
            code=code,
            kind="class",
            source_id=c.source_id,
            name=c.name,
            field=fld,
            value=value,
            school_id=c.school_id,
            file=c.where.file,
            line=c.where.line,
            message=message,
        )

    if not c.name:
        out.findings.append(
            finding(IssueCode.CLASS_INVALID_NAME, f"Class {c.source_id} has no name.", "name")
        )
        out.class_errors.add(c.source_id)
    elif _URL.search(c.name):
        out.findings.append(
            finding(
                IssueCode.CLASS_INVALID_NAME,
                f"Class {c.name} has a web address in its name.",
                "name",
                c.name,
            )
        )
        out.class_errors.add(c.source_id)
    if c.source_id not in roster.taught and no_teachers_sent(roster):
        # One error for the whole file says it (see validate).
        out.class_errors.add(c.source_id)
    elif c.source_id not in roster.taught:
        out.findings.append(
            finding(
                IssueCode.CLASS_NO_TEACHER,
                f"Class {c.name or c.source_id} has no teacher enrolled.",
            )
        )
        out.class_errors.add(c.source_id)


def no_teachers_sent(roster: Roster) -> bool:
    """A people's file has no data rows and no class has a teacher: the classes' missing
    teachers are that file's doing, not each class's."""
    return "people" in roster.empty_files and not roster.taught


def _untaught_for_want_of_people(roster: Roster) -> Finding:
    """One error for every class left without a teacher because the people's file has
    no data rows: the classes are held, and the empty file is what to fix."""
    untaught = roster.classes.keys() - roster.taught
    people_file = roster.empty_files["people"]
    classes_file = next(iter(roster.classes.values())).where.file
    return Finding(
        code=IssueCode.CLASS_NO_TEACHER,
        kind="file",
        file=classes_file,
        message=f"{classes_file}: none of its {len(untaught)} classes has a teacher, because "
        f"{people_file} has no data rows; the classes were skipped.",
    )


def validate(roster: Roster, today: date, normalized: Normalized | None = None) -> Validated:
    out = Validated()
    norm = normalized or Normalized()
    for p in roster.people.values():
        validate_person(p, today, out, norm)
    for c in roster.classes.values():
        validate_class(c, roster, out)
    if roster.classes and no_teachers_sent(roster):
        out.findings.append(_untaught_for_want_of_people(roster))
    guardians = Counter(student for _parent, student in roster.guardianships)
    for student_id, count in guardians.items():
        if count >= MANY_GUARDIANS:
            p = roster.people[student_id]
            out.findings.append(
                person_finding(
                    p,
                    IssueCode.MANY_GUARDIANS,
                    f"Student {p.name or p.source_id} lists {count} guardians.",
                    "guardians",
                    str(count),
                )
            )
    return out
