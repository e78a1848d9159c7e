"""Organizations and sync configs, created or changed from outside the admin: the
`sync_roster` command today, the API next. One place validates them (`full_clean`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from rostering.models import Organization
from syncs.models import SyncConfig


def sync_config_current(*, organization_slug: str, name: str, source_kind: str) -> SyncConfig:
    """The organization's config of that name as it stands, or, when the organization
    or the config does not exist yet, a new unsaved one with the defaults (so a caller
    can check its input against what the config will hold)."""
    config = (
        SyncConfig.objects.select_related("organization")
        .filter(organization__slug=organization_slug, name=name)
        .first()
    )
    return config or SyncConfig(name=name, source_kind=source_kind)


@transaction.atomic
def sync_config_upsert(
    *,
    organization_slug: str,
    name: str,
    source_kind: str,
    values: Mapping[str, Any],
    organization_name: str = "",
) -> SyncConfig:
    """Create the organization and its config when missing, then set `values` on the
    config (fields left out keep what it has), validate and save it. An organization
    created here is named `organization_name`, else after its slug."""
    org, _ = Organization.objects.get_or_create(
        slug=organization_slug,
        defaults={"name": organization_name or organization_slug.replace("-", " ").title()},
    )
    config = SyncConfig.objects.filter(organization=org, name=name).first()
    if config is None:
        config = SyncConfig(organization=org, name=name, source_kind=source_kind)
    for field, value in values.items():
        setattr(config, field, value)
    config.full_clean()
    config.save()
    return config
