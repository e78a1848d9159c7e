"""Email notifications over a real SMTP server on 127.0.0.1 (aiosmtpd): who gets one,
the daily digest, repeats held back, and never a secret."""

from __future__ import annotations

from datetime import timedelta

import pytest

from accounts.models import Membership, MembershipRole, User
from notify.models import Notification, NotificationStatus
from notify.services import run_finished
from notify.services.email import digest_cutoff, digests_send
from syncs.models import RecordKind, RunStatus, Severity
from tests.factories import IssueFactory
from tests.helpers import NOW
from tests.notify.conftest import CANARY, body_of, finished_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def finish(django_capture_on_commit_callbacks):
    """run_finished as the hook calls it; the tasks it queues run once it commits."""

    def call(run) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            run_finished(run.pk)

    return call


def test_email_goes_to_immediate_district_admins_and_watchers_only(smtp, listeners, finish):
    """District admin (immediate) and the watching staff get it; `off`, daily (until the
    digest), school admins, other districts' admins and staff who don't watch do not."""
    run = finished_run(listeners.config, NOW, reason="credentials", message="HTTP 401.")
    finish(run)
    assert smtp.recipients == sorted([listeners.admin.email, listeners.watcher.email])
    statuses = dict(Notification.objects.values_list("user__username", "status"))
    assert statuses == {
        "alpha-admin": NotificationStatus.SENT,
        "support-watcher": NotificationStatus.SENT,
        "alpha-daily": NotificationStatus.DIGEST,
    }


def test_email_names_the_reason_the_next_step_and_links_the_run(smtp, listeners, finish):
    run = finished_run(listeners.config, NOW, reason="credentials", message="HTTP 401.")
    finish(run)
    (message,) = smtp.to(listeners.admin.email)
    body = body_of(message)
    assert "Credentials rejected" in message["Subject"]
    assert "Alpha District" in message["Subject"] and "Nightly" in message["Subject"]
    assert "Next steps:" in body
    assert f"http://127.0.0.1:8000/runs/{run.pk}/" in body
    assert message["From"] == "Rollcall <rollcall@example.org>"


def test_email_never_contains_a_secret(smtp, listeners, finish):
    """Every credential field holds the canary, and the run's message repeats it (as a
    server echoing a password might): no email shows it."""
    message = f"The server said: login failed for password={CANARY} and token {CANARY}."
    finish(finished_run(listeners.config, NOW, reason="credentials", message=message))
    finish(finished_run(listeners.config, NOW + timedelta(days=2), reason="threshold"))
    digests_send(now=NOW + timedelta(days=3))
    assert len(smtp.messages) >= 4
    for raw in smtp.raw():
        assert CANARY not in raw
        assert CANARY[:12] not in raw
    assert any("••••" in body for body in smtp.bodies())


def test_email_is_sent_by_a_queued_task_not_by_the_hook(
    smtp, listeners, django_capture_on_commit_callbacks
):
    """run_finished only records and queues: nothing is sent until the task runs."""
    run = finished_run(listeners.config, NOW, reason="invalid_files")
    with django_capture_on_commit_callbacks(execute=False) as queued:
        run_finished(run.pk)
    assert smtp.messages == []
    assert len(queued) == 2  # one email task per immediate recipient
    for callback in queued:
        callback()
    assert len(smtp.messages) == 2


def test_email_once_however_often_the_hook_fires(smtp, listeners, finish):
    run = finished_run(listeners.config, NOW, reason="source_unavailable")
    finish(run)
    finish(run)
    assert len(smtp.to(listeners.admin.email)) == 1


def test_email_none_for_dry_runs_successes_or_other_districts(smtp, listeners, finish):
    finish(finished_run(listeners.config, NOW, reason="credentials", dry_run=True))
    finish(finished_run(listeners.config, NOW, status=RunStatus.SUCCEEDED))
    finish(finished_run(listeners.other_config, NOW, reason="credentials"))
    assert smtp.to(listeners.admin.email) == []
    assert smtp.recipients == [listeners.other_admin.email]


def test_email_for_held_archives_and_a_school_drop(smtp, listeners, finish):
    finish(finished_run(listeners.config, NOW, reason="threshold", message="Too many."))
    ok = finished_run(listeners.config, NOW + timedelta(days=1), status=RunStatus.SUCCEEDED)
    IssueFactory(
        run=ok,
        school_sis_id="0123",
        severity=Severity.ALERT,
        code="school_drop",
        record_kind=RecordKind.SCHOOL,
        message="Active students fell from 500 to 300 (median of the last 7 runs: 498).",
    )
    finish(ok)
    subjects = [m["Subject"] for m in smtp.to(listeners.admin.email)]
    assert len(subjects) == 2
    assert "held back archives" in subjects[0]
    assert "dropped sharply" in subjects[1]
    assert "fell from 500 to 300" in body_of(smtp.to(listeners.admin.email)[1])


def test_digest_sends_a_daily_user_one_email_with_the_days_events(smtp, listeners, finish):
    finish(finished_run(listeners.config, NOW, reason="credentials"))
    finish(finished_run(listeners.config, NOW + timedelta(minutes=5), reason="schools_not_found"))
    assert smtp.to(listeners.daily_admin.email) == []
    later = digest_cutoff(NOW) + timedelta(days=1, minutes=1)
    assert digests_send(now=later) == 1
    (digest,) = smtp.to(listeners.daily_admin.email)
    body = body_of(digest)
    assert "Daily digest: 2 notifications" in digest["Subject"]
    assert "Credentials rejected" in body and "Schools to sync not found" in body
    assert digests_send(now=later + timedelta(minutes=30)) == 0
    assert len(smtp.to(listeners.daily_admin.email)) == 1


def test_digest_waits_for_the_digest_hour(smtp, listeners, finish):
    finish(finished_run(listeners.config, NOW, reason="credentials"))
    assert digests_send(now=NOW + timedelta(minutes=1)) == 0  # before 07:00 in Los Angeles
    assert smtp.to(listeners.daily_admin.email) == []


def test_repeat_same_failure_next_night_is_held_then_reminded_a_day_later(smtp, listeners, finish):
    """Night 1 emails; night 2 (23 h 40 min later, same config and reason) is held;
    night 3 (more than a day after the last email) goes out as a reminder."""
    finish(finished_run(listeners.config, NOW, reason="credentials"))
    finish(
        finished_run(listeners.config, NOW + timedelta(hours=23, minutes=40), reason="credentials")
    )
    assert len(smtp.to(listeners.admin.email)) == 1
    held = Notification.objects.filter(user=listeners.admin).order_by("created_at")
    assert [n.status for n in held] == [NotificationStatus.SENT, NotificationStatus.HELD]

    finish(
        finished_run(listeners.config, NOW + timedelta(hours=48, minutes=10), reason="credentials")
    )
    first, reminder = smtp.to(listeners.admin.email)
    assert "Reminder" not in first["Subject"]
    assert "Reminder, still happening" in reminder["Subject"]


def test_repeat_of_a_different_reason_is_news(smtp, listeners, finish):
    finish(finished_run(listeners.config, NOW, reason="credentials"))
    finish(finished_run(listeners.config, NOW + timedelta(hours=23), reason="invalid_files"))
    assert len(smtp.to(listeners.admin.email)) == 2


def test_repeat_after_a_success_is_news(smtp, listeners, finish):
    finish(finished_run(listeners.config, NOW, reason="credentials"))
    finished_run(listeners.config, NOW + timedelta(hours=12), status=RunStatus.SUCCEEDED)
    finish(finished_run(listeners.config, NOW + timedelta(hours=23), reason="credentials"))
    emails = smtp.to(listeners.admin.email)
    assert len(emails) == 2
    assert "Reminder" not in emails[1]["Subject"]


def test_email_for_a_real_threshold_run_leads_with_the_explanation(
    smtp, sync, district, config, finish
):
    """A run the engine really failed on the threshold: its district admin hears that
    archives were held, with the explainer's headline and next steps."""
    admin = User.objects.create_user("demo-admin", email="demo-admin@example.org")
    Membership.objects.create(
        user=admin, organization=config.organization, role=MembershipRole.DISTRICT_ADMIN
    )
    sync(district)
    run = sync(district.drop_user("s1"), threshold=0)
    assert run.failure_reason == "threshold"
    finish(run)
    (message,) = smtp.to(admin.email)
    body = body_of(message)
    assert "held back archives" in message["Subject"]
    assert "Deletion threshold exceeded" in body
    assert "Next steps:" in body
    assert f"/runs/{run.pk}/" in body
