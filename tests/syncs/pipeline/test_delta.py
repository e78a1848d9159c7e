"""OneRoster delta files become a full snapshot before planning (syncs.pipeline.delta):
`merge_delta` upserts the delta's records into the base and removes its deletions, with
the links that go with them. No database: records and mirror are built by hand
(handmade.py)."""

from __future__ import annotations

from datetime import date

from syncs.pipeline.delta import merge_delta, roster_from_mirror
from syncs.records import PersonRecord, Roster, Where
from tests.syncs.pipeline.handmade import enrollment, klass, person, row_of, world


def base() -> Roster:
    roster, _mirror = world()
    roster.people["s1"].dob = "2014-03-09"
    return roster


def test_delta_upserts_people_and_classes_and_keeps_what_it_does_not_mention():
    before = base()
    delta = Roster(delta=True)
    delta.people["s1"] = person("s1", given_name="Renamed", dob="2014-03-09")
    delta.people["s3"] = person("s3")
    delta.classes["c2"] = klass("c2")
    merged, findings = merge_delta(before, delta)
    assert findings == []
    assert sorted(merged.people) == ["p1", "s1", "s2", "s3", "t1"]
    assert merged.people["s1"].given_name == "Renamed"
    assert merged.people["s2"] is before.people["s2"]
    assert sorted(merged.classes) == ["c1", "c2"]
    assert merged.enrollments == before.enrollments
    assert merged.guardianships == {("p1", "s1")}
    assert merged.schools == before.schools


def test_delta_deleted_person_goes_with_their_enrollments_and_guardian_links():
    delta = Roster(delta=True, deleted_people={"s1"})
    merged, findings = merge_delta(base(), delta)
    assert findings == []
    assert sorted(merged.people) == ["p1", "s2", "t1"]
    assert sorted(merged.enrollments) == [("c1", "s2"), ("c1", "t1")]
    assert merged.guardianships == set()


def test_delta_deleted_parent_takes_only_their_guardian_links():
    merged, _ = merge_delta(base(), Roster(delta=True, deleted_people={"p1"}))
    assert "p1" not in merged.people and "s1" in merged.people
    assert merged.guardianships == set()
    assert len(merged.enrollments) == 3


def test_delta_deleted_class_goes_with_its_enrollments():
    merged, findings = merge_delta(base(), Roster(delta=True, deleted_classes={"c1"}))
    assert findings == []
    assert merged.classes == {} and merged.enrollments == {}
    assert sorted(merged.people) == ["p1", "s1", "s2", "t1"]


def test_delta_deleted_enrollment_is_removed_alone():
    delta = Roster(delta=True, deleted_enrollments={("c1", "s2")})
    merged, _ = merge_delta(base(), delta)
    assert sorted(merged.enrollments) == [("c1", "s1"), ("c1", "t1")]
    assert "s2" in merged.people and "c1" in merged.classes


def test_delta_adds_the_links_it_lists_and_drops_none_it_does_not():
    delta = Roster(delta=True, guardianships={("p1", "s2")})
    delta.people["s3"] = person("s3")
    delta.enrollments[("c1", "s2")] = enrollment("c1", "s2", primary=True)
    delta.enrollments[("c1", "s3")] = enrollment("c1", "s3")
    merged, _ = merge_delta(base(), delta)
    assert merged.guardianships == {("p1", "s1"), ("p1", "s2")}
    assert len(merged.enrollments) == 4
    assert merged.enrollments[("c1", "s2")].primary is True


def test_delta_row_takes_role_schools_and_birth_date_from_the_base():
    delta = Roster(delta=True)
    delta.people["s1"] = PersonRecord("s1", role="", given_name="Sam", where=Where("users.csv", 2))
    delta.people["s2"] = person("s2", "student", "0456", dob="2015-01-02")
    merged, findings = merge_delta(base(), delta)
    assert findings == []
    s1 = merged.people["s1"]
    assert (s1.role, s1.school_ids, s1.dob, s1.given_name) == (
        "student",
        ("0123",),
        "2014-03-09",
        "Sam",
    )
    s2 = merged.people["s2"]  # what the delta does say stands
    assert (s2.school_ids, s2.dob) == (("0456",), "2015-01-02")


def test_delta_new_user_without_a_role_is_an_invalid_row():
    delta = Roster(delta=True)
    delta.people["x1"] = PersonRecord("x1", role="", given_name="X", where=Where("users.csv", 4))
    merged, findings = merge_delta(base(), delta)
    assert "x1" not in merged.people
    assert [(f.code, f.source_id, f.field, f.file, f.line, f.message) for f in findings] == [
        (
            "invalid_row",
            "x1",
            "role",
            "users.csv",
            4,
            "users.csv line 4: user x1 has no role in roles.csv.",
        )
    ]


def test_delta_agent_naming_an_unknown_user_is_unknown_reference():
    delta = Roster(delta=True)
    delta.people["s3"] = person("s3", where=Where("users.csv", 3))
    delta.agent_ids = {"s3": ["p1", "ghost"], "gone": ["p1"]}  # "gone" is no one: skipped
    merged, findings = merge_delta(base(), delta)
    assert ("p1", "s3") in merged.guardianships  # p1 comes from the base
    assert [(f.code, f.source_id, f.field, f.value) for f in findings] == [
        ("unknown_reference", "s3", "agentSourcedIds", "ghost")
    ]
    assert findings[0].message.startswith("users.csv line 3: agentSourcedIds names user ghost")


def test_delta_brings_its_own_unreadable_records_and_unsent_kinds():
    delta = Roster(
        delta=True,
        unreadable_people={"s2"},
        unreadable_enrollments={("c1", "s2")},
        unsent_kinds={"parents"},
        files=["users.csv"],
        format="oneroster11",
    )
    merged, _ = merge_delta(base(), delta)
    assert merged.unreadable_people == {"s2"}
    assert merged.unreadable_enrollments == {("c1", "s2")}
    assert merged.unsent_kinds == {"parents"}
    assert (merged.files, merged.format) == (["users.csv"], "oneroster11")


def test_roster_from_mirror_holds_the_active_records_and_offers_the_held_phone():
    _roster, mirror = world()
    mirror.people["s1"].dob = date(2014, 3, 9)
    mirror.people["s9"] = row_of(person("s9"), 9, archived=True)
    mirror.enrollments[("c1", "s2")].archived = True
    mirror.devices = {12: {("phone", "+12063847710"): 1, ("email", "s1@example.org"): 2}}
    roster = roster_from_mirror(mirror)
    assert sorted(roster.people) == ["p1", "s1", "s2", "t1"]
    s1 = roster.people["s1"]
    assert (s1.dob, s1.school_ids, s1.other_phones) == ("2014-03-09", ("0123",), ("+12063847710",))
    assert sorted(roster.enrollments) == [("c1", "s1"), ("c1", "t1")]
    assert roster.enrollments[("c1", "t1")].primary is True
    assert roster.guardianships == {("p1", "s1")}
    assert roster.classes["c1"].name == "Class c1"
