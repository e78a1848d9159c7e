"""OneRoster 1.1 and 1.2 bulk CSV: the manifests, the shared files, and the people sinks.

Headers are the parser's own column lists (syncs.formats.oneroster_csv), so the generator
can never drift from what is read.
"""

from __future__ import annotations

import random
from pathlib import Path

from devtools.generator.catalog import (
    DISTRICT_ID,
    DISTRICT_NAME,
    GRADES,
    SCHOOL_YEAR_ENDS,
    SESSIONS,
    TERMS,
    YEAR_ID,
    Course,
)
from devtools.generator.output import Sink, Table
from devtools.generator.plan import School
from devtools.generator.records import Guardian, User
from syncs.formats import oneroster_csv

# The parser's own column lists, so the generator can never drift from what is read.
HEADERS: dict[str, tuple[str, ...]] = {
    "manifest.csv": ("propertyName", "value"),
    **{
        spec.name: spec.columns
        for spec in (
            oneroster_csv.ORGS,
            oneroster_csv.SESSIONS,
            oneroster_csv.COURSES,
            oneroster_csv.CLASSES,
            oneroster_csv.USERS,
            oneroster_csv.DEMOGRAPHICS,
            oneroster_csv.ENROLLMENTS,
        )
    },
}

# OneRoster 1.2: role and orgSourcedIds move from users.csv to roles.csv. The users.csv
# columns are the 1.2 spec's, in the spec's order as summarized in
# shared/reference/formats.md (the 1.1 columns that stay, the preferred names, pronouns,
# userMasterIdentifier, and primaryOrgSourcedId last).
# The 1.2 files the parser reads, with its own column lists.
HEADERS_12: dict[str, tuple[str, ...]] = {
    "users.csv": oneroster_csv.USERS_12.columns,
    "roles.csv": oneroster_csv.ROLES.columns,
}
# 1.2 has no plain `administrator` role; a school's administrator is a site administrator.
ROLES_12 = {"administrator": "siteAdministrator"}

MANIFEST = (
    ("manifest.version", "1.0"),
    ("oneroster.version", "1.1"),
    ("file.academicSessions", "bulk"),
    ("file.categories", "absent"),
    ("file.classes", "bulk"),
    ("file.classResources", "absent"),
    ("file.courses", "bulk"),
    ("file.courseResources", "absent"),
    ("file.demographics", "bulk"),
    ("file.enrollments", "bulk"),
    ("file.lineItems", "absent"),
    ("file.orgs", "bulk"),
    ("file.resources", "absent"),
    ("file.results", "absent"),
    ("file.users", "bulk"),
    ("source.systemName", "Rollcall generator"),
    ("source.systemCode", "rollcall-gen"),
)
MANIFEST_12 = tuple(
    ("oneroster.version", "1.2") if key == "oneroster.version" else (key, value)
    for key, value in MANIFEST
    if key.startswith(("manifest.", "oneroster.", "file."))
) + (
    ("file.roles", "bulk"),
    ("file.userProfiles", "absent"),
    ("file.userResources", "absent"),
    ("source.systemName", "Rollcall generator"),
    ("source.systemCode", "rollcall-gen"),
)


def write_simple(out: Path, name: str, rows) -> int:
    table = Table.create(out, name, HEADERS[name])
    for row in rows:
        table.write(row)
    return table.close()


def org_rows(rng: random.Random, schools: list[School]):
    yield (DISTRICT_ID, "", "", DISTRICT_NAME, "district", "0612345", "")
    # State school codes: 7 digits, often with leading zeros.
    codes = rng.sample(range(10**6, 10**7), len(schools))
    for school, code in zip(schools, codes, strict=True):
        yield (school.source_id, "", "", school.name, "school", f"{code:07d}", DISTRICT_ID)


def session_rows():
    for sid, title, kind, start, end, parent in SESSIONS:
        yield (sid, "", "", title, kind, start, end, parent, SCHOOL_YEAR_ENDS)


def course_rows(catalog: list[list[Course]]):
    for courses in catalog:
        for c in courses:
            yield (
                c.source_id,
                "",
                "",
                YEAR_ID,
                c.title,
                c.code,
                GRADES[c.grade],
                DISTRICT_ID,
                c.subject,
                "",
            )


def class_rows(titles, schools: list[School]):
    for k, title in titles:
        yield (
            k.source_id,
            "",
            "",
            title,
            GRADES[k.course.grade],
            k.course.source_id,
            f"{k.course.code}-{k.section + 1:02d}",
            "scheduled",
            f"Room {k.room}",
            schools[k.school].source_id,
            TERMS[k.term][0],
            k.course.subject,
            "",
            str(k.period),
        )


class OneRoster11(Sink):
    """users.csv and demographics.csv. Guardians go to a spill appended to users.csv at the
    end, so the file lists staff, then students, then parents, as SIS exports do, without
    holding rows in memory."""

    def __init__(self, out: Path) -> None:
        super().__init__()
        self.users = Table.create(out, "users.csv", HEADERS["users.csv"])
        self.demographics = Table.create(out, "demographics.csv", HEADERS["demographics.csv"])
        self.parents = self.spill()

    def staff(self, user: User) -> None:
        self.users.write(user)

    def student(self, user: User, demographics: tuple, guardians: list[Guardian]) -> None:
        self.users.write(user)
        self.demographics.write(demographics)

    def parent(self, user: User) -> None:
        self.parents.write(user)

    def finish(self) -> dict[str, int]:
        self.append(self.users, self.parents)
        return {"users.csv": self.users.close(), "demographics.csv": self.demographics.close()}


class OneRoster12(Sink):
    """users.csv in the 1.2 layout, roles.csv (one row per user and org: the first org's row
    is the user's primary role, any others secondary) and demographics.csv."""

    def __init__(self, out: Path) -> None:
        super().__init__()
        self.users = Table.create(out, "users.csv", HEADERS_12["users.csv"])
        self.roles = Table.create(out, "roles.csv", HEADERS_12["roles.csv"])
        self.demographics = Table.create(out, "demographics.csv", HEADERS["demographics.csv"])
        self.parent_users, self.parent_roles = self.spill(), self.spill()

    @staticmethod
    def write(user: User, users: Table, roles: Table) -> None:
        orgs = user.orgs.split(",")
        users.write(
            (user.source_id, user.status, user.date_last_modified, user.enabled,
             user.username, user.user_ids, user.given, user.family, user.middle,
             "", "", "", "", "",  # preferred given/middle/family names, pronouns, master id
             user.identifier, user.email, user.sms, user.phone, user.agents, user.grades,
             user.password, orgs[0])
        )  # fmt: skip
        role = ROLES_12.get(user.role, user.role)
        for n, org in enumerate(orgs):
            kind = "primary" if n == 0 else "secondary"
            roles.write((f"role-{user.source_id}-{org}", "", "", user.source_id, kind, role,
                         "", "", org, ""))  # fmt: skip

    def staff(self, user: User) -> None:
        self.write(user, self.users, self.roles)

    def student(self, user: User, demographics: tuple, guardians: list[Guardian]) -> None:
        self.write(user, self.users, self.roles)
        self.demographics.write(demographics)

    def parent(self, user: User) -> None:
        self.write(user, self.parent_users, self.parent_roles)

    def finish(self) -> dict[str, int]:
        self.append(self.users, self.parent_users)
        self.append(self.roles, self.parent_roles)
        return {
            "users.csv": self.users.close(),
            "roles.csv": self.roles.close(),
            "demographics.csv": self.demographics.close(),
        }
