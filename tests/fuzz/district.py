"""The fuzz suite's district: three schools, a dozen students, built with tests.builders.

`baseline_files()` is the export every example starts from, as tables (header + rows of
cells) so mutations can work on rows and columns before anything is written. Before the
examples run, the harness syncs `first_files()` (everything, s11 and c5 included) and
then the baseline itself, so the mirror starts with two archived records (s11, c5) that
an example can bring back (`RestoreArchived`).
"""

from __future__ import annotations

from syncs.formats.oneroster_csv import (
    CLASSES,
    DEMOGRAPHICS,
    ENROLLMENTS,
    ORGS,
    SESSIONS,
    USERS,
)
from tests.builders import District

SCHOOLS = ("0123", "0456", "0789")
# Archived by the second setup sync; RestoreArchived puts them back in the files.
ARCHIVED_STUDENT = "s11"
ARCHIVED_CLASS = "c5"

MANIFEST_HEADER = ["propertyName", "value"]
MANIFEST_ROWS = [
    ["manifest.version", "1.0"],
    ["oneroster.version", "1.1"],
    ["file.academicSessions", "bulk"],
    ["file.categories", "absent"],
    ["file.classes", "bulk"],
    ["file.classResources", "absent"],
    ["file.courses", "absent"],
    ["file.courseResources", "absent"],
    ["file.demographics", "bulk"],
    ["file.enrollments", "bulk"],
    ["file.lineItems", "absent"],
    ["file.orgs", "bulk"],
    ["file.resources", "absent"],
    ["file.results", "absent"],
    ["file.users", "bulk"],
    ["source.systemName", "Rollcall fuzz"],
    ["source.systemCode", "fuzz"],
]

Table = tuple[list[str], list[list[str]]]


def district() -> District:
    """3 schools, 5 teachers and an administrator, 11 students, 6 parents, 5 classes."""
    d = District()
    d.school("0123", "Lincoln Elementary").school("0456", "Roosevelt Middle")
    d.school("0789", "Adams High")
    d.teacher("t1", "0123").teacher("t2", "0456").teacher("t3", "0789")
    d.teacher("t4", "0123,0456", phone="(206) 384-2291", given="Zoë", family="Ångström")
    d.teacher("t5", "0789", sms="+1 206 384 7711")
    d.user("a1", "administrator", "0123", email="a1@district.k12.ca.us")
    for n, school in enumerate(("0123",) * 4 + ("0456",) * 3 + ("0789",) * 4, 1):
        cols = {"grades": "03" if school == "0123" else "07"}
        if n == 1:
            cols["agentSourcedIds"] = "p1,p2"
        if n == 5:
            cols["agentSourcedIds"] = "p3"
        d.student(f"s{n}", school, **cols)
    d.parent("p1", "0123", "s1", phone="(206) 384-2292")
    d.parent("p2", "0123", "s1,s2")
    d.parent("p3", "0456", "", email="", phone="206-384-7710")
    d.parent("p4", "0789", "s8", given="O'Brien", family='Say "hi"')
    d.parent("p5", "0789", "s9,s10")
    d.parent("p6", "0456", "s6,s7", sms="206 384 7712")
    d.klass("c1", "0123", "Math 3", teacher="t1", students=("s1", "s2", "s3", "s4"))
    d.klass("c2", "0123", "Reading, Writing", teacher="t4", students=("s1", "s2"))
    d.klass("c3", "0456", "Science 7", teacher="t2", students=("s5", "s6", "s7"))
    d.klass("c4", "0789", "History", teacher="t3", students=("s8", "s9", "s10"))
    d.klass("c5", "0456", "Art", teacher="t4", students=("s5", "s11"))
    d.enroll("c4", "t5", "teacher", "0789")
    for c in d.classes:
        c["termSourcedIds"] = "term1"
    return d


def _tables(d: District) -> dict[str, Table]:
    def rows(columns, records):
        return [[str(r.get(c, "")) for c in columns] for r in records]

    return {
        "manifest.csv": (list(MANIFEST_HEADER), [list(r) for r in MANIFEST_ROWS]),
        "orgs.csv": (
            list(ORGS.columns),
            rows(
                ORGS.columns,
                [{"sourcedId": "district", "name": "District", "type": "district"}] + d.schools,
            ),
        ),
        "academicSessions.csv": (
            list(SESSIONS.columns),
            rows(
                SESSIONS.columns,
                [{"sourcedId": "term1", "title": "Fall 2026", "type": "term"}],
            ),
        ),
        "users.csv": (list(USERS.columns), rows(USERS.columns, d.users)),
        "classes.csv": (list(CLASSES.columns), rows(CLASSES.columns, d.classes)),
        "enrollments.csv": (list(ENROLLMENTS.columns), rows(ENROLLMENTS.columns, d.enrollments)),
        "demographics.csv": (
            list(DEMOGRAPHICS.columns),
            rows(
                DEMOGRAPHICS.columns,
                [{"sourcedId": k, "birthDate": v} for k, v in d.birth_dates.items()],
            ),
        ),
    }


def first_files() -> dict[str, Table]:
    """The first setup sync: everyone."""
    return _tables(district())


def baseline_files() -> dict[str, Table]:
    """The export every example mutates: the district without s11 and c5."""
    d = district().drop_user(ARCHIVED_STUDENT)
    d.classes = [c for c in d.classes if c["sourcedId"] != ARCHIVED_CLASS]
    d.enrollments = [e for e in d.enrollments if e["classSourcedId"] != ARCHIVED_CLASS]
    d.birth_dates.pop(ARCHIVED_STUDENT)
    return _tables(d)


def archived_rows() -> dict[str, list[dict[str, str]]]:
    """The rows of s11 and c5 (and their enrollments), as column -> value."""
    full = district()
    return {
        "users.csv": [u for u in full.users if u["sourcedId"] == ARCHIVED_STUDENT],
        "classes.csv": [c for c in full.classes if c["sourcedId"] == ARCHIVED_CLASS],
        "enrollments.csv": [
            e
            for e in full.enrollments
            if e["classSourcedId"] == ARCHIVED_CLASS or e["userSourcedId"] == ARCHIVED_STUDENT
        ],
        "demographics.csv": [
            {"sourcedId": ARCHIVED_STUDENT, "birthDate": full.birth_dates[ARCHIVED_STUDENT]}
        ],
    }
