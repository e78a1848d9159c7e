"""Testing a config's connection: what its source would find, without syncing."""

from __future__ import annotations

from syncs.models import SyncConfig
from syncs.sources import ConnectionReport, source_for


def sync_config_test_connection(*, config: SyncConfig) -> ConnectionReport:
    """Connect to the config's source and say what a sync would find."""
    report = source_for(config.source_kind).test_connection(config)
    if report is None:
        return ConnectionReport(
            ok=False,
            message=f"{config.get_source_kind_display()} have no connection to test.",
        )
    return report
