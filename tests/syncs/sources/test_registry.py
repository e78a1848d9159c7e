"""One registry of sources (issue #11): each source declares what the rest of Rollcall
used to look up in tables of its own."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from rostering.models import Organization
from syncs.fields import EncryptedTextField
from syncs.models import RosterFormat, SourceKind, SyncConfig
from syncs.services.configs import sync_config_current, sync_config_upsert
from syncs.sources import REGISTRY, all_sources, source_for, source_for_command


def test_every_source_kind_has_one_registered_source():
    assert set(REGISTRY) == set(SourceKind.values)
    for kind in SourceKind.values:
        assert source_for(kind).kind == kind


@pytest.mark.parametrize("source", all_sources(), ids=lambda s: s.kind)
def test_a_source_declares_real_config_fields_and_its_secrets_are_encrypted(source):
    names = {f.name for f in SyncConfig._meta.get_fields()}
    assert set(source.fields) <= names
    assert set(source.secrets) <= set(source.fields)
    for secret in source.secrets:
        assert isinstance(SyncConfig._meta.get_field(secret), EncryptedTextField)


def test_sync_roster_source_names_are_the_documented_ones():
    commands = [s.command for s in all_sources() if s.command]
    assert commands == ["files", "sftp", "clever", "oneroster"]
    assert source_for_command("sftp").kind == SourceKind.SFTP


def test_only_upload_configs_are_left_out_of_the_nightly_schedule():
    assert [s.kind for s in all_sources() if not s.scheduled] == [SourceKind.UPLOAD]


def test_an_api_source_reads_its_own_format_except_for_uploaded_files():
    config = SyncConfig(source_kind=SourceKind.CLEVER_API, format=RosterFormat.AUTO)
    clever = source_for(SourceKind.CLEVER_API)
    assert clever.format_for(config, uploaded=False) == RosterFormat.CLEVER_API_JSON
    assert clever.format_for(config, uploaded=True) == "auto"
    config.format = RosterFormat.CLEVER_CSV
    files = source_for(SourceKind.LOCAL_FILES)
    assert files.format_for(config, uploaded=False) == RosterFormat.CLEVER_CSV


def test_a_source_without_a_connection_says_so():
    assert source_for(SourceKind.UPLOAD).test_connection(SyncConfig()) is None


@pytest.mark.django_db
def test_sync_config_upsert_creates_then_updates_keeping_what_is_left_out():
    config = sync_config_upsert(
        organization_slug="maple-valley",
        name="SFTP",
        source_kind=SourceKind.SFTP,
        values={"sftp_host": "sftp.example.org", "school_ids": ["0123"]},
    )
    assert config.organization.name == "Maple Valley"
    again = sync_config_upsert(
        organization_slug="maple-valley",
        name="SFTP",
        source_kind=SourceKind.SFTP,
        values={"school_ids": ["0456"]},
    )
    assert again.pk == config.pk
    assert (again.sftp_host, again.school_ids) == ("sftp.example.org", ["0456"])


@pytest.mark.django_db
def test_sync_config_upsert_refuses_invalid_values_and_saves_nothing():
    with pytest.raises(ValidationError, match="time zone"):
        sync_config_upsert(
            organization_slug="maple-valley",
            name="Local files",
            source_kind=SourceKind.LOCAL_FILES,
            values={"time_zone": "Mars/Olympus_Mons"},
        )
    assert not SyncConfig.objects.exists()
    assert not Organization.objects.exists()  # one transaction: nothing half-made
    current = sync_config_current(
        organization_slug="maple-valley", name="Local files", source_kind="local_files"
    )
    assert current.pk is None and current.source_kind == "local_files"
