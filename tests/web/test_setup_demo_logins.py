"""`make run` (setup_demo) prints a district admin's and a school admin's login for the
sync tab next to the staff one; they work, and land where they should."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import Membership, User
from rostering.models import Organization
from tests.web.conftest import client_for


@pytest.mark.django_db
def test_setup_demo_prints_working_sync_tab_logins(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    out = StringIO()
    call_command("setup_demo", students=150, url="http://127.0.0.1:9000", stdout=out)
    printed = out.getvalue()
    assert "http://127.0.0.1:9000/login/" in printed
    org = Organization.objects.get(slug="demo")
    for username in ("district-admin", "school-admin"):
        password = (tmp_path / f"{username}-password").read_text().strip()
        assert re.search(rf"user: {username}\s+password: {re.escape(password)}", printed)
        user = User.objects.get(username=username)
        assert not user.is_staff
        client = client_for(None)
        assert (
            client.post("/login/", {"username": username, "password": password}).status_code == 302
        )
        assert client.get("/")["Location"] == reverse("web:tab", args=[org.pk])
    school_admin = Membership.objects.get(user__username="school-admin")
    assert school_admin.school is not None

    again = StringIO()
    call_command("setup_demo", students=150, stdout=again)
    assert Membership.objects.count() == 2
    for username in ("district-admin", "school-admin"):
        password = (tmp_path / f"{username}-password").read_text().strip()
        assert User.objects.get(username=username).check_password(password)
        assert f"password: {password}" in again.getvalue()
