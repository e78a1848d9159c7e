"""The issues every format reports for a repeated or missing ID, word for word.

The four parsers share one way of reporting these (syncs.formats.base), but each keeps
its own wording: CSV files count lines, OneRoster collections records, Clever pages items.
"""

from __future__ import annotations

import json
from pathlib import Path

from syncs.formats import clever_api, clever_csv, oneroster_csv, oneroster_json


def write(folder: Path, **files: str) -> Path:
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name.replace("__", ".")).write_text(text)
    return folder


def issues(findings, *codes: str) -> list[tuple[str, str, str, int | None, str, str]]:
    return [
        (f.code, f.kind, f.file, f.line, f.source_id, f.message)
        for f in findings
        if f.code in codes
    ]


def test_oneroster_csv_names_lines(tmp_path):
    folder = write(
        tmp_path / "or",
        orgs__csv="sourcedId,name,type\nsch1,One,school\nsch1,Again,school\n",
        users__csv=(
            "sourcedId,orgSourcedIds,role,givenName,familyName,email\n"
            "t1,sch1,teacher,Ann,Lee,ann@example.org\n"
            "t1,sch1,teacher,Bob,Ray,bob@example.org\n"
            ",sch1,student,No,Id,\n"
        ),
        classes__csv="sourcedId,title,schoolSourcedId\nc1,Math,sch1\nc1,Art,sch1\n,Music,sch1\n",
        enrollments__csv="classSourcedId,userSourcedId,role\nc1,t1,teacher\n,t1,student\n",
        demographics__csv="sourcedId,birthDate\nt1,2010-01-01\nt1,2011-01-01\n,2012-01-01\n",
    )
    _roster, findings = oneroster_csv.parse(folder)
    assert issues(findings, "duplicate_id", "invalid_row") == [
        ("duplicate_id", "school", "orgs.csv", 3, "sch1", "orgs.csv line 3 repeats ID sch1 (first on line 2)."),
        ("duplicate_id", "person", "demographics.csv", 3, "t1", "demographics.csv line 3 repeats ID t1 (first on line 2)."),
        ("invalid_row", "person", "demographics.csv", 4, "", "demographics.csv line 4 has no sourcedId."),
        ("duplicate_id", "person", "users.csv", 3, "t1", "users.csv line 3 repeats ID t1 (first on line 2)."),
        ("invalid_row", "person", "users.csv", 4, "", "users.csv line 4 has no sourcedId."),
        ("duplicate_id", "class", "classes.csv", 3, "c1", "classes.csv line 3 repeats ID c1 (first on line 2)."),
        ("invalid_row", "class", "classes.csv", 4, "", "classes.csv line 4 has no sourcedId."),
        ("invalid_row", "enrollment", "enrollments.csv", 3, "", "enrollments.csv line 3 has no classSourcedId and userSourcedId."),
    ]  # fmt: skip


def test_clever_csv_names_lines_and_the_other_file(tmp_path):
    folder = write(
        tmp_path / "clever",
        schools__csv="School_id,School_name\ns1,One\ns1,Again\n,Nameless\n",
        teachers__csv=(
            "School_id,Teacher_id,First_name,Last_name,Teacher_email\n"
            "s1,t1,Ann,Lee,ann@example.org\n"
            "s1,t1,Bob,Ray,bob@example.org\n"
            "s1,,No,Id,\n"
        ),
        students__csv=(
            "School_id,Student_id,First_name,Last_name,Contact_name,Contact_sis_id\n"
            "s1,t1,Stu,Dent,,\n"
            "s1,s2,Kid,Two,Mom,t1\n"
            "s1,,No,Id,,\n"
        ),
        sections__csv=(
            "School_id,Section_id,Teacher_id,Term_name,Course_name\n"
            "s1,sec1,t1,Fall,Math\n"
            "s1,sec1,t1,Fall,Art\n"
            "s1,,t1,Fall,Music\n"
        ),
        enrollments__csv="School_id,Section_id,Student_id\ns1,,s2\n",
    )
    _roster, findings = clever_csv.parse(folder)
    assert issues(findings, "duplicate_id", "invalid_row") == [
        ("duplicate_id", "school", "schools.csv", 3, "s1", "schools.csv line 3 repeats ID s1 (first on line 2)."),
        ("invalid_row", "school", "schools.csv", 4, "", "schools.csv line 4 has no School_id."),
        ("duplicate_id", "person", "teachers.csv", 3, "t1", "teachers.csv line 3 repeats ID t1 (first on line 2)."),
        ("invalid_row", "person", "teachers.csv", 4, "", "teachers.csv line 4 has no Teacher_id."),
        ("duplicate_id", "person", "students.csv", 2, "t1", "students.csv line 2 repeats ID t1 (first in teachers.csv line 2)."),
        ("duplicate_id", "person", "students.csv", 3, "t1", "students.csv line 3: contact ID t1 is already the ID of a teacher (teachers.csv line 2); the contact was skipped."),
        ("invalid_row", "person", "students.csv", 4, "", "students.csv line 4 has no Student_id."),
        ("duplicate_id", "class", "sections.csv", 3, "sec1", "sections.csv line 3 repeats ID sec1 (first on line 2)."),
        ("invalid_row", "class", "sections.csv", 4, "", "sections.csv line 4 has no Section_id."),
        ("invalid_row", "enrollment", "enrollments.csv", 2, "", "enrollments.csv line 2 has no Section_id and Student_id."),
    ]  # fmt: skip


def test_oneroster_json_names_records(tmp_path):
    pages = tmp_path / "pages"
    pages.mkdir()
    bodies = {
        "orgs": [{"sourcedId": "sch1", "name": "One", "type": "school"}, "not an org"],
        "users": [
            {"sourcedId": "t1", "role": "teacher", "orgs": ["sch1"], "givenName": "Ann"},
            {"sourcedId": "t1", "role": "teacher", "orgs": ["sch1"], "givenName": "Bob"},
            {"role": "student"},
            ["not", "a", "user"],
        ],
        "classes": [
            {"sourcedId": "c1", "title": "Math", "school": "sch1"},
            {"sourcedId": "c1", "title": "Art", "school": "sch1"},
            {"title": "Music"},
        ],
        "enrollments": [{"sourcedId": "e1", "user": "t1", "role": "teacher"}, 7],
    }
    for name, records in bodies.items():
        (pages / f"{name}.00000.json").write_text(json.dumps({name: records}))
    _roster, findings = oneroster_json.parse(pages)
    assert issues(findings, "duplicate_id", "invalid_row") == [
        ("invalid_row", "school", "orgs", 2, "", "orgs record 2 has no sourcedId."),
        ("duplicate_id", "person", "users", 2, "t1", "users record 2 repeats ID t1 (first as record 1)."),
        ("invalid_row", "person", "users", 3, "", "users record 3 has no sourcedId."),
        ("invalid_row", "person", "users", 4, "", "users record 4 has no sourcedId."),
        ("duplicate_id", "class", "classes", 2, "c1", "classes record 2 repeats ID c1 (first as record 1)."),
        ("invalid_row", "class", "classes", 3, "", "classes record 3 has no sourcedId."),
        ("invalid_row", "enrollment", "enrollments", 1, "", "enrollments record 1 has no class and user."),
        ("invalid_row", "enrollment", "enrollments", 2, "", "enrollments record 2 has no class and user."),
    ]  # fmt: skip


def test_clever_api_names_page_items(tmp_path):
    pull = tmp_path / "pull"
    pull.mkdir()
    teacher = {"id": "t1", "name": {"first": "Ann"}, "roles": {"teacher": {"schools": ["s1"]}}}
    collections = {
        "schools": [{"data": {"id": "s1", "name": "One"}}, {"data": {"name": "Nameless"}}, 5],
        "users": [
            {"data": teacher},
            {"data": teacher},  # the same item again (a page boundary): read once
            {"data": {**teacher, "email": "other@example.org"}},
            {"data": {"name": {"first": "No id"}}},
            {"no": "data"},
        ],
        "sections": [
            {"data": {"id": "sec1", "name": "Math", "school": "s1"}},
            {"data": {"id": "sec1", "name": "Art", "school": "s1"}},
            {"data": {"name": "Music"}},
        ],
    }
    index: dict = {"collections": {}}
    for name, items in collections.items():
        page = f"{name}-0001.json"
        (pull / page).write_text(json.dumps({"data": items, "links": []}))
        index["collections"][name] = {"pages": [page], "items": len(items), "found": True}
    (pull / "index.json").write_text(json.dumps(index))
    _roster, findings = clever_api.parse(pull)
    assert issues(findings, "duplicate_id", "invalid_row") == [
        ("invalid_row", "class", "schools-0001.json", 2, "", "schools-0001.json item 2 has no id."),
        ("invalid_row", "class", "schools-0001.json", 3, "", "schools-0001.json item 3 is not a Clever object."),
        ("duplicate_id", "person", "users-0001.json", 3, "t1", "users-0001.json item 3 repeats ID t1 with other data (first in users-0001.json item 1)."),
        ("invalid_row", "person", "users-0001.json", 4, "", "users-0001.json item 4 has no id."),
        ("invalid_row", "person", "users-0001.json", 5, "", "users-0001.json item 5 is not a Clever object."),
        ("duplicate_id", "class", "sections-0001.json", 2, "sec1", "sections-0001.json item 2 repeats ID sec1 with other data (first in sections-0001.json item 1)."),
        ("invalid_row", "class", "sections-0001.json", 3, "", "sections-0001.json item 3 has no id."),
    ]  # fmt: skip
