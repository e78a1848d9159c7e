"""The OneRoster JSON format (syncs.formats.oneroster_json) on pages written by hand: what
it reads and the issues it reports. No database."""

from __future__ import annotations

import json

from syncs.formats import oneroster_json


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
