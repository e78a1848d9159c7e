"""Who may call the API at all: tokens (hashed, expiring, read-only), sessions (CSRF),
logging in for a token (failures throttled), and the command and admin that make tokens."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from tests.api.conftest import client_for, token_for
from tests.factories import UserFactory


def endpoints(w) -> list[tuple[str, str]]:
    run, config, org = w.blocked_run.pk, w.config.pk, w.org.pk
    return [
        ("get", "/api/v1/organizations/"),
        ("get", f"/api/v1/organizations/{org}/"),
        ("get", f"/api/v1/organizations/{org}/sync-tab/"),
        ("get", "/api/v1/sync-configs/"),
        ("get", f"/api/v1/sync-configs/{config}/"),
        ("patch", f"/api/v1/sync-configs/{config}/"),
        ("post", f"/api/v1/sync-configs/{config}/runs/"),
        ("post", f"/api/v1/sync-configs/{config}/uploads/"),
        ("get", "/api/v1/sync-runs/"),
        ("get", f"/api/v1/sync-runs/{run}/"),
        ("get", f"/api/v1/sync-runs/{run}/schools/"),
        ("get", f"/api/v1/sync-runs/{run}/issues/"),
        ("get", f"/api/v1/sync-runs/{run}/issues.csv"),
        ("get", f"/api/v1/sync-runs/{run}/planned-archives/"),
        ("get", f"/api/v1/sync-runs/{run}/planned-archives.csv"),
        ("post", f"/api/v1/sync-runs/{run}/approve-archives/"),
        ("post", "/api/v1/auth/logout/"),
    ]


def test_anonymous_gets_401_with_the_bearer_scheme_on_every_endpoint(world):
    client = APIClient()
    for method, url in endpoints(world):
        response = getattr(client, method)(url, {}, format="json")
        assert response.status_code == 401, (method, url)
        assert response["WWW-Authenticate"] == "Bearer", (method, url)
        assert response.json()["code"] == "not_authenticated"


def test_a_wrong_token_is_401(world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer rollcall_0000000000000000000000")
    response = client.get("/api/v1/organizations/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_tokens_are_stored_hashed_and_expire(world):
    token = token_for(world.district_admin)
    row = ApiToken.objects.get(user=world.district_admin)
    assert token not in (row.digest, row.token_key)
    assert row.expiry > timezone.now() + timedelta(days=89)  # the 90-day default
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/v1/organizations/").status_code == 200
    ApiToken.objects.filter(pk=row.pk).update(expiry=timezone.now() - timedelta(seconds=1))
    assert client.get("/api/v1/organizations/").status_code == 401
    assert not ApiToken.objects.filter(pk=row.pk).exists()


def test_an_inactive_users_token_is_401(world):
    client = client_for(world.district_admin)
    world.district_admin.is_active = False
    world.district_admin.save()
    assert client.get("/api/v1/organizations/").status_code == 401


def test_a_read_only_token_reads_but_every_change_is_403(world, django_capture_on_commit_callbacks):
    client = client_for(world.district_admin, read_only=True)
    for method, url in endpoints(world):
        if method == "get":
            assert client.get(url).status_code == 200, url
        elif not url.endswith("/logout/"):
            response = getattr(client, method)(url, {"expected_count": 9}, format="json")
            assert response.status_code == 403, url
            assert response.json() == {
                "code": "permission_denied",
                "message": "This token is read-only: it cannot change anything.",
                "details": {"reason": "read_only_token"},
            }
    assert world.config.runs.count() == 2  # nothing was queued


def test_a_read_only_token_may_revoke_itself(world):
    client = client_for(world.district_admin, read_only=True)
    assert client.post("/api/v1/auth/logout/").status_code == 204
    assert client.get("/api/v1/organizations/").status_code == 401


def test_session_requests_need_the_csrf_token_for_changes(world):
    client = client_for(world.district_admin, auth="session")
    assert client.get("/api/v1/sync-runs/").status_code == 200
    url = f"/api/v1/sync-configs/{world.config.pk}/"
    assert client.patch(url, {"enabled": False}, format="json").status_code == 200
    del client.defaults["HTTP_X_CSRFTOKEN"]
    response = client.patch(url, {"enabled": True}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["message"]
    world.config.refresh_from_db()
    assert world.config.enabled is False


def test_login_gives_a_token_shown_once(world):
    user = UserFactory(username="api-client")
    response = APIClient().post(
        "/api/v1/auth/login/",
        {"username": "api-client", "password": "password", "name": "dashboard", "read_only": True},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token"].startswith("rollcall_")
    assert (body["name"], body["read_only"]) == ("dashboard", True)
    row = ApiToken.objects.get(user=user)
    assert row.read_only and body["token"] != row.digest
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    assert client.get("/api/v1/organizations/").status_code == 200


def test_login_failures_are_throttled_per_address(world, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "login_failures": "3/hour",
        },
    }
    UserFactory(username="api-client")
    client = APIClient()
    wrong = {"username": "api-client", "password": "nope"}
    for _ in range(3):
        response = client.post("/api/v1/auth/login/", wrong, format="json")
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Bearer"
    # Throttled now, even with the right password.
    right = {"username": "api-client", "password": "password"}
    response = client.post("/api/v1/auth/login/", right, format="json")
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) > 0
    # Another address is not.
    other = client.post("/api/v1/auth/login/", right, format="json", REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 200


def test_successful_logins_are_not_counted_as_failures(world, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "login_failures": "2/hour",
        },
    }
    UserFactory(username="api-client")
    right = {"username": "api-client", "password": "password"}
    for _ in range(4):
        assert APIClient().post("/api/v1/auth/login/", right, format="json").status_code == 200


def test_create_api_token_prints_the_token_once(world):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "create_api_token",
        world.district_admin.username,
        "--expires-days",
        "7",
        "--read-only",
        "--name",
        "nightly report",
        stdout=out,
        stderr=err,
    )
    token = out.getvalue().strip()
    row = ApiToken.objects.get(user=world.district_admin)
    assert token.startswith("rollcall_") and token not in err.getvalue()
    assert (row.name, row.read_only) == ("nightly report", True)
    assert timedelta(days=6) < row.expiry - timezone.now() <= timedelta(days=7)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/v1/organizations/").status_code == 200
    assert client.post(f"/api/v1/sync-configs/{world.config.pk}/runs/").status_code == 403


def test_create_api_token_refuses_unknown_users_and_tokens_that_never_expire(world):
    with pytest.raises(CommandError, match="No user"):
        call_command("create_api_token", "nobody", stdout=io.StringIO())
    with pytest.raises(CommandError, match="every token expires"):
        call_command(
            "create_api_token",
            world.district_admin.username,
            "--expires-days",
            "0",
            stdout=io.StringIO(),
        )


def test_the_admin_shows_a_new_token_once_and_stores_only_its_hash(world, client):
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    response = client.post(
        "/admin/accounts/apitoken/add/",
        {
            "user": world.district_admin.pk,
            "name": "sis bridge",
            "read_only": "on",
            "expires_days": "30",
        },
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    token = response.context["token"]
    assert token.startswith("rollcall_") and token.encode() in response.content
    row = ApiToken.objects.get(user=world.district_admin)
    assert (row.name, row.read_only) == ("sis bridge", True)
    listing = client.get("/admin/accounts/apitoken/")
    assert listing.status_code == 200 and token.encode() not in listing.content
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get("/api/v1/organizations/").status_code == 200


def test_staff_who_are_not_superusers_make_tokens_only_for_themselves(world, client):
    from tests.api.conftest import grant

    staff = grant(UserFactory(is_staff=True), "accounts.add_apitoken", "accounts.view_apitoken")
    client.force_login(staff)
    response = client.post(
        "/admin/accounts/apitoken/add/",
        {"user": world.district_admin.pk, "name": "x", "expires_days": "30"},
    )
    assert response.status_code == 200 and "token" not in response.context
    assert not ApiToken.objects.filter(user=world.district_admin).exists()
