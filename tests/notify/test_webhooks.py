"""Signed webhooks to a real HTTP receiver on 127.0.0.1 that checks every signature with
its own HMAC code: the body, retries with backoff, timeouts, redirects not followed,
and addresses webhooks may never reach."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from notify import webhooks
from notify.models import DeliveryStatus, EventKind, WebhookDelivery, WebhookEndpoint
from notify.services import run_finished
from notify.services.webhooks import (
    webhook_deliveries_due,
    webhook_delivery_attempt,
    webhook_endpoint_save,
    webhook_test_send,
)
from syncs.models import RunStatus
from tests.helpers import NOW
from tests.notify.conftest import CANARY, WEBHOOK_SECRET, finished_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def finish(django_capture_on_commit_callbacks):
    def call(run) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            run_finished(run.pk)

    return call


def endpoint(url: str, org=None, events=("run.failed",), **fields) -> WebhookEndpoint:
    return webhook_endpoint_save(
        endpoint=WebhookEndpoint(organization=org),
        values={"url": url, "secret": WEBHOOK_SECRET, "events": list(events), **fields},
    )


def attempts(hook: WebhookEndpoint) -> list[tuple[int, str, int | None]]:
    return list(
        WebhookDelivery.objects.filter(endpoint=hook)
        .order_by("attempt")
        .values_list("attempt", "status", "response_code")
    )


# ---------------------------------------------------------------- the body and signature


def test_webhook_body_is_versioned_and_signed(receiver, listeners, finish):
    hook = endpoint(receiver.url(), listeners.org)
    run = finished_run(listeners.config, NOW, reason="credentials", message=f"token={CANARY}")
    finish(run)
    (got,) = receiver.received
    assert got.signature_ok
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["Rollcall-Signature"].startswith("v1=")
    assert got.headers["Rollcall-Event"] == "run.failed"
    body = json.loads(got.body)
    assert body["version"] == 1
    assert body["event"] == "run.failed"
    assert body["id"].startswith("evt_") and body["id"] == got.headers["Rollcall-Event-Id"]
    assert body["data"]["run"]["id"] == run.pk
    assert body["data"]["run"]["failure_reason"] == "credentials"
    assert body["data"]["organization"] == {"id": listeners.org.pk, "name": "Alpha District"}
    assert CANARY not in got.body.decode()
    assert attempts(hook) == [(1, DeliveryStatus.SUCCEEDED, 200)]
    assert WebhookDelivery.objects.get(endpoint=hook).duration_ms is not None


def test_webhook_signature_fails_with_another_secret(receiver, listeners, finish):
    receiver.secret = "not-the-endpoints-secret-at-all"
    endpoint(receiver.url(), listeners.org)
    finish(finished_run(listeners.config, NOW, reason="credentials"))
    assert [r.signature_ok for r in receiver.received] == [False]


def test_webhook_signature_helper_matches_the_receiver():
    body = b'{"a":1}'
    header = webhooks.signature(WEBHOOK_SECRET, 1_700_000_000, body)
    assert webhooks.signature_valid(WEBHOOK_SECRET, "1700000000", body, header, now=1_700_000_010)
    assert not webhooks.signature_valid(
        WEBHOOK_SECRET, "1700000000", body + b" ", header, now=1_700_000_010
    )
    assert not webhooks.signature_valid(
        WEBHOOK_SECRET, "1700000000", body, header, now=1_700_009_999
    )


def test_webhook_only_subscribed_enabled_endpoints_of_the_organization_or_global(
    receiver, other_receiver, listeners, finish
):
    mine = endpoint(receiver.url("/alpha"), listeners.org, events=["run.failed", "run.held"])
    endpoint(receiver.url("/succeeded-only"), listeners.org, events=["run.succeeded"])
    endpoint(receiver.url("/disabled"), listeners.org, enabled=False)
    endpoint(other_receiver.url("/beta"), listeners.other_org)
    everyone = endpoint(receiver.url("/global"), None, events=["run.held"])
    finish(finished_run(listeners.config, NOW, reason="threshold"))
    assert sorted(r.path for r in receiver.received) == ["/alpha", "/global"]
    assert other_receiver.received == []
    assert attempts(mine) == attempts(everyone) == [(1, DeliveryStatus.SUCCEEDED, 200)]
    assert json.loads(receiver.received[0].body)["event"] == "run.held"


def test_webhook_hears_successes_once(receiver, listeners, finish):
    endpoint(receiver.url(), listeners.org, events=["run.succeeded"])
    run = finished_run(listeners.config, NOW, status=RunStatus.SUCCEEDED)
    finish(run)
    finish(run)
    assert len(receiver.received) == 1


def test_webhook_test_event_goes_to_that_endpoint_whatever_it_subscribes_to(
    receiver, listeners, django_capture_on_commit_callbacks
):
    hook = endpoint(receiver.url(), listeners.org, events=["sync.stale"])
    with django_capture_on_commit_callbacks(execute=True):
        webhook_test_send(endpoint=hook, user=listeners.admin)
    (got,) = receiver.received
    assert got.signature_ok and json.loads(got.body)["event"] == EventKind.TEST


# ---------------------------------------------------------------- retries


def test_webhook_500_then_success_is_retried_and_both_attempts_logged(receiver, listeners, finish):
    receiver.then(500)
    hook = endpoint(receiver.url(), listeners.org)
    finish(finished_run(listeners.config, NOW, reason="credentials"))
    assert attempts(hook) == [(1, DeliveryStatus.FAILED, 500), (2, DeliveryStatus.PENDING, None)]
    retry = WebhookDelivery.objects.get(endpoint=hook, attempt=2)
    first = WebhookDelivery.objects.get(endpoint=hook, attempt=1)
    assert first.error == "The endpoint answered HTTP 500."
    # Not due before the first backoff (1 minute) has passed.
    assert webhook_deliveries_due(now=retry.next_attempt_at - timedelta(seconds=1)) == {}
    assert webhook_deliveries_due(now=retry.next_attempt_at) == {"succeeded": 1}
    assert attempts(hook) == [(1, DeliveryStatus.FAILED, 500), (2, DeliveryStatus.SUCCEEDED, 200)]
    assert [r.signature_ok for r in receiver.received] == [True, True]
    ids = {json.loads(r.body)["id"] for r in receiver.received}
    assert len(ids) == 1  # the same event, retried


def test_webhook_backoff_is_exponential_and_bounded(receiver, listeners, finish):
    for _ in range(5):
        receiver.then(503)
    hook = endpoint(receiver.url(), listeners.org)
    finish(finished_run(listeners.config, NOW, reason="credentials"))
    waits = []
    for _ in range(4):
        pending = WebhookDelivery.objects.get(endpoint=hook, status=DeliveryStatus.PENDING)
        previous = WebhookDelivery.objects.get(endpoint=hook, attempt=pending.attempt - 1)
        waits.append(round((pending.next_attempt_at - previous.attempted_at).total_seconds() / 60))
        webhook_delivery_attempt(pending.pk, now=pending.next_attempt_at)
    assert waits == [1, 5, 25, 125]
    assert [a[1] for a in attempts(hook)] == ["failed"] * 4 + ["gave_up"]
    assert len(receiver.received) == 5


def test_webhook_timeout_is_retried_then_given_up_and_logged(receiver, listeners, finish, settings):
    settings.ROLLCALL = {
        **settings.ROLLCALL,
        "WEBHOOK_TIMEOUT": (2, 0.3),
        "WEBHOOK_RETRY_MINUTES": [0],
    }
    receiver.then(200, delay=1.0).then(200, delay=1.0)
    hook = endpoint(receiver.url(), listeners.org)
    finish(finished_run(listeners.config, NOW, reason="credentials"))
    retry = WebhookDelivery.objects.get(endpoint=hook, attempt=2)
    webhook_delivery_attempt(retry.pk)
    assert attempts(hook) == [(1, DeliveryStatus.FAILED, None), (2, DeliveryStatus.GAVE_UP, None)]
    for delivery in WebhookDelivery.objects.filter(endpoint=hook):
        assert "No answer within the timeout" in delivery.error
    assert len(receiver.received) == 2


def test_webhook_redirect_is_not_followed(receiver, other_receiver, listeners, finish):
    receiver.then(302, Location=other_receiver.url("/elsewhere?token=x"))
    hook = endpoint(receiver.url(), listeners.org)
    finish(finished_run(listeners.config, NOW, reason="credentials"))
    first = WebhookDelivery.objects.get(endpoint=hook, attempt=1)
    assert (first.status, first.response_code) == (DeliveryStatus.FAILED, 302)
    assert "redirects are not followed" in first.error
    assert "token" not in first.error
    assert other_receiver.received == []


def test_webhook_to_a_disabled_endpoint_gives_up(receiver, listeners, finish):
    receiver.then(500)
    hook = endpoint(receiver.url(), listeners.org)
    finish(finished_run(listeners.config, NOW, reason="credentials"))
    WebhookEndpoint.objects.filter(pk=hook.pk).update(enabled=False)
    retry = WebhookDelivery.objects.get(endpoint=hook, attempt=2)
    assert webhook_delivery_attempt(retry.pk, now=retry.next_attempt_at) == DeliveryStatus.GAVE_UP
    assert len(receiver.received) == 1


# ---------------------------------------------------------------- where webhooks may go


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://10.0.0.5/", "https:// only"),
        ("https://10.0.0.5/hook", "10.0.0.5, a private address"),
        ("https://192.168.1.20/hook", "a private address"),
        ("https://127.0.0.1/", "127.0.0.1, a loopback address"),
        ("https://localhost/", "a loopback address"),
        ("https://[::1]/", "::1, a loopback address"),
        ("https://169.254.169.254/latest/meta-data", "a link-local address"),
        ("https://[::ffff:10.1.2.3]/", "a private address"),
        ("https://100.64.0.1/", "not a public address"),
        ("https://0.0.0.0/", "not a public address"),
        ("https://user:pass@hooks.example.com/", "Leave user names and passwords out"),
        ("ftp://hooks.example.com/", "Enter an https:// URL"),
    ],
)
def test_webhook_url_refused_outside_tests(settings, url, why):
    settings.ROLLCALL_WEBHOOKS_ALLOW_LOOPBACK = False
    problem = webhooks.url_problem(url)
    assert problem is not None and why in problem


def test_webhook_url_public_address_accepted(settings):
    settings.ROLLCALL_WEBHOOKS_ALLOW_LOOPBACK = False
    assert webhooks.url_problem("https://93.184.215.14/hook") is None


def test_webhook_endpoint_refused_at_save_with_a_clear_message(settings, listeners):
    settings.ROLLCALL_WEBHOOKS_ALLOW_LOOPBACK = False
    with pytest.raises(ValidationError, match="resolves to 127.0.0.1, a loopback address"):
        endpoint("https://localhost:8443/hook", listeners.org)
    assert not WebhookEndpoint.objects.exists()


def test_webhook_refused_again_at_send_time(receiver, listeners, finish, settings):
    """Saved while allowed (or resolving elsewhere), refused when it is sent."""
    hook = endpoint(receiver.url(), listeners.org)
    settings.ROLLCALL_WEBHOOKS_ALLOW_LOOPBACK = False
    finish(finished_run(listeners.config, NOW, reason="credentials"))
    first = WebhookDelivery.objects.get(endpoint=hook, attempt=1)
    assert first.status == DeliveryStatus.FAILED
    assert first.error.startswith("Refused:")
    assert receiver.received == []


def test_webhook_connection_to_a_loopback_peer_refused_even_if_the_name_checked_out(
    receiver, settings, monkeypatch
):
    """DNS rebinding: the name looked public when checked, but the connection reached
    127.0.0.1. The connected address is checked before anything is sent."""
    settings.ROLLCALL_WEBHOOKS_ALLOW_LOOPBACK = False
    monkeypatch.setattr(webhooks, "url_problem", lambda url, resolve=True: None)
    outcome = webhooks.post(receiver.url(), secret=WEBHOOK_SECRET, payload={"x": 1})
    assert not outcome.ok
    assert "Refused: connected to 127.0.0.1, a loopback address" in outcome.error
    assert receiver.received == []


def test_webhook_secret_is_encrypted_at_rest(listeners, receiver):
    from django.db import connection

    hook = endpoint(receiver.url(), listeners.org)
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM notify_webhookendpoint WHERE id = %s", [hook.pk])
        (stored,) = cursor.fetchone()
    assert WEBHOOK_SECRET not in stored
    assert WebhookEndpoint.objects.get(pk=hook.pk).secret == WEBHOOK_SECRET


def test_webhook_readme_example_verifies_what_rollcall_sends(receiver, listeners, finish):
    """The README's verification code, run as written, accepts a real delivery and
    refuses a tampered body."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("## Notifications and webhooks") :]
    code = section[section.index("```python\n") + len("```python\n") :]
    code = code[: code.index("```")]
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102 - the project's own README
    endpoint(receiver.url(), listeners.org)
    finish(finished_run(listeners.config, NOW, reason="credentials"))
    (got,) = receiver.received
    check = namespace["rollcall_signature_ok"]
    assert check(WEBHOOK_SECRET, got.headers, got.body)
    assert not check(WEBHOOK_SECRET, got.headers, got.body + b" ")
    assert not check("another-secret-entirely", got.headers, got.body)
