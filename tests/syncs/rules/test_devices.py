"""Rule D (DESIGN §4): who gets each email address and phone number. No database."""

from syncs.records import PersonRecord
from syncs.rules.devices import OUTSIDE_HOLDER, assign_devices

PHONE = ("phone", "+12063842291")
EMAIL = ("email", "shared@example.org")


def people(*specs):
    return {
        sid: PersonRecord(source_id=sid, role=role, school_ids=("0123",)) for sid, role in specs
    }


def test_D1_a_device_goes_to_exactly_one_claimant():
    ppl = people(("p1", "parent"), ("p2", "parent"), ("p3", "parent"))
    out = assign_devices(ppl, {pid: [PHONE] for pid in ppl}, set())
    assert out.winners == {PHONE: "p1"}


def test_D2_teacher_outranks_parent():
    ppl = people(("a-parent", "parent"), ("z-teacher", "teacher"))
    out = assign_devices(ppl, {"a-parent": [EMAIL], "z-teacher": [EMAIL]}, set())
    assert out.winners[EMAIL] == "z-teacher"


def test_D2_administrator_ranks_with_teachers():
    ppl = people(("b", "administrator"), ("a", "teacher"), ("0", "parent"))
    out = assign_devices(ppl, {pid: [EMAIL] for pid in ppl}, set())
    assert out.winners[EMAIL] == "a"


def test_D2_parent_outranks_student():
    ppl = people(("a-student", "student"), ("z-parent", "parent"))
    out = assign_devices(ppl, {"a-student": [PHONE], "z-parent": [PHONE]}, set())
    assert out.winners[PHONE] == "z-parent"


def test_D2_equal_roles_go_to_the_smallest_source_id_in_string_order():
    # "10" < "9" as strings: IDs are never compared as numbers.
    ppl = people(("9", "parent"), ("10", "parent"))
    out = assign_devices(ppl, {"9": [PHONE], "10": [PHONE]}, set())
    assert out.winners[PHONE] == "10"


def test_D3_device_held_outside_the_config_stays_there():
    ppl = people(("t1", "teacher"))
    out = assign_devices(ppl, {"t1": [EMAIL]}, held_outside={EMAIL})
    assert EMAIL not in out.winners
    assert out.person_errors == {"t1"}
    (finding,) = out.findings
    assert finding.code == "teacher_email"
    assert OUTSIDE_HOLDER in finding.message


def test_D4_outcome_does_not_depend_on_input_order():
    specs = [("p3", "parent"), ("s1", "student"), ("t9", "teacher"), ("p1", "parent")]
    forward = people(*specs)
    backward = people(*reversed(specs))
    claims = {sid: [PHONE, EMAIL] for sid, _r in specs}
    a = assign_devices(forward, dict(claims), set())
    b = assign_devices(backward, dict(reversed(list(claims.items()))), set())
    assert a.winners == b.winners
    assert sorted((f.source_id, f.code, f.message) for f in a.findings) == sorted(
        (f.source_id, f.code, f.message) for f in b.findings
    )


def test_D5_device_in_use_alert_tells_the_loser_who_holds_the_device():
    ppl = people(("p1", "parent"), ("p2", "parent"))
    out = assign_devices(
        ppl, {"p1": [PHONE, ("email", "p1@example.org")], "p2": [PHONE, EMAIL]}, set()
    )
    (finding,) = out.findings
    assert finding.code == "device_in_use"
    assert finding.source_id == "p2"
    assert "held by parent p1" in finding.message


def test_D5_parent_who_loses_every_device_gets_parent_contact_error():
    ppl = people(("p1", "parent"), ("p2", "parent"))
    out = assign_devices(ppl, {"p1": [PHONE], "p2": [PHONE]}, set())
    assert out.person_errors == {"p2"}
    assert [f.code for f in out.findings] == ["parent_contact"]
    assert "held by parent p1" in out.findings[0].message


def test_D5_student_who_loses_a_device_keeps_an_account_with_an_alert():
    ppl = people(("p1", "parent"), ("s1", "student"))
    out = assign_devices(ppl, {"p1": [EMAIL], "s1": [EMAIL]}, set())
    assert out.person_errors == set()
    assert [(f.code, f.source_id) for f in out.findings] == [("device_in_use", "s1")]


def test_D_teacher_in_error_does_not_block_the_next_claimant_of_their_phone():
    # t1 loses its email to an outside account, so gets no account; its phone must then
    # go to the parent who also claims it rather than to nobody.
    ppl = people(("t1", "teacher"), ("p1", "parent"))
    out = assign_devices(ppl, {"t1": [EMAIL, PHONE], "p1": [PHONE]}, held_outside={EMAIL})
    assert out.person_errors == {"t1"}
    assert out.winners == {PHONE: "p1"}
    assert [(f.code, f.source_id) for f in out.findings] == [("teacher_email", "t1")]
