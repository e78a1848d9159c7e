"""What a plan says about the records it skipped and the archives it plans (issue 13):
quarantined counts every held record of a kind, new or existing, so the counts add up to
what "N records skipped" says; and the facts that explain a threshold failure (T4). No
database: both sides are built by hand (handmade.py)."""

from __future__ import annotations

from syncs.pipeline.plan import leading_zero_ids, school_facts, skipped_records
from syncs.records import SchoolRecord
from tests.syncs.pipeline.handmade import (
    class_row_of,
    enrollment,
    klass,
    person,
    plan_of,
    row_of,
    world,
)


def test_Q_new_records_held_by_an_error_count_as_quarantined():
    roster, mirror = world()
    roster.people["s3"] = person("s3")
    roster.people["t2"] = person("t2", "teacher")
    roster.classes["c2"] = klass("c2")
    roster.enrollments[("c2", "s3")] = enrollment("c2", "s3")
    plan = plan_of(roster, mirror, person_errors={"s3", "t2", "s1"}, class_errors={"c2"})
    counts = plan.counts(mirror)
    assert counts["students"]["quarantined"] == 2  # s1 kept as it was, s3 not created
    assert counts["teachers"]["quarantined"] == 1
    assert counts["classes"]["quarantined"] == 1
    assert counts["enrollments"]["quarantined"] == 2  # c1/s1 held, c2/s3 not created
    # held stays what the mirror holds; held_new is what was not created
    assert (plan.people.held, plan.people.held_new) == (1, 2)
    assert skipped_records(counts) == 4
    assert plan.skipped(mirror) == {
        "students": 2,
        "teachers": 1,
        "parents": 0,
        "classes": 1,
        "unreadable": 0,
        "total": 4,
    }


def test_Q_people_held_with_their_school_count_by_the_role_scope_kept():
    roster, mirror = world()
    roster.unreadable_people |= {"n1", "n2", "x9"}
    roster.unreadable_roles = {"n1": "student", "n2": "teacher"}
    roster.unreadable_classes.add("c7")
    plan = plan_of(roster, mirror)
    counts = plan.counts(mirror)
    assert (counts["students"]["quarantined"], counts["teachers"]["quarantined"]) == (1, 1)
    assert counts["classes"]["quarantined"] == 1
    # x9's row could not be read and says no role: skipped, of no kind
    assert plan.unreadable_unknown == 1
    assert plan.skipped(mirror)["total"] == 4


def test_Q_existing_unreadable_class_counts_as_quarantined():
    roster, mirror = world()
    del roster.classes["c1"]
    roster.unreadable_classes.add("c1")
    plan = plan_of(roster, mirror)
    assert plan.classes.archive == []
    assert plan.counts(mirror)["classes"]["quarantined"] == 1


# ---------------------------------------------------------------- T4's facts


def test_T4_school_facts_say_which_school_lost_its_students_and_whether_it_is_listed():
    roster, mirror = world()
    mirror.schools["0456"] = (2, "Roosevelt Middle")
    mirror.people["r1"] = row_of(person("r1", school="0456"), 7)
    mirror.classes["c4"] = class_row_of(klass("c4", "0456"), 24)
    del roster.people["s1"], roster.people["s2"]
    plan = plan_of(roster, mirror)
    facts = school_facts(plan, mirror, roster)
    assert facts == {
        "0123": {
            "name": "Lincoln Elementary",
            "in_files": True,
            "out_of_scope": False,
            "active": {"classes": 1, "parents": 1, "students": 2, "teachers": 1},
            "planned": {"students": 2},
        },
        "0456": {
            "name": "Roosevelt Middle",
            "in_files": False,
            "out_of_scope": False,
            "active": {"classes": 1, "students": 1},
            "planned": {"classes": 1, "students": 1},
        },
    }
    roster.schools["0456"] = SchoolRecord("0456")
    assert school_facts(plan, mirror, roster)["0456"]["in_files"] is True


def test_T4_ids_that_lost_their_leading_zeros_pair_an_archive_with_a_create():
    roster, mirror = world()
    mirror.people["012"] = row_of(person("012"), 8)
    mirror.people["0099"] = row_of(person("0099"), 9)
    roster.people["12"] = person("12")
    roster.people["99"] = person("99", "teacher")  # another kind: not the same record
    plan = plan_of(roster, mirror)
    assert leading_zero_ids(plan, mirror) == {"students": {"count": 1, "examples": [["012", "12"]]}}
