"""The Clever connection test, from the source and from the admin's action."""

from __future__ import annotations

from syncs.sources import clever_api
from tests.syncs.sources.clever_api.fake_clever import referenced_schools


def test_connection_names_the_district_its_schools_and_missing_school_ids(clever_config, fake):
    schools = referenced_schools(fake.collections["users"], fake.collections["sections"])
    fake.token = clever_config.api_token = "district-token-0123456789abcdef"
    clever_config.school_ids = [schools[0], "5a25ff950a5f621109000099"]
    report = clever_api.test_connection(clever_config)
    assert report.district == "#DEMO_DISTRICT"
    assert report.school_ids == schools
    assert report.missing_school_ids == ["5a25ff950a5f621109000099"]
    assert not report.ok
    assert "#DEMO_DISTRICT" in report.message and "5a25ff950a5f621109000099" in report.message
    assert fake.token not in report.message

    clever_config.school_ids = schools[:2]
    report = clever_api.test_connection(clever_config)
    assert report.ok and report.missing_school_ids == []


def test_connection_with_a_rejected_token_says_so(clever_config):
    clever_config.api_token = "wrong-token-xyz"
    report = clever_api.test_connection(clever_config)
    assert not report.ok
    assert "refused the credentials" in report.message
    assert "wrong-token-xyz" not in report.message


def test_admin_test_connection_action_reaches_clever(admin_client, clever_config, fake):
    from django.urls import reverse

    fake.token = clever_config.api_token = "district-token-0123456789abcdef"
    clever_config.save()
    response = admin_client.post(
        reverse("admin:syncs_syncconfig_changelist"),
        {"action": "test_connection", "_selected_action": [clever_config.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert "#DEMO_DISTRICT" in page
    assert fake.token not in page
