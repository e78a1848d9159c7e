"""Writes the API makes that no engine service covers yet."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from syncs.models import SyncConfig

SECRETS = ("sftp_password", "sftp_private_key", "api_token", "oauth_client_secret")


@transaction.atomic
def sync_config_update(*, config: SyncConfig, values: Mapping[str, Any]) -> SyncConfig:
    """Set `values` on `config`, validate the whole config (`full_clean`) and save only
    those fields, so the pre-flight's own writes meanwhile are kept. Raises Django's
    ValidationError (field -> messages) and saves nothing when the result is invalid.

    Secrets not being set are left out of validation: the config may have been loaded
    without them (never decrypted), and they are not changing.
    """
    for name, value in values.items():
        setattr(config, name, value)
    config.full_clean(exclude=[s for s in SECRETS if s not in values])
    if values:
        config.save(update_fields=list(values))
    return config
