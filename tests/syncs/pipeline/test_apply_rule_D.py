"""Rule D on the database: who gets each email address and phone number after a sync,
and the normalizations remembered between runs."""

from __future__ import annotations

from accounts.models import ContactDevice, User
from rostering.models import Person
from syncs.selectors import run_issue_queryset
from tests.helpers import devices_of, issue_codes


def test_D1_shared_household_phone_goes_to_one_parent(sync, district):
    district.users[-2]["phone"] = "(206) 384-2291"  # p2 now shares p1's phone
    run = sync(district)
    assert devices_of("p1") == [("email", "p1@example.org"), ("phone", "+12063842291")]
    assert devices_of("p2") == [("email", "p2@example.org")]
    assert ("device_in_use", "p2") in issue_codes(run)
    assert ContactDevice.objects.filter(value="+12063842291").count() == 1


def test_D2_teacher_outranks_parent_for_a_shared_email(sync, district):
    district.users[-1]["email"] = "t2@district.k12.ca.us"  # p3 claims t2's email
    run = sync(district)
    assert devices_of("t2") == [("email", "t2@district.k12.ca.us")]
    assert devices_of("p3") == [("phone", "+12063847710")]
    issue = run_issue_queryset(run).get(source_id="p3")
    assert issue.code == "device_in_use" and "held by teacher t2" in issue.message


def test_D3_hand_made_account_keeps_its_email_and_the_teacher_gets_an_error(sync, district):
    hand = User.objects.create(username="signed-up-by-hand")
    ContactDevice.objects.create(account=hand, kind="email", value="t1@district.k12.ca.us")
    run = sync(district)
    assert ContactDevice.objects.get(value="t1@district.k12.ca.us").account == hand
    assert not Person.objects.filter(source_id="t1").exists()  # errors create nothing (Q)
    issue = run_issue_queryset(run).get(source_id="t1")
    assert issue.code == "teacher_email" and "an existing account" in issue.message


def test_D4_rerun_keeps_every_device_where_it_was(sync, district):
    district.users[-2]["phone"] = "(206) 384-2291"
    sync(district)
    first = sorted(ContactDevice.objects.values_list("account__person__source_id", "value"))
    sync(district)
    assert sorted(ContactDevice.objects.values_list("account__person__source_id", "value")) == first


def test_D_device_moves_between_two_accounts_of_the_config(sync, district):
    sync(district)
    district.users[-3]["phone"] = ""  # p1 gives up the phone ...
    district.users[-2]["phone"] = "(206) 384-2291"  # ... and p2 now has it
    run = sync(district)
    assert run.status == "succeeded", run.message
    assert ("phone", "+12063842291") in devices_of("p2")
    assert ("phone", "+12063842291") not in devices_of("p1")


def test_D5_issue_names_the_holder_by_role_and_source_id(sync, district):
    district.users[1]["email"] = "t1@district.k12.ca.us"  # t2 claims t1's email
    run = sync(district)
    issue = run_issue_queryset(run).get(code="teacher_email")
    assert issue.source_id == "t2"
    assert "held by teacher t1" in issue.message
    assert issue.hint


def test_device_normalization_is_remembered_between_runs(sync, district, monkeypatch):
    from accounts import devices
    from accounts.models import NormalizedDevice

    sync(district)
    assert NormalizedDevice.objects.filter(
        kind="email", raw="t1@district.k12.ca.us", value="t1@district.k12.ca.us"
    ).exists()

    def not_again(raw):
        raise AssertionError(f"{raw!r} was normalized again")

    monkeypatch.setitem(devices.NORMALIZERS, "email", not_again)
    monkeypatch.setitem(devices.NORMALIZERS, "phone", not_again)
    run = sync(district)
    assert run.status == "succeeded", run.message
    assert devices_of("t1") == [("email", "t1@district.k12.ca.us")]


def test_remembered_normalizations_are_per_library_version(sync, district, monkeypatch):
    from accounts import devices
    from accounts.models import NormalizedDevice

    sync(district)
    monkeypatch.setattr(devices, "RULESET", "email-validator 99; phonenumbers 99")
    sync(district)
    assert NormalizedDevice.objects.filter(ruleset="email-validator 99; phonenumbers 99").exists()
