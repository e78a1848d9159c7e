"""`make run`'s demo set-up can run any number of times."""

from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import User
from syncs.models import SyncRun


@pytest.mark.django_db
def test_setup_demo_is_idempotent_and_keeps_the_password(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    out = StringIO()
    call_command("setup_demo", students=150, url="http://127.0.0.1:9000", stdout=out)
    password = (tmp_path / "admin-password").read_text().strip()
    assert f"password: {password}" in out.getvalue()
    assert "http://127.0.0.1:9000/admin/" in out.getvalue()
    assert SyncRun.objects.get().status == "succeeded"

    again = StringIO()
    call_command("setup_demo", students=150, stdout=again)
    assert (tmp_path / "admin-password").read_text().strip() == password
    assert SyncRun.objects.count() == 1
    assert User.objects.get(username="admin").check_password(password)
    assert "already synced" in again.getvalue()
