"""DESIGN §7 and issue #12: who may do what, asserted cell by cell.

Every endpoint and method × every kind of caller, with the exact status code. Each cell
runs in a savepoint that is rolled back, so every cell starts from the same world:
- organization A, synced twice: its latest run failed `threshold` when school 0456's
  people left the files, so it has planned archives to approve; plus an upload config;
- organization B, synced once, with a district admin of its own.
A second check reads every response B's admin got and finds none of A's school IDs,
school names or source IDs.
"""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.cache import cache
from django.db import transaction
from rest_framework.test import APIClient

from rostering.models import School
from tests.api.worlds import CANARY, make_world

pytestmark = pytest.mark.django_db

CALLERS = [
    "anonymous",
    "district_admin_session",
    "district_admin_token",
    "read_only_token",
    "school_admin",
    "other_district_admin",
    "staff_view_only",
    "support_staff",
]


@pytest.fixture
def world(tmp_path):
    return make_world(tmp_path)


def client_for(caller: str, world) -> APIClient:
    client = APIClient()
    if caller in world["tokens"]:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {world['tokens'][caller]}")
    elif caller == "district_admin_session":
        client.force_login(world["users"]["district_admin"])
    elif caller != "anonymous":
        client.force_login(world["users"][caller])
    return client


def upload_body() -> dict:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("users.csv", "sourcedId,role\n")
    archive.seek(0)
    archive.name = "roster.zip"
    return {"files": [archive], "dry_run": "true"}


READ = {  # may see A's data
    "anonymous": 401,
    "district_admin_session": 200,
    "district_admin_token": 200,
    "read_only_token": 200,
    "school_admin": 200,
    "other_district_admin": 404,
    "staff_view_only": 200,
    "support_staff": 200,
}
LIST = {**READ, "other_district_admin": 200}  # a list answers, scoped to the caller
DISTRICT_ACTION = {  # district admins and support staff may; the rest see it and may not
    **READ,
    "read_only_token": 403,
    "school_admin": 403,
    "staff_view_only": 403,
}


def accepted(status: int) -> dict:
    out = dict(DISTRICT_ACTION)
    for caller in ("district_admin_session", "district_admin_token", "support_staff"):
        out[caller] = status
    return out


CREDENTIALS_CHANGE = {  # source and credentials: support staff only
    **DISTRICT_ACTION,
    "district_admin_session": 403,
    "district_admin_token": 403,
}


# Notifications (issue 14): your own preference is yours to set wherever you can read.
OWN_SETTING = {**READ, "read_only_token": 403}
# Watching is for support staff; district admins hear of their own organization anyway.
STAFF_WATCH = {
    **READ,
    "district_admin_session": 403,
    "district_admin_token": 403,
    "read_only_token": 403,
    "school_admin": 403,
}
# Webhook endpoints: district admins and staff with the notify permissions; a school
# admin never sees them.
ENDPOINT_READ = {**READ, "school_admin": 404}


def endpoint_action(status: int) -> dict:
    return {**accepted(status), "school_admin": 404}


def cells(w) -> list[tuple[str, str, object, str, dict]]:
    """(method, url, body, format, expected status per caller) for every endpoint."""
    org, config, upload, run = w["org"].pk, w["config"].pk, w["upload"].pk, w["run"].pk
    planned = w["run"].planned_archives.count()
    hook = w["endpoint"].pk
    v1 = "/api/v1"
    return [
        ("get", f"{v1}/organizations/", None, "json", LIST),
        ("get", f"{v1}/organizations/{org}/", None, "json", READ),
        ("get", f"{v1}/organizations/{org}/sync-tab/", None, "json", READ),
        ("get", f"{v1}/sync-configs/", None, "json", LIST),
        ("get", f"{v1}/sync-configs/{config}/", None, "json", READ),
        (
            "patch",
            f"{v1}/sync-configs/{config}/",
            {"deletion_threshold": "15.00", "enabled": False},
            "json",
            accepted(200),
        ),
        ("patch", f"{v1}/sync-configs/{config}/", {"sftp_host": "x"}, "json", CREDENTIALS_CHANGE),
        ("post", f"{v1}/sync-configs/{config}/runs/", {"dry_run": True}, "json", accepted(202)),
        ("post", f"{v1}/sync-configs/{upload}/uploads/", "upload", "multipart", accepted(202)),
        ("get", f"{v1}/sync-runs/", None, "json", LIST),
        ("get", f"{v1}/sync-runs/{run}/", None, "json", READ),
        ("get", f"{v1}/sync-runs/{run}/schools/", None, "json", READ),
        ("get", f"{v1}/sync-runs/{run}/issues/", None, "json", READ),
        ("get", f"{v1}/sync-runs/{run}/issues.csv", None, "csv", READ),
        ("get", f"{v1}/sync-runs/{run}/planned-archives/", None, "json", READ),
        ("get", f"{v1}/sync-runs/{run}/planned-archives.csv", None, "csv", READ),
        (
            "post",
            f"{v1}/sync-runs/{run}/approve-archives/",
            {"expected_count": planned},
            "json",
            accepted(200),
        ),
        (
            "post",
            f"{v1}/sync-runs/{run}/approve-archives/",
            {"expected_count": planned + 1},
            "json",
            accepted(409),
        ),
        ("get", f"{v1}/sync-configs/{config}/health/", None, "json", READ),
        ("get", f"{v1}/organizations/{org}/notification-preference/", None, "json", READ),
        (
            "put",
            f"{v1}/organizations/{org}/notification-preference/",
            {"mode": "daily"},
            "json",
            OWN_SETTING,
        ),
        ("get", f"{v1}/organizations/{org}/watch/", None, "json", STAFF_WATCH),
        ("put", f"{v1}/organizations/{org}/watch/", None, "json", STAFF_WATCH),
        ("get", f"{v1}/webhook-endpoints/", None, "json", LIST),
        ("get", f"{v1}/webhook-endpoints/{hook}/", None, "json", ENDPOINT_READ),
        ("get", f"{v1}/webhook-endpoints/{hook}/deliveries/", None, "json", ENDPOINT_READ),
        (
            "post",
            f"{v1}/webhook-endpoints/",
            {
                "organization": org,
                "name": "n",
                "url": "http://127.0.0.1:9/hook",
                "secret": "a-secret-of-16-chars-or-more",
                "events": ["run.failed"],
            },
            "json",
            {**accepted(201), "other_district_admin": 400},
        ),
        (
            "patch",
            f"{v1}/webhook-endpoints/{hook}/",
            {"enabled": False},
            "json",
            endpoint_action(200),
        ),
        ("post", f"{v1}/webhook-endpoints/{hook}/test/", None, "json", endpoint_action(202)),
        ("delete", f"{v1}/webhook-endpoints/{hook}/", None, "json", endpoint_action(204)),
    ]


def body_text(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


@pytest.mark.parametrize("caller", CALLERS)
def test_every_endpoint_answers_each_caller_with_the_exact_status(caller, world):
    """Rows: endpoint and method. Columns: the callers of DESIGN §7. 404 outside reach,
    403 inside reach without the right, 401 for nobody."""
    wrong = []
    for method, url, body, fmt, expected in cells(world):
        cache.clear()  # throttles count per cell, not across the matrix
        client = client_for(caller, world)
        data = upload_body() if body == "upload" else body
        with transaction.atomic():
            response = getattr(client, method)(
                url, data=data, format="multipart" if fmt == "multipart" else "json"
            )
            body_text(response)  # a streamed CSV runs its queries now, inside the savepoint
            transaction.set_rollback(True)
        if response.status_code != expected[caller]:
            wrong.append(
                f"{method.upper()} {url} {json.dumps(body) if body else ''}: "
                f"{response.status_code}, expected {expected[caller]}"
            )
    assert not wrong, f"{caller}:\n" + "\n".join(wrong)


def test_another_districts_admin_reads_nothing_of_district_a(world):
    """Every response B's admin gets, lists and 404s included, is searched for A's
    school IDs, school names and source IDs (people, classes, schools)."""
    from rostering.models import Class, Person

    org_a = world["org"]
    secrets = set()
    for sis_id, name in School.objects.filter(organization=org_a).values_list("sis_id", "name"):
        secrets |= {sis_id, name}
    secrets |= set(Person.objects.filter(organization=org_a).values_list("source_id", flat=True))
    secrets |= set(Class.objects.filter(organization=org_a).values_list("source_id", flat=True))
    secrets.add(org_a.name)
    assert len(secrets) > 10

    client = client_for("other_district_admin", world)
    run_b = world["run_b"].pk
    urls = [url for method, url, *_ in cells(world) if method == "get"] + [
        f"/api/v1/organizations/{world['org_b'].pk}/sync-tab/",
        f"/api/v1/sync-runs/{run_b}/",
        f"/api/v1/sync-runs/{run_b}/issues/",
        f"/api/v1/sync-runs/{run_b}/issues.csv",
        f"/api/v1/sync-runs/{run_b}/schools/",
        f"/api/v1/sync-runs/{run_b}/planned-archives.csv",
    ]
    seen_b = False
    for url in urls:
        text = body_text(client.get(url))
        seen_b = seen_b or "beta-0123" in text
        leaked = sorted(s for s in secrets if s in text)
        assert not leaked, f"{url} shows district A's {leaked}"
    assert seen_b, "B's admin should see B's own schools"


def test_no_api_response_contains_a_credential(world, caplog):
    """Credentials are write-only: the canary planted in every credential field comes
    back in no response of any caller (JSON, CSV or error), no run's message or
    diagnostics, and no log line."""
    import logging

    from syncs.models import SyncRun

    caplog.set_level(logging.DEBUG)
    for caller in CALLERS:
        for method, url, body, fmt, _expected in cells(world):
            cache.clear()
            client = client_for(caller, world)
            data = upload_body() if body == "upload" else body
            with transaction.atomic():
                response = getattr(client, method)(
                    url, data=data, format="multipart" if fmt == "multipart" else "json"
                )
                text = body_text(response)
                transaction.set_rollback(True)
            assert CANARY not in text, f"{caller} {method.upper()} {url}"
            assert CANARY not in str(response.headers), url
    for message, diagnostics in SyncRun.objects.values_list("message", "diagnostics"):
        assert CANARY not in message + json.dumps(diagnostics)
    assert CANARY not in caplog.text
