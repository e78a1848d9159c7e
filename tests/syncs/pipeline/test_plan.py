"""Stage 6, plan (syncs.pipeline.plan.make_plan): the roster diffed against the mirror,
per kind, with rules Q, T2 and D's inputs. No database: both sides are built by hand
(handmade.py)."""

from __future__ import annotations

from datetime import date

from syncs.records import SchoolRecord
from tests.syncs.pipeline.handmade import (
    class_row_of,
    enrollment,
    klass,
    link,
    person,
    plan_of,
    row_of,
    world,
)

NO_CHANGE = ([], [], set(), [], 0)  # create, update, unarchive, archive, held


def changes(kind_plan) -> tuple:
    return (
        kind_plan.create,
        kind_plan.update,
        kind_plan.unarchive,
        kind_plan.archive,
        kind_plan.held,
    )


# ---------------------------------------------------------------- create, update, archive


def test_plan_of_a_roster_equal_to_the_mirror_changes_nothing():
    roster, mirror = world()
    plan = plan_of(roster, mirror)
    for kind_plan in (plan.people, plan.classes, plan.enrollments, plan.guardianships):
        assert changes(kind_plan) == NO_CHANGE
    assert plan.people.unchanged == 4
    assert (plan.classes.unchanged, plan.enrollments.unchanged) == (1, 3)
    assert plan.guardianships.unchanged == 1
    assert plan.account_holders == {"t1", "s1", "s2", "p1"}
    assert (plan.schools_to_create, plan.schools_to_rename) == ([], [])


def test_plan_creates_the_records_and_schools_the_mirror_lacks():
    roster, mirror = world()
    s3 = roster.people["s3"] = person("s3")
    c2 = roster.classes["c2"] = klass("c2", "0456")
    e = roster.enrollments[("c2", "s3")] = enrollment("c2", "s3")
    roster.guardianships.add(("p1", "s3"))
    roster.schools["0456"] = SchoolRecord("0456", "Roosevelt Middle")
    plan = plan_of(roster, mirror)
    assert plan.people.create == [s3]
    assert "s3" in plan.account_holders
    assert plan.classes.create == [c2]
    assert plan.enrollments.create == [e]
    assert plan.guardianships.create == [("p1", "s3")]
    assert plan.schools_to_create == ["0456"]


def test_plan_updates_a_changed_record_by_its_mirror_pk():
    roster, mirror = world()
    roster.people["s1"].given_name = "Renamed"
    roster.classes["c1"].name = "Math 4"
    roster.enrollments[("c1", "s2")].primary = True
    roster.schools["0123"].name = "Lincoln K-8"
    plan = plan_of(roster, mirror)
    assert plan.people.update == [(2, roster.people["s1"])]
    assert plan.people.unchanged == 3
    assert plan.classes.update == [(21, roster.classes["c1"])]
    assert plan.enrollments.update == [(33, roster.enrollments[("c1", "s2")])]
    assert plan.schools_to_rename == [(1, "Lincoln K-8")]
    assert plan.people.unarchive == set() and plan.people.archive == []


def test_plan_compares_the_validated_birth_date_not_the_text():
    roster, mirror = world()
    born = date(2014, 3, 9)
    roster.people["s1"].dob = "3/9/2014"
    mirror.people["s1"].dob = mirror.people["s2"].dob = born
    plan = plan_of(roster, mirror, dob={"s1": born})
    assert plan.people.update == [(3, roster.people["s2"])]  # s2 has no valid birth date
    assert plan.dob == {"s1": born}


def test_plan_unarchives_a_returning_record_of_every_kind():
    roster, mirror = world()
    mirror.people["s2"].archived = True
    mirror.classes["c1"].archived = True
    mirror.enrollments[("c1", "s2")].archived = True
    mirror.guardianships[("p1", "s1")].archived = True
    plan = plan_of(roster, mirror)
    assert (plan.people.update, plan.people.unarchive) == ([(3, roster.people["s2"])], {3})
    assert (plan.classes.update, plan.classes.unarchive) == ([(21, roster.classes["c1"])], {21})
    assert plan.enrollments.unarchive == {33}
    assert (plan.guardianships.update, plan.guardianships.unarchive) == ([(41, ("p1", "s1"))], {41})


def test_plan_archives_the_active_records_the_source_no_longer_has():
    roster, mirror = world()
    del roster.people["s2"], roster.enrollments[("c1", "s2")]
    roster.guardianships.clear()
    mirror.people["s9"] = row_of(person("s9"), 9, archived=True)  # archived already
    plan = plan_of(roster, mirror)
    assert plan.people.archive == [3]
    assert plan.enrollments.archive == [33]
    assert plan.guardianships.archive == [41]
    assert changes(plan.classes) == NO_CHANGE
    assert "s2" not in plan.account_holders


def test_plan_archives_a_class_the_source_no_longer_has_with_its_enrollments():
    roster, mirror = world()
    roster.classes.clear()
    roster.enrollments.clear()
    plan = plan_of(roster, mirror)
    assert plan.classes.archive == [21]
    assert sorted(plan.enrollments.archive) == [31, 32, 33]
    assert plan.people.archive == []  # people stay, without the class


def test_plan_counts_name_each_change_by_kind():
    roster, mirror = world()
    roster.people["s3"] = person("s3")
    roster.people["t1"].family_name = "Changed"
    mirror.people["p1"].archived = True
    del roster.people["s2"], roster.enrollments[("c1", "s2")]
    counts = plan_of(roster, mirror).counts(mirror)
    assert counts["students"] == {
        "created": 1,
        "updated": 0,
        "unarchived": 0,
        "archived": 1,
        "unchanged": 1,
        "quarantined": 0,
    }
    assert (counts["teachers"]["updated"], counts["teachers"]["unchanged"]) == (1, 0)
    # An unarchive is an update too.
    assert (counts["parents"]["updated"], counts["parents"]["unarchived"]) == (1, 1)
    assert (counts["enrollments"]["archived"], counts["enrollments"]["unchanged"]) == (1, 2)
    assert counts["guardianships"]["unchanged"] == 1


# ---------------------------------------------------------------- rule Q


def test_Q_held_person_is_never_archived_nor_changed():
    roster, mirror = world()
    roster.people["s1"].given_name = "Renamed"
    del roster.enrollments[("c1", "s1")]
    roster.guardianships.clear()
    plan = plan_of(roster, mirror, person_errors={"s1"})
    assert changes(plan.people)[:4] == ([], [], set(), [])
    assert (plan.people.held, plan.people_held["students"]) == (1, 1)
    assert "s1" not in plan.account_holders
    # Their links are held with them, even those the files no longer list.
    assert (plan.enrollments.archive, plan.enrollments.held) == ([], 1)
    assert (plan.guardianships.archive, plan.guardianships.held) == ([], 1)


def test_Q_new_person_with_an_error_is_not_created_nor_enrolled():
    roster, mirror = world()
    roster.people["s3"] = person("s3")
    roster.enrollments[("c1", "s3")] = enrollment("c1", "s3")
    plan = plan_of(roster, mirror, person_errors={"s3"})
    assert plan.people.create == [] and plan.enrollments.create == []
    assert plan.people.held == plan.enrollments.held == 0  # only mirror records are held


def test_Q_unreadable_person_is_held_not_archived():
    roster, mirror = world()
    del roster.people["s2"], roster.enrollments[("c1", "s2")]
    roster.unreadable_people.add("s2")
    plan = plan_of(roster, mirror)
    assert plan.people.archive == []
    assert (plan.people.held, plan.people_held["students"]) == (1, 1)
    assert (plan.enrollments.archive, plan.enrollments.held) == ([], 1)
    assert plan.planned_archives["students"] == 0


def test_Q_held_class_keeps_its_enrollments():
    roster, mirror = world()
    roster.classes["c1"].name = "Visit https://example.org"
    del roster.enrollments[("c1", "s2")]
    plan = plan_of(roster, mirror, class_errors={"c1"})
    assert changes(plan.classes) == ([], [], set(), [], 1)
    assert (plan.enrollments.archive, plan.enrollments.held) == ([], 3)


def test_Q_unreadable_enrollment_row_keeps_its_enrollment():
    roster, mirror = world()
    del roster.enrollments[("c1", "s2")]
    roster.unreadable_enrollments.add(("c1", "s2"))
    plan = plan_of(roster, mirror)
    assert (plan.enrollments.archive, plan.enrollments.held) == ([], 1)


def test_Q_guardianship_of_a_held_parent_is_never_archived():
    roster, mirror = world()
    roster.guardianships.clear()
    plan = plan_of(roster, mirror, person_errors={"p1"})
    assert (plan.guardianships.archive, plan.guardianships.held) == ([], 1)


def test_Q_unreadable_school_holds_its_mirror_records_and_only_those():
    roster, mirror = world()
    # The mirror also holds school 0456; its row could not be read and the files list
    # nothing in it. A student of 0123 really left.
    t2 = person("t2", "teacher", "0456")
    mirror.schools["0456"] = (2, "Roosevelt Middle")
    mirror.people["t2"] = row_of(t2, 5, account_id=15)
    mirror.classes["c2"] = class_row_of(klass("c2", "0456"), 22)
    mirror.enrollments[("c2", "t2")] = link(34, "c2", "t2", "teacher", primary=True)
    roster.unreadable_schools.add("0456")
    del roster.people["s2"], roster.enrollments[("c1", "s2")]
    plan = plan_of(roster, mirror)
    assert plan.people.archive == [3]  # s2 of school 0123
    assert (plan.people.held, plan.people_held["teachers"]) == (1, 1)
    assert plan.classes.archive == []
    assert (plan.enrollments.archive, plan.enrollments.held) == ([33], 1)
    assert plan.planned_archives["teachers"] == plan.planned_archives["classes"] == 0


def test_Q_unsent_guardianships_are_held_not_archived():
    roster, mirror = world()
    roster.guardianships.clear()
    roster.unsent_kinds.add("guardianships")
    plan = plan_of(roster, mirror)
    assert (plan.guardianships.archive, plan.guardianships.held) == ([], 1)
    assert plan.planned_archives["guardianships"] == 0


def test_Q_unsent_parents_are_held_with_their_guardianships():
    roster, mirror = world()
    del roster.people["p1"]
    roster.guardianships.clear()
    roster.unsent_kinds.add("parents")
    plan = plan_of(roster, mirror)
    assert plan.people.archive == []
    assert (plan.people.held, plan.people_held["parents"]) == (1, 1)
    assert (plan.guardianships.archive, plan.guardianships.held) == ([], 1)


# ---------------------------------------------------------------- rule T2's inputs


def test_T2_active_counts_only_unarchived_records():
    roster, mirror = world()
    roster.people["a1"] = person("a1", "administrator")
    mirror.people["a1"] = row_of(roster.people["a1"], 5)
    mirror.people["s9"] = row_of(person("s9"), 9, archived=True)
    mirror.classes["c9"] = class_row_of(klass("c9"), 29, archived=True)
    mirror.enrollments[("c9", "s9")] = link(39, "c9", "s9", archived=True)
    mirror.guardianships[("p1", "s9")] = link(49, "p1", "s9", role="", archived=True)
    plan = plan_of(roster, mirror)
    assert plan.active == {
        "students": 2,
        "teachers": 2,  # an administrator counts as a teacher
        "parents": 1,
        "classes": 1,
        "enrollments": 3,
        "guardianships": 1,
    }


def test_T2_planned_archives_are_counted_per_kind():
    roster, mirror = world()
    roster.people = {"s1": roster.people["s1"]}
    roster.enrollments = {("c1", "s1"): roster.enrollments[("c1", "s1")]}
    roster.guardianships.clear()
    plan = plan_of(roster, mirror)
    assert plan.planned_archives == {
        "students": 1,
        "teachers": 1,
        "parents": 1,
        "classes": 0,
        "enrollments": 2,
        "guardianships": 1,
    }


# ---------------------------------------------------------------- devices (rule D's outcome)

PHONE = ("phone", "+12063842291")


def test_D_device_owner_is_the_rule_D_winner_and_an_unwon_device_has_no_owner():
    roster, mirror = world()
    mirror.devices = {11: {("email", "t1@district.k12.ca.us"): 101, ("phone", "+1999"): 102}}
    winners = {("email", "t1@district.k12.ca.us"): "t1", PHONE: "p1"}
    plan = plan_of(roster, mirror, winners=winners)
    assert plan.device_owner == winners  # t1 no longer has a phone: nobody keeps it
    assert plan.device_owner_if_blocked == {}


def test_Q_held_person_keeps_the_devices_nobody_else_won():
    roster, mirror = world()
    mirror.devices = {12: {("email", "s1@example.org"): 103, PHONE: 104}}
    plan = plan_of(roster, mirror, person_errors={"s1"}, winners={PHONE: "p1"})
    assert plan.device_owner == {PHONE: "p1", ("email", "s1@example.org"): "s1"}


def test_device_owner_if_blocked_keeps_the_devices_of_people_planned_for_archive():
    roster, mirror = world()
    del roster.people["s2"], roster.enrollments[("c1", "s2")]
    mirror.devices = {13: {("email", "s2@example.org"): 105, PHONE: 106}}
    plan = plan_of(roster, mirror, winners={PHONE: "p1"})
    assert plan.device_owner == {PHONE: "p1"}
    assert plan.device_owner_if_blocked == {("email", "s2@example.org"): "s2"}
