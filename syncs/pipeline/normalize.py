"""Normalizing a run's devices at once, through the NormalizedDevice memo table.

The rules themselves are pure functions in accounts.devices; this remembers their
results between runs (a nightly re-sync normalizes only the values it has not seen
under the same library versions), which takes the database, so it lives here.
"""

from __future__ import annotations

from collections.abc import Iterable

from accounts import devices
from accounts.models import NormalizedDevice
from syncs.pipeline.bulk import BulkWriter
from syncs.pipeline.sqlsets import filter_in


def normalize_many(kind: str, raws: Iterable[str]) -> dict[str, str | None]:
    """Normalize many raw values at once, through the NormalizedDevice memo table.

    Returns raw -> normalized value (None when unusable) for every non-empty raw.
    """
    # Read from the module at call time: the ruleset and normalizers can be swapped.
    ruleset = devices.RULESET
    wanted = {raw for raw in raws if raw and len(raw) <= devices.MAX_RAW}
    known: dict[str, str | None] = {}
    if wanted:
        rows = filter_in(
            NormalizedDevice.objects.filter(ruleset=ruleset, kind=kind), "raw", wanted
        ).values_list("raw", "value")
        known = {raw: value or None for raw, value in rows}
    misses = sorted(wanted - known.keys())
    normalize = devices.NORMALIZERS[kind]
    for raw in misses:
        known[raw] = normalize(raw)
    if misses:
        BulkWriter().insert_ignoring_conflicts(
            NormalizedDevice,
            ["kind", "raw", "value", "ruleset"],
            [(kind, raw, known[raw] or "", ruleset) for raw in misses],
        )
    return known
