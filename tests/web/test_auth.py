"""Signing in and out: where each caller lands, the throttle on failed sign-ins, and
changing one's password."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import Membership, MembershipRole
from tests.factories import UserFactory
from tests.web.conftest import PASSWORD, client_for, csrf_token, text
from web import throttle

LOGIN = "/login/"


def sign_in(client, username, password=PASSWORD, *, address="203.0.113.7", **extra):
    return client.post(
        LOGIN, {"username": username, "password": password, **extra}, REMOTE_ADDR=address
    )


def test_login_page_is_rollcalls_own(db):
    page = client_for(None).get(LOGIN)
    assert page.status_code == 200
    assert "Sign in to Rollcall" in text(page)
    assert reverse("web:login") == LOGIN


def test_district_admin_lands_on_their_organizations_tab(world):
    client = client_for(None)
    response = sign_in(client, world.district_admin.username)
    assert response.status_code == 302
    home = client.get(response["Location"])
    assert home.status_code == 302
    assert home["Location"] == reverse("web:tab", args=[world.org.pk])


def test_school_admin_lands_on_their_schools_view(world):
    client = client_for(None)
    home = client.get(sign_in(client, world.school_admin.username)["Location"])
    assert home["Location"] == reverse("web:tab", args=[world.org.pk])
    body = text(client.get(home["Location"]))
    assert "Lincoln Elementary" in body and "Roosevelt Middle" not in body


def test_staff_land_on_the_list_of_every_organization(world):
    client = client_for(None)
    home = client.get(sign_in(client, world.staff_viewer.username)["Location"])
    assert home.status_code == 200
    body = text(home)
    assert world.org.name in body and world.other_org.name in body


def test_an_admin_of_two_organizations_chooses_one(world):
    Membership.objects.create(
        user=world.district_admin, organization=world.other_org, role=MembershipRole.DISTRICT_ADMIN
    )
    home = client_for(world.district_admin).get("/")
    assert home.status_code == 200
    assert world.org.name in text(home) and world.other_org.name in text(home)


def test_sign_in_follows_next_inside_the_site_only(world):
    client = client_for(None)
    school = reverse("web:school", args=[world.org.pk, "0123"])
    assert sign_in(client, world.district_admin.username, next=school)["Location"] == school
    client = client_for(None)
    outside = sign_in(client, world.district_admin.username, next="https://evil.example/")
    assert outside["Location"] == "/"


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(world):
    page = sign_in(client_for(None), world.district_admin.username, "nope")
    assert page.status_code == 200
    assert "enter a correct username and password" in text(page)


def test_five_failures_in_15_minutes_refuse_even_the_right_password(world):
    username = world.district_admin.username
    for _ in range(throttle.FAILURES):
        assert sign_in(client_for(None), username, "wrong").status_code == 200
    refused = sign_in(client_for(None), username)
    assert refused.status_code == 200  # the form again, with the reason
    assert "Too many failed sign-ins" in text(refused)
    assert "_auth_user_id" not in refused.wsgi_request.session
    # Another address, or another username from this one, is not held back.
    assert sign_in(client_for(None), username, address="198.51.100.2").status_code == 302
    other = UserFactory(username="someone-else")
    assert sign_in(client_for(None), other.username).status_code == 302


def test_behind_a_proxy_the_forwarded_address_counts(world, settings):
    from django.test import RequestFactory

    from web.forms import client_address

    request = RequestFactory().post(
        LOGIN, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9, 10.0.0.5"
    )
    assert client_address(request) == "10.0.0.1"  # no proxies configured: not trusted
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 2}
    assert client_address(request) == "203.0.113.9"


def test_the_throttle_lifts_after_15_minutes(world):
    username, address = world.district_admin.username, "203.0.113.7"
    for _ in range(throttle.FAILURES):
        throttle.record_failure(username, address, now=1000.0)
    assert throttle.wait_seconds(username, address, now=1000.0 + 60) > 0
    assert throttle.wait_seconds(username, address, now=1000.0 + throttle.WINDOW + 1) == 0


def test_a_successful_sign_in_clears_the_failures(world):
    username = world.district_admin.username
    for _ in range(throttle.FAILURES - 1):
        sign_in(client_for(None), username, "wrong")
    assert sign_in(client_for(None), username).status_code == 302
    for _ in range(throttle.FAILURES - 1):
        sign_in(client_for(None), username, "wrong")
    assert sign_in(client_for(None), username).status_code == 302


def test_sign_out_is_a_post_with_csrf(world):
    client = client_for(world.district_admin, csrf=True)
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 403  # no token
    token = csrf_token(client, reverse("web:tab", args=[world.org.pk]))
    response = client.post("/logout/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"] == LOGIN
    assert client.get(reverse("web:tab", args=[world.org.pk])).status_code == 302


def test_sign_in_needs_the_csrf_token(world):
    client = client_for(None, csrf=True)
    assert sign_in(client, world.district_admin.username).status_code == 403
    token = csrf_token(client, LOGIN)
    assert (
        sign_in(client, world.district_admin.username, csrfmiddlewaretoken=token).status_code == 302
    )


@pytest.mark.parametrize("who", ["district_admin", "school_admin"])
def test_password_change(world, who):
    user = getattr(world, who)
    client = client_for(user)
    assert client.get("/password/").status_code == 200
    response = client.post(
        "/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "a much longer pass phrase 42",
            "new_password2": "a much longer pass phrase 42",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/password/done/"
    user.refresh_from_db()
    assert user.check_password("a much longer pass phrase 42")


def test_a_user_without_membership_sees_no_organization(db):
    user = UserFactory()
    page = client_for(user).get("/")
    assert page.status_code == 200
    assert "does not belong to any organization" in text(page)
