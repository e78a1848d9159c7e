"""An organization still named after its slug takes the district's name from the files
when a run applies (issue 13); a name someone chose is never replaced."""

from __future__ import annotations

import pytest

from rostering.models import Organization
from syncs.services import sync_run_create, sync_run_execute
from syncs.services.configs import sync_config_upsert
from tests.builders import small_district
from tests.helpers import NOW, ROSTER_SAMPLES
from tests.syncs.formats.test_district_name import clever_sample_pull


def sync_new_org(tmp_path, folder, *, fmt="auto", name="", dry_run=False) -> Organization:
    """What `sync_roster` does for a new district: create the organization and its config
    (named after the slug unless told), then sync."""
    config = sync_config_upsert(
        organization_slug="lincoln-usd",
        name="Nightly",
        source_kind="local_files",
        values={"path": str(folder), "format": fmt, "deletion_threshold": 100},
        organization_name=name,
    )
    run = sync_run_execute(run=sync_run_create(config=config, dry_run=dry_run), now=NOW)
    assert run.status == "succeeded", run.message
    return Organization.objects.get(slug="lincoln-usd")


def named_district(tmp_path, name="Lincoln Unified School District"):
    folder = small_district().write(tmp_path / "roster")
    path = folder / "orgs.csv"
    path.write_text(path.read_text().replace(",District,", f",{name},", 1))
    return folder


@pytest.mark.django_db
def test_an_organization_named_after_its_slug_takes_the_district_name(tmp_path):
    org = sync_new_org(tmp_path, named_district(tmp_path))
    assert org.name == "Lincoln Unified School District"


@pytest.mark.django_db
@pytest.mark.parametrize("old", ["", "lincoln-usd", "LINCOLN USD"])
def test_an_empty_or_slug_name_is_replaced_too(tmp_path, old):
    org = Organization.objects.create(slug="lincoln-usd", name=old)
    assert sync_new_org(tmp_path, named_district(tmp_path)).pk == org.pk
    org.refresh_from_db()
    assert org.name == "Lincoln Unified School District"


@pytest.mark.django_db
def test_a_chosen_name_is_kept(tmp_path):
    org = sync_new_org(tmp_path, named_district(tmp_path), name="Lincoln USD (pilot)")
    assert org.name == "Lincoln USD (pilot)"


@pytest.mark.django_db
def test_a_dry_run_names_nothing(tmp_path):
    org = sync_new_org(tmp_path, named_district(tmp_path), dry_run=True)
    assert org.name == "Lincoln Usd"


@pytest.mark.django_db
@pytest.mark.skipif(not ROSTER_SAMPLES.exists(), reason="../shared/roster-samples is missing")
def test_the_recorded_clever_demo_names_its_organization(tmp_path):
    folder = clever_sample_pull(tmp_path)
    org = sync_new_org(tmp_path, folder, fmt="clever_api_json")
    assert org.name == "#DEMO_DISTRICT"


@pytest.mark.django_db
@pytest.mark.skipif(not ROSTER_SAMPLES.exists(), reason="../shared/roster-samples is missing")
def test_files_without_a_district_name_leave_the_slug_name(tmp_path):
    org = sync_new_org(tmp_path, ROSTER_SAMPLES / "oea-m365-generated")
    assert org.name == "Lincoln Usd"
