"""Validation codes of DESIGN §4 (one test per code and its edges). No database."""

from datetime import date

import pytest

from syncs.records import ClassRecord, PersonRecord, Roster
from syncs.rules.validate import parse_dob, validate

TODAY = date(2026, 11, 24)


def check(*people, classes=(), taught=(), guardianships=()):
    roster = Roster(
        people={p.source_id: p for p in people},
        classes={c.source_id: c for c in classes},
        guardianships=set(guardianships),
        taught=set(taught),
    )
    return validate(roster, TODAY)


def codes(result):
    return sorted((f.code, f.source_id) for f in result.findings)


def person(sid, role, **kw):
    kw.setdefault("given_name", "Ana")
    kw.setdefault("family_name", "López")
    return PersonRecord(source_id=sid, role=role, school_ids=("0123",), **kw)


@pytest.mark.parametrize("raw", ["", "not-an-email", "ana@@example.org", "ana@localhost"])
def test_teacher_email_error_when_missing_or_invalid(raw):
    result = check(person("t1", "teacher", email=raw))
    assert codes(result) == [("teacher_email", "t1")]
    assert result.person_errors == {"t1"}


def test_teacher_email_normalized_lower_case_claim():
    result = check(person("t1", "teacher", email="Ana.Lopez@District.K12.CA.US"))
    assert result.claims["t1"] == [("email", "ana.lopez@district.k12.ca.us")]


def test_administrator_needs_an_email_like_a_teacher():
    assert codes(check(person("a1", "administrator"))) == [("teacher_email", "a1")]


def test_parent_contact_error_when_no_usable_device():
    result = check(person("p1", "parent", email="broken@", phone="+44 20 7946 0958"))
    assert ("parent_contact", "p1") in codes(result)
    assert result.person_errors == {"p1"}


def test_parent_with_one_good_device_has_no_contact_error():
    result = check(person("p1", "parent", email="", phone="(206) 384-2291"))
    assert codes(result) == []
    assert result.claims["p1"] == [("phone", "+12063842291")]


def test_parent_name_error_only_when_no_name_at_all():
    nameless = person("p1", "parent", given_name="", family_name="", email="a@example.org")
    one_name = person("p2", "parent", given_name="", family_name="Ng", email="b@example.org")
    assert codes(check(nameless, one_name)) == [("parent_name", "p1")]


@pytest.mark.parametrize(
    "raw", ["2/11/2007", "02/11/2007", "2007/2/11", "2007/02/11", "2007-02-11"]
)
def test_student_dob_accepts_the_documented_formats(raw):
    assert parse_dob(raw, TODAY) == date(2007, 2, 11)


@pytest.mark.parametrize(
    "raw", ["", "2007-02-30", "11/2/07", "2027-01-01", "1899/12/31", "Feb 11 2007", "13/01/2007"]
)
def test_student_dob_error_when_missing_unreal_future_or_other_format(raw):
    result = check(person("s1", "student", dob=raw))
    assert codes(result) == [("student_dob", "s1")]


def test_unsupported_phone_alert_drops_the_number():
    jamaica = person("s1", "student", dob="2010-01-01", phone="876-555-1234")
    result = check(jamaica)
    assert codes(result) == [("unsupported_phone", "s1")]
    assert "s1" not in result.claims


@pytest.mark.parametrize("raw", ["787-555-1234", "671-555-1234", "416-555-0199", "340-555-1234"])
def test_phones_of_us_territories_and_canada_are_supported(raw):
    result = check(person("p1", "parent", email="", phone=raw))
    assert codes(result) == []


def test_invalid_email_of_a_parent_with_a_phone_is_an_alert():
    result = check(person("p1", "parent", email="maria@@example.org", phone="206-384-2291"))
    assert codes(result) == [("invalid_email", "p1")]


def test_class_invalid_name_when_missing_or_containing_a_url():
    no_name = ClassRecord("c1", "0123", "")
    url = ClassRecord("c2", "0123", "Join at https://meet.example.org/x")
    www = ClassRecord("c3", "0123", "See www.example.org")
    fine = ClassRecord("c4", "0123", "Math 3.1")
    result = check(classes=[no_name, url, www, fine], taught={"c1", "c2", "c3", "c4"})
    assert codes(result) == [
        ("class_invalid_name", "c1"),
        ("class_invalid_name", "c2"),
        ("class_invalid_name", "c3"),
    ]


def test_class_no_teacher_when_no_teacher_enrollment():
    result = check(classes=[ClassRecord("c1", "0123", "Art")], taught=set())
    assert codes(result) == [("class_no_teacher", "c1")]
    assert result.class_errors == {"c1"}


def test_many_guardians_alert_at_six():
    student = person("s1", "student", dob="2010-01-01")
    parents = [person(f"p{i}", "parent", email=f"p{i}@example.org") for i in range(6)]
    result = check(student, *parents, guardianships=[(f"p{i}", "s1") for i in range(6)])
    assert codes(result) == [("many_guardians", "s1")]
    five = check(student, *parents[:5], guardianships=[(f"p{i}", "s1") for i in range(5)])
    assert codes(five) == []


def test_every_issue_has_a_message_and_a_hint():
    from syncs.findings import CODES

    for code in CODES.values():
        assert code.hint and code.severity in ("error", "alert")


def test_class_no_teacher_is_one_error_for_the_file_when_no_one_is_in_the_files():
    """A users.csv with no rows leaves every class untaught: one error says why, and the
    classes are still held (rule Q)."""
    from syncs.records import Where

    roster = Roster(
        classes={
            sid: ClassRecord(sid, "0123", f"Class {sid}", where=Where("classes.csv", n))
            for n, sid in enumerate(("c1", "c2", "c3"), start=2)
        },
        empty_files={"people": "users.csv"},
    )
    result = validate(roster, TODAY)
    assert [(f.code, f.kind, f.file) for f in result.findings] == [
        ("class_no_teacher", "file", "classes.csv")
    ]
    assert "none of its 3 classes has a teacher, because users.csv" in result.findings[0].message
    assert result.class_errors == {"c1", "c2", "c3"}


def test_class_no_teacher_stays_per_class_when_other_classes_have_teachers():
    """Clever: students.csv empty, teachers.csv not; an untaught class is its own error."""
    roster = Roster(
        classes={sid: ClassRecord(sid, "0123", f"Class {sid}") for sid in ("c1", "c2")},
        taught={"c1"},
        empty_files={"people": "students.csv"},
    )
    assert codes(validate(roster, TODAY)) == [("class_no_teacher", "c2")]
