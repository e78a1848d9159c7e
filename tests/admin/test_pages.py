"""Every registered admin page answers 200 for staff, with data from a real sync."""

import pytest
from django.contrib import admin
from django.urls import reverse

from syncs.models import PlannedArchive, SyncRun


@pytest.fixture
def synced(sync, district):
    district.birth_dates["s2"] = ""
    sync(district)
    d = district.drop_user("s1")
    return sync(d, threshold=0)  # blocked by the threshold: planned archives exist


@pytest.mark.django_db
def test_every_admin_changelist_and_change_page_renders(admin_client, synced):
    request = _staff_request()
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        assert admin_client.get(url).status_code == 200, url
        obj = model_admin.get_queryset(request).first()
        if obj is not None:
            url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
            assert admin_client.get(url).status_code == 200, url
        if model_admin.has_add_permission(request):
            url = reverse(f"admin:{meta.app_label}_{meta.model_name}_add")
            assert admin_client.get(url).status_code == 200, url


def _staff_request():
    from django.test import RequestFactory

    from accounts.models import User

    request = RequestFactory().get("/")
    request.user = User.objects.get(username="admin")
    return request


@pytest.mark.django_db
def test_runs_are_read_only_in_the_admin(admin_client, synced):
    url = reverse("admin:syncs_syncrun_change", args=[synced.pk])
    response = admin_client.post(url, {"status": "succeeded"})
    assert response.status_code == 403
    synced.refresh_from_db()
    assert synced.status == "failed"


@pytest.mark.django_db
def test_run_page_links_the_planned_archives_as_safe_csv(admin_client, synced):
    PlannedArchive.objects.filter(run=synced).update(name='=HYPERLINK("x")')
    url = reverse("admin:syncs_syncrun_planned_archives_csv", args=[synced.pk])
    page = admin_client.get(reverse("admin:syncs_syncrun_change", args=[synced.pk]))
    assert url in page.content.decode()
    response = admin_client.get(url)
    body = b"".join(response.streaming_content).decode()
    assert response["Content-Type"].startswith("text/csv")
    assert f"demo-run-{synced.pk}-planned-archives.csv" in response["Content-Disposition"]
    assert "'=HYPERLINK" in body


@pytest.mark.django_db
def test_run_page_approves_blocked_archives_through_the_preview(admin_client, synced):
    total = PlannedArchive.objects.filter(run=synced).count()
    url = reverse("admin:syncs_syncrun_approve", args=[synced.pk])
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url, {"count": str(total)}, follow=True)
    assert response.status_code == 200
    synced.refresh_from_db()
    assert synced.archives_approved_by.username == "admin"


@pytest.mark.django_db
def test_check_for_new_data_queues_a_run_that_the_worker_executes(
    admin_client, config, district, tmp_path, django_capture_on_commit_callbacks
):
    district.write(tmp_path / "roster")
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = admin_client.post(
            reverse("admin:syncs_syncconfig_changelist"),
            {"action": "run_now", "_selected_action": [config.pk]},
            follow=True,
        )
    assert response.status_code == 200
    run = SyncRun.objects.get()
    assert run.status == "queued" and "queued on the worker" in response.content.decode()
    assert len(queued) == 1  # handed to the worker only once the request commits
    queued[0]()  # the worker (sync mode in tests) runs it
    run.refresh_from_db()
    assert run.status == "succeeded"


@pytest.mark.django_db
def test_check_for_new_data_while_a_run_is_queued_returns_that_run(
    admin_client, config, django_capture_on_commit_callbacks
):
    queued = SyncRun.objects.create(config=config)
    response = admin_client.post(
        reverse("admin:syncs_syncconfig_changelist"),
        {"action": "run_now", "_selected_action": [config.pk]},
        follow=True,
    )
    assert SyncRun.objects.get() == queued
    assert f"run #{queued.pk}</a> is already queued; not queued again" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_check_for_new_data_says_when_the_queue_refused_the_run(admin_client, config, monkeypatch):
    def refused(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr("django_q.tasks.async_task", refused)
    response = admin_client.post(
        reverse("admin:syncs_syncconfig_changelist"),
        {"action": "run_now", "_selected_action": [config.pk]},
        follow=True,
    )
    run = SyncRun.objects.get()
    assert (run.status, run.failure_reason) == ("failed", "internal_error")
    page = response.content.decode()
    assert "could not be queued" in page and "queued on the worker" not in page
