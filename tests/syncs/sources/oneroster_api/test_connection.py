"""The OneRoster connection test: the organization, its schools and those not found."""

from __future__ import annotations

from syncs.sources import oneroster_api
from tests.syncs.sources.oneroster_api.fake_oneroster import SECRET, api_config


def test_connection_reports_org_and_missing_schools(config, server, page_size):
    api_config(config, server, school_ids=["0123", "456"])
    report = oneroster_api.test_connection(config)
    assert report.ok
    assert report.organization == "District"
    assert report.schools == ["0123"]
    assert report.missing_schools == ["456"]
    assert report.near_matches == {"456": ["0456"]}
    assert "456 (did you mean 0456?)" in report.message
    assert SECRET not in report.message


def test_connection_with_wrong_secret(config, oauth2_server, page_size):
    api_config(config, oauth2_server)
    oauth2_server.secret = "another"
    report = oneroster_api.test_connection(config)
    assert not report.ok
    assert "refused" in report.message
    assert SECRET not in report.message
