"""Issue #12: failed logins are throttled, in the admin too (support accounts can do the
most): after 5 failures for a username from one address, even the right password is
refused for a while, with a message saying so."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from accounts.models import User

pytestmark = pytest.mark.django_db


def test_the_admin_refuses_sign_in_after_five_failures(client):
    cache.clear()
    User.objects.create_user("support", password="right-password", is_staff=True)
    for _ in range(5):
        response = client.post(
            "/admin/login/", {"username": "support", "password": "wrong"}, REMOTE_ADDR="10.1.2.3"
        )
        assert response.status_code == 200  # the form again, with an error
    response = client.post(
        "/admin/login/",
        {"username": "support", "password": "right-password"},
        REMOTE_ADDR="10.1.2.3",
    )
    assert response.status_code == 200
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Another address is not held back by someone else's failures.
    response = client.post(
        "/admin/login/",
        {"username": "support", "password": "right-password"},
        REMOTE_ADDR="10.9.9.9",
    )
    assert response.status_code == 302


def test_the_admin_still_refuses_non_staff(client):
    cache.clear()
    User.objects.create_user("teacher", password="pw")
    response = client.post("/admin/login/", {"username": "teacher", "password": "pw"})
    assert response.status_code == 200
    assert "staff account" in response.content.decode()
