"""The files of a OneRoster CSV export (1.1 and 1.2): each file's columns, the values
Rollcall reads in them, the manifest that says how each file is sent, and which files a
sync needs."""

from __future__ import annotations

import csv
from pathlib import Path

from syncs.errors import SyncFailure
from syncs.formats.csvfiles import CsvFiles, FileSpec, csv_error_text

ORGS = FileSpec(
    name="orgs.csv",
    kind="school",
    columns=(
        "sourcedId",
        "status",
        "dateLastModified",
        "name",
        "type",
        "identifier",
        "parentSourcedId",
    ),
    required=frozenset({"sourcedId", "name", "type"}),
)
USERS = FileSpec(
    name="users.csv",
    kind="person",
    columns=(
        "sourcedId",
        "status",
        "dateLastModified",
        "enabledUser",
        "orgSourcedIds",
        "role",
        "username",
        "userIds",
        "givenName",
        "familyName",
        "middleName",
        "identifier",
        "email",
        "sms",
        "phone",
        "agentSourcedIds",
        "grades",
        "password",
    ),
    required=frozenset({"sourcedId", "orgSourcedIds", "role", "givenName", "familyName"}),
    important=frozenset({"email", "sms", "phone", "agentSourcedIds"}),
    optional_fields=(
        ("email", ("email",)),
        ("phone", ("sms", "phone")),
        ("grade", ("grades",)),
        ("guardianships", ("agentSourcedIds",)),
    ),
    aliases={
        "first_name": "givenName",
        "firstname": "givenName",
        "last_name": "familyName",
        "lastname": "familyName",
        "email_address": "email",
        "orgSourcedId": "orgSourcedIds",
        "agentSourcedId": "agentSourcedIds",
    },
)
CLASSES = FileSpec(
    name="classes.csv",
    kind="class",
    columns=(
        "sourcedId",
        "status",
        "dateLastModified",
        "title",
        "grades",
        "courseSourcedId",
        "classCode",
        "classType",
        "location",
        "schoolSourcedId",
        "termSourcedIds",
        "subjects",
        "subjectCodes",
        "periods",
    ),
    required=frozenset({"sourcedId", "title", "schoolSourcedId"}),
    important=frozenset({"termSourcedIds"}),
    optional_fields=(("term", ("termSourcedIds",)),),
    aliases={"orgSourcedId": "schoolSourcedId", "termSourcedId": "termSourcedIds"},
)
ENROLLMENTS = FileSpec(
    name="enrollments.csv",
    kind="enrollment",
    columns=(
        "sourcedId",
        "status",
        "dateLastModified",
        "classSourcedId",
        "schoolSourcedId",
        "userSourcedId",
        "role",
        "primary",
        "beginDate",
        "endDate",
    ),
    required=frozenset({"classSourcedId", "userSourcedId", "role"}),
    important=frozenset({"primary"}),
    optional_fields=(("primary", ("primary",)),),
    key_columns=("classSourcedId", "userSourcedId"),
)
DEMOGRAPHICS = FileSpec(
    name="demographics.csv",
    kind="person",
    columns=(
        "sourcedId",
        "status",
        "dateLastModified",
        "birthDate",
        "sex",
        "americanIndianOrAlaskaNative",
        "asian",
        "blackOrAfricanAmerican",
        "nativeHawaiianOrOtherPacificIslander",
        "white",
        "demographicRaceTwoOrMoreRaces",
        "hispanicOrLatinoEthnicity",
        "countryOfBirthCode",
        "stateOfBirthAbbreviation",
        "cityOfBirth",
        "publicSchoolResidenceStatus",
    ),
    required=frozenset({"sourcedId", "birthDate"}),
    # Microsoft SDS v2.1 (OneRoster-derived) keys demographics on the user this way.
    aliases={"userSourcedId": "sourcedId"},
)
SESSIONS = FileSpec(
    name="academicSessions.csv",
    kind="file",
    columns=(
        "sourcedId",
        "status",
        "dateLastModified",
        "title",
        "type",
        "startDate",
        "endDate",
        "parentSourcedId",
        "schoolYear",
    ),
    required=frozenset({"sourcedId", "title"}),
)

# Not read (courses carry nothing Rollcall needs); listed so writers share one header.
COURSES = FileSpec(
    name="courses.csv",
    kind="file",
    columns=(
        "sourcedId",
        "status",
        "dateLastModified",
        "schoolYearSourcedId",
        "title",
        "courseCode",
        "grades",
        "orgSourcedId",
        "subjects",
        "subjectCodes",
    ),
    required=frozenset({"sourcedId", "title"}),
)

# OneRoster 1.2: role and org move from users.csv to roles.csv; users gain preferred names.
USERS_12 = FileSpec(
    name="users.csv",
    kind="person",
    columns=(
        "sourcedId",
        "status",
        "dateLastModified",
        "enabledUser",
        "username",
        "userIds",
        "givenName",
        "familyName",
        "middleName",
        "preferredGivenName",
        "preferredMiddleName",
        "preferredFamilyName",
        "pronouns",
        "userMasterIdentifier",
        "identifier",
        "email",
        "sms",
        "phone",
        "agentSourcedIds",
        "grades",
        "password",
        "primaryOrgSourcedId",
    ),
    required=frozenset({"sourcedId", "givenName", "familyName"}),
    important=frozenset(
        {"email", "sms", "phone", "agentSourcedIds", "preferredGivenName", "preferredFamilyName"}
    ),
    aliases=USERS.aliases,
    optional_fields=USERS.optional_fields,
)
ROLES = FileSpec(
    name="roles.csv",
    kind="person",
    columns=(
        "sourcedId",
        "status",
        "dateLastModified",
        "userSourcedId",
        "roleType",
        "role",
        "beginDate",
        "endDate",
        "orgSourcedId",
        "userProfileSourcedId",
    ),
    required=frozenset({"userSourcedId", "role", "orgSourcedId"}),
    important=frozenset({"roleType"}),
    key_columns=("userSourcedId",),
)
# 1.2 role names; the 1.1 ones (USER_ROLES) still apply.
ROLES_12 = {
    "districtadministrator": "administrator",
    "siteadministrator": "administrator",
    "systemadministrator": "administrator",
    "principal": "administrator",
}
IGNORED_ROLES_12 = {"aide", "counselor", "proctor"}

REQUIRED_FILES = (ORGS, USERS, CLASSES, ENROLLMENTS)
OPTIONAL_FILES = (DEMOGRAPHICS, SESSIONS)
KNOWN_FILES = {s.name for s in REQUIRED_FILES + OPTIONAL_FILES} | {
    "manifest.csv",
    "courses.csv",
}

USER_ROLES = {
    "teacher": "teacher",
    "administrator": "administrator",
    "student": "student",
    "parent": "parent",
    "guardian": "parent",
    "relative": "parent",
}
# Roles OneRoster knows but Rollcall does not roster.
IGNORED_USER_ROLES = {"aide", "proctor"}
ENROLLMENT_ROLES = {"teacher": "teacher", "student": "student"}
# Enrollment roles OneRoster (1.1 and 1.2) knows that do not make a class member here.
IGNORED_ENROLLMENT_ROLES = {"administrator", "proctor", "aide", "guardian", "parent", "relative"}
# Org types that are not schools: an unreadable row of one of these holds nothing.
NOT_SCHOOL_TYPES = {"district", "local", "state", "national", "department"}
DELETED = {"tobedeleted", "inactive"}


def manifest_rows(path: Path) -> list[tuple[str, str]]:
    """(property, value) pairs of a manifest.csv, or fail `invalid_files` if it cannot be
    read (a manifest is small; a cell over the CSV field limit is a broken file)."""
    rows = []
    try:
        with path.open(encoding="utf-8-sig", errors="replace", newline="") as f:
            for row in csv.reader(f):
                if len(row) >= 2:
                    rows.append((row[0].replace("\0", "").strip(), row[1].strip()))
    except csv.Error as exc:
        raise SyncFailure(
            "invalid_files",
            f"manifest.csv cannot be read ({csv_error_text(exc)}). Export it again, or leave it out.",
            {"file": "manifest.csv"},
        ) from exc
    return rows


def read_manifest(files: dict[str, Path]) -> dict[str, str]:
    """`file.<name>` → absent|bulk|delta. A missing manifest means bulk for every file."""
    path = files.get("manifest.csv")
    if path is None:
        return {}
    modes: dict[str, str] = {}
    for prop, value in manifest_rows(path):
        if prop.lower().startswith("file."):
            modes[f"{prop[5:].lower()}.csv"] = value.lower()
    return modes


def check_files(files: CsvFiles, modes: dict[str, str], version: str) -> None:
    """Fail `invalid_files` when a required file is missing (or, in a bulk sync, marked
    absent by the manifest)."""
    required = REQUIRED_FILES + ((ROLES,) if version == "1.2" else ())
    delta = "delta" in modes.values()
    missing = [
        spec.name
        for spec in required
        if spec.name.lower() not in files and modes.get(spec.name.lower()) != "absent"
    ]
    if missing:
        csvs = sorted(name for name in files if name.endswith(".csv"))
        raise SyncFailure(
            "invalid_files",
            f"Required OneRoster {version} file(s) missing: "
            + ", ".join(name + files.why_missing(name) for name in missing)
            + ". Found: "
            + (", ".join(csvs) or "no CSV files")
            + ".",
            {"missing_files": missing, "found_files": csvs},
        )
    absent = [spec.name for spec in required if spec.name.lower() not in files]
    if absent and not delta:
        raise SyncFailure(
            "invalid_files",
            f"The manifest marks {', '.join(absent)} as absent, but a bulk sync needs "
            "every required file.",
            {"missing_files": absent},
        )
