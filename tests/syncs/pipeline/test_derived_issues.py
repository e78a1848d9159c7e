"""Issues that only repeat a failure are not stored (issue 13): references made by records
outside the schools in scope, and one issue per row of the files that depend on a file
with no data rows. And the skipped records a run reports agree with its counts."""

from __future__ import annotations

import json
from collections import Counter

from syncs.formats.oneroster_csv import ORGS
from syncs.pipeline.plan import skipped_records
from syncs.selectors import run_issue_queryset
from syncs.services import sync_run_create, sync_run_execute
from tests.builders import District, small_district, write_csv
from tests.helpers import NOW


def stored(run) -> Counter:
    return Counter(run_issue_queryset(run).values_list("code", flat=True))


def write_clever_pull(folder, **collections):
    """A Clever API pull folder as the clever_api source writes it."""
    folder.mkdir(parents=True, exist_ok=True)
    index = {"source": "clever_api", "collections": {}}
    for name in ("districts", "schools", "users", "sections", "terms"):
        page = f"{name}-0001.json"
        items = collections.get(name, [])
        (folder / page).write_text(json.dumps({"data": [{"data": i} for i in items]}))
        index["collections"][name] = {"pages": [page], "items": len(items), "found": True}
    (folder / "index.json").write_text(json.dumps(index))
    return folder


def unshared_school_pull(folder, contacts: int):
    """Clever no longer shares school B: its students are gone from /users, but the
    contacts of school A still name them among their students."""
    users = [
        {
            "id": "t1",
            "email": "t1@example.org",
            "name": {"first": "T", "last": "One"},
            "roles": {"teacher": {"schools": ["A"]}},
        },
        {
            "id": "s1",
            "name": {"first": "S", "last": "One"},
            "roles": {"student": {"dob": "2/11/2015", "schools": ["A"]}},
        },
    ]
    for n in range(contacts):
        relationships = [{"student": "s1"}, {"student": f"gone-{n}"}]
        users.append(
            {
                "id": f"p{n}",
                "email": f"p{n}@example.org",
                "name": {"last": f"Parent {n}"},
                "roles": {"contact": {"student_relationships": relationships}},
            }
        )
    sections = [{"id": "c1", "school": "A", "name": "Math", "teacher": "t1", "students": ["s1"]}]
    return write_clever_pull(
        folder, schools=[{"id": "A", "name": "Alder"}], users=users, sections=sections
    )


def test_schools_not_found_stores_no_references_into_the_school_that_is_missing(config, tmp_path):
    unshared_school_pull(tmp_path / "pull", contacts=40)
    config.path, config.format = str(tmp_path / "pull"), "clever_api_json"
    config.school_ids = ["A", "B"]
    config.save()
    run = sync_run_execute(run=sync_run_create(config=config), now=NOW)
    assert (run.status, run.failure_reason) == ("failed", "schools_not_found")
    # Before the fix: 40 unknown_reference alerts, one per contact naming a student of B.
    assert stored(run) == {}


def test_references_are_reported_only_for_records_that_are_synced(config, tmp_path):
    unshared_school_pull(tmp_path / "pull", contacts=3)
    config.path, config.format = str(tmp_path / "pull"), "clever_api_json"
    config.save()
    run = sync_run_execute(run=sync_run_create(config=config), now=NOW)
    assert run.status == "succeeded", run.message
    # Every school is synced here, so the contacts' dangling links are real issues, each
    # shown under the contact's school.
    refs = run_issue_queryset(run).filter(code="unknown_reference")
    assert sorted(refs.values_list("source_id", "school_sis_id")) == [
        ("p0", "A"),
        ("p1", "A"),
        ("p2", "A"),
    ]


def test_enrollments_of_an_out_of_scope_class_are_not_issues(sync):
    d = small_district()
    # A student of 0456 enrolled into a class the files do not have: 0456 is not synced.
    d.enroll("c-ghost", "s3", "student", "0456")
    # One of 0123 is: that reference is an issue.
    d.enroll("c-ghost2", "s1", "student", "0123")
    run = sync(d, schools=["0123"])
    assert run.status == "succeeded", run.message
    assert sorted(
        run_issue_queryset(run).filter(code="unknown_reference").values_list("value", flat=True)
    ) == ["c-ghost2"]


def test_headers_only_users_csv_stores_no_issue_per_dependent_row(sync):
    d = small_district()
    sync(d)
    d.users = []
    run = sync(d)
    assert (run.status, run.failure_reason) == ("failed", "invalid_files")
    assert "users.csv has a header row but no data rows" in run.message
    # Before the fix: an unknown_reference per enrollment and a class_no_teacher per class.
    assert stored(run) == {}


def test_headers_only_users_csv_of_a_new_district_is_one_issue_per_file(sync):
    d = small_district()
    d.users = []
    run = sync(d)
    assert run.status == "succeeded", run.message
    assert sorted(run_issue_queryset(run).values_list("code", "record_kind", "file")) == [
        ("class_no_teacher", "file", "classes.csv"),
        ("unknown_reference", "file", "enrollments.csv"),
    ]
    messages = " ".join(run_issue_queryset(run).values_list("message", flat=True))
    assert "5 enrollments name users, but users.csv has no data rows" in messages
    assert "none of its 2 classes has a teacher, because users.csv has no data rows" in messages


def test_headers_only_classes_csv_of_a_new_district_is_one_issue(sync):
    d = small_district()
    d.classes = []
    run = sync(d)
    assert run.status == "succeeded", run.message
    assert list(run_issue_queryset(run).values_list("code", "file")) == [
        ("unknown_reference", "enrollments.csv")
    ]


def test_headers_only_orgs_csv_of_a_new_district_is_one_issue(config, tmp_path):
    folder = small_district().write(tmp_path / "roster")
    write_csv(folder / "orgs.csv", ORGS.columns, [])
    run = sync_run_execute(run=sync_run_create(config=config), now=NOW)
    assert run.status == "succeeded", run.message
    assert list(run_issue_queryset(run).values_list("code", "file")) == [
        ("unknown_reference", "classes.csv")
    ]


# ---------------------------------------------------------------- skipped and quarantined


def held_school_district() -> District:  # also used by tests/syncs/test_explain.py
    """School 0456's row in orgs.csv cannot be read: everything in it is held (rule Q)."""
    d = District().school("0123").school("0456")
    d.teacher("t1", "0123").teacher("t2", "0456")
    for n in range(6):
        d.student(f"a{n}", "0123").student(f"b{n}", "0456")
    d.klass("c1", "0123", "A", teacher="t1", students=tuple(f"a{n}" for n in range(6)))
    d.klass("c2", "0456", "B", teacher="t2", students=tuple(f"b{n}" for n in range(6)))
    return d


def break_orgs_row(folder, school: str) -> None:
    path = folder / "orgs.csv"
    lines = path.read_text().splitlines()
    path.write_text(
        "\n".join(line + ",x" if line.startswith(f"{school},") else line for line in lines) + "\n"
    )


def test_people_held_with_their_school_count_as_quarantined_and_skipped(config, tmp_path):
    d = held_school_district()
    folder = d.write(tmp_path / "roster")
    break_orgs_row(folder, "0456")
    run = sync_run_execute(run=sync_run_create(config=config), now=NOW)
    assert run.status == "succeeded", run.message
    # One error (the orgs.csv row), seven people and a class not created because of it.
    assert stored(run)["invalid_row"] == 1
    quarantined = {k: run.counts[k]["quarantined"] for k in ("students", "teachers", "classes")}
    assert quarantined == {"students": 6, "teachers": 1, "classes": 1}
    assert run.diagnostics["skipped"]["total"] == 8
    assert skipped_records(run.counts) == 8


def test_new_people_with_errors_count_as_quarantined(sync, district):
    district.birth_dates["s2"] = ""
    district.users[-1]["email"] = ""
    district.users[-1]["phone"] = ""  # p3: no device at all
    run = sync(district)
    assert run.counts["students"]["quarantined"] == 1
    assert run.counts["parents"]["quarantined"] == 1
    assert run.diagnostics["skipped"]["total"] == 2


def test_a_clean_sync_skips_nothing(sync, district):
    run = sync(district)
    assert run.diagnostics["skipped"]["total"] == 0
    assert all(c["quarantined"] == 0 for c in run.counts.values())
