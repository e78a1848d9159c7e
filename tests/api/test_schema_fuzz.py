"""Issue #12: Schemathesis reads /api/schema/ and calls every operation with generated
input, as a district admin and as support staff. No 5xx, and every response matches
the schema (status code, content type, body). Bounded: a few examples per operation.

The operations are driven with Hypothesis directly: schemathesis's pytest plugin
(lazy schemas) does not run under pytest 9.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.cache import cache
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from accounts.models import ApiToken, User
from tests.api.worlds import make_world

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Django's test client stops requests from closing "old" connections; schemathesis
    calls the WSGI app directly, so do the same. Otherwise, on PostgreSQL, the end of one
    request closes the test's connection (it is inside the test transaction) and the
    next request finds it closed."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


EXAMPLES = 8


def real_ids(world: dict) -> dict[str, int]:
    """Path prefix -> an object of district A, so generated ids often hit real ones."""
    return {
        "/api/v1/organizations/": world["org"].pk,
        "/api/v1/sync-configs/{id}/uploads/": world["upload"].pk,
        "/api/v1/sync-configs/": world["config"].pk,
        "/api/v1/sync-runs/": world["run"].pk,
    }


def aim(case, ids: dict[str, int]) -> None:
    """Point an even generated id at a real object; odd ones stay random (404s)."""
    for name, value in list((case.path_parameters or {}).items()):
        if isinstance(value, int) and value % 2 == 0:
            for prefix, real in ids.items():
                if case.path.startswith(prefix.split("{")[0]) and (
                    "{" not in prefix or case.path == prefix.replace("{id}", "{" + name + "}")
                ):
                    case.path_parameters[name] = real
                    break


# Content the schema cannot describe: an upload must be a roster zip or CSV, a
# config's SFTP key a real key, and a webhook's URL a host that resolves to public
# addresses. Schema-valid random bytes there are rightly a 400.
CONTENT_CHECKED = (
    "/uploads/",
    "sync-configs/{id}/",
    "webhook-endpoints/",
    "webhook-endpoints/{id}/",
)


def excluded(operation) -> list:
    if operation.method.upper() in ("POST", "PATCH") and operation.path.endswith(CONTENT_CHECKED):
        return [positive_data_acceptance]
    return []


def fuzz_every_operation(token: str, world: dict) -> list[str]:
    schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    failures = []
    statuses: dict[int, int] = {}
    # Logging out would revoke the token the rest of the run uses (tested in test_auth).
    operations = [
        op
        for op in (result.ok() for result in schema.get_all_operations())
        if "auth/logout" not in op.path
    ]
    ids = real_ids(world)
    assert len(operations) >= 14, [op.label for op in operations]
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            # The same examples on every CI run: a red build is a real finding, never luck.
            # (`SCHEMA_FUZZ_RANDOM=1` explores new ones.)
            derandomize=not os.environ.get("SCHEMA_FUZZ_RANDOM"),
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            cache.clear()  # throttles: the fuzzer is not a client to slow down
            aim(case, ids)
            response = case.call_and_validate(
                headers={"Authorization": f"Bearer {token}"},
                excluded_checks=excluded(case.operation),
            )
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        try:
            check()
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure
            failures.append(f"{operation.label}: {exc}")
    print(
        f"schemathesis: {len(operations)} operations, responses by status {sorted(statuses.items())}"
    )
    # Not only refusals: the fuzzer reached real objects and changed some.
    assert statuses.get(200, 0) > len(operations), statuses
    return failures


def test_no_operation_errors_or_breaks_its_schema_for_a_district_admin(tmp_path):
    world = make_world(tmp_path)
    failures = fuzz_every_operation(world["tokens"]["district_admin_token"], world)
    assert not failures, "\n\n".join(failures)


def test_no_operation_errors_or_breaks_its_schema_for_support_staff(tmp_path):
    world = make_world(tmp_path)
    token = ApiToken.objects.issue(user=User.objects.get(username="support"))[1]
    failures = fuzz_every_operation(token, world)
    assert not failures, "\n\n".join(failures)
