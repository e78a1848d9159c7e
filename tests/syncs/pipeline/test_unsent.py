"""Absent means "not sent" (syncs.pipeline.unsent.fill_unsent): a field whose column a
file does not have keeps what the mirror holds. No database: records and mirror are
built by hand (handmade.py)."""

from __future__ import annotations

from datetime import date

from syncs.pipeline.unsent import fill_unsent
from tests.syncs.pipeline.handmade import person, world

USERS_EMAIL = {("users.csv", "*"): frozenset({"email"})}


def test_an_absent_column_keeps_what_the_mirror_holds():
    roster, mirror = world()
    roster.people["p1"].email = ""
    roster.unsent = USERS_EMAIL
    fill_unsent(roster, mirror)
    assert roster.people["p1"].email == "p1@example.org"


def test_a_present_column_with_an_empty_cell_still_clears_the_value():
    roster, mirror = world()
    roster.people["p1"].email = ""
    roster.unsent = {("users.csv", "*"): frozenset({"phone"})}
    fill_unsent(roster, mirror)
    assert roster.people["p1"].email == ""


def test_nothing_unsent_changes_nothing():
    roster, mirror = world()
    roster.people["p1"].email = ""
    fill_unsent(roster, mirror)
    assert roster.people["p1"].email == ""


def test_a_value_the_record_got_from_elsewhere_is_kept():
    roster, mirror = world()
    roster.people["p1"].email = "self-row@example.org"  # say, Clever's `Self` contact row
    roster.unsent = USERS_EMAIL
    fill_unsent(roster, mirror)
    assert roster.people["p1"].email == "self-row@example.org"


def test_a_new_record_has_nothing_to_keep():
    roster, mirror = world()
    roster.people["s3"] = person("s3")
    roster.unsent = USERS_EMAIL
    fill_unsent(roster, mirror)
    assert roster.people["s3"].email == ""


def test_an_unsent_birth_date_is_the_mirrors_in_iso_form():
    roster, mirror = world()
    mirror.people["s1"].dob = date(2014, 3, 9)
    roster.unsent = {("users.csv", "*"): frozenset({"dob"})}
    fill_unsent(roster, mirror)
    assert (roster.people["s1"].dob, roster.people["s2"].dob) == ("2014-03-09", "")


def test_fields_unsent_for_one_role_fill_only_that_role():
    roster, mirror = world()
    roster.people["p1"].email = roster.people["t1"].email = ""
    roster.unsent = {("users.csv", "parent"): frozenset({"email"})}
    fill_unsent(roster, mirror)
    assert roster.people["p1"].email == "p1@example.org"
    assert roster.people["t1"].email == ""


def test_fields_unsent_by_another_file_change_nothing():
    roster, mirror = world()
    roster.people["p1"].email = ""
    roster.unsent = {("students.csv", "*"): frozenset({"email"})}
    fill_unsent(roster, mirror)
    assert roster.people["p1"].email == ""


def test_an_unsent_phone_offers_the_phone_device_held_as_a_fallback():
    roster, mirror = world()
    roster.people["p1"].phone = ""
    mirror.devices = {14: {("phone", "+12063842291"): 1, ("email", "p1@example.org"): 2}}
    roster.unsent = {("users.csv", "*"): frozenset({"phone"})}
    fill_unsent(roster, mirror)
    p1 = roster.people["p1"]
    assert (p1.phone, p1.other_phones) == ("(206) 384-2291", ("+12063842291",))


def test_an_unsent_term_and_primary_keep_the_mirrors():
    roster, mirror = world()
    mirror.classes["c1"].term = "Fall 2026"
    roster.enrollments[("c1", "t1")].primary = False
    roster.unsent = {
        ("classes.csv", "*"): frozenset({"term"}),
        ("enrollments.csv", "*"): frozenset({"primary"}),
    }
    fill_unsent(roster, mirror)
    assert roster.classes["c1"].term == "Fall 2026"
    assert roster.enrollments[("c1", "t1")].primary is True
    assert roster.enrollments[("c1", "s1")].primary is False
