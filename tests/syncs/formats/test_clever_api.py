"""The Clever API format (syncs.formats.clever_api) on a pull written by hand. No database."""

from __future__ import annotations

import json
from pathlib import Path

from syncs.formats import clever_api as clever_format


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
