"""Fixtures every tier shares: a small district, its organization, a local-files config,
and `sync`, which writes a district and runs one sync of it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rostering.models import Organization
from syncs.models import SourceKind, SyncConfig, SyncRun
from syncs.services import sync_run_create, sync_run_execute
from tests.builders import District, small_district
from tests.helpers import NOW


@pytest.fixture
def district() -> District:
    return small_district()


@pytest.fixture
def org(db) -> Organization:
    return Organization.objects.create(name="Demo District", slug="demo")


@pytest.fixture
def config(org, tmp_path) -> SyncConfig:
    return SyncConfig.objects.create(
        organization=org,
        name="Local files",
        source_kind=SourceKind.LOCAL_FILES,
        path=str(tmp_path / "roster"),
        deletion_threshold=Decimal("10"),
    )


@pytest.fixture
def sync(config, tmp_path):
    """sync(district, **options) writes the district's files and runs one sync."""

    def run(d: District, *, dry_run: bool = False, threshold=None, schools=None) -> SyncRun:
        d.write(tmp_path / "roster")
        if threshold is not None:
            config.deletion_threshold = Decimal(str(threshold))
        if schools is not None:
            config.school_ids = schools
        config.save()
        return sync_run_execute(run=sync_run_create(config=config, dry_run=dry_run), now=NOW)

    return run
