"""A run's stages and their share of its time: the overall percentage, as plain data.

Pure (no Django), so the run model, the progress tracker and the terminal all read the
same weights without importing one another.
"""

from __future__ import annotations

# Share of a typical run's time per stage (from the benchmark's stage timings), so the
# overall percentage rises steadily instead of jumping at the slow stages.
STAGE_WEIGHTS = {
    "queued": 0,
    "fetch": 10,
    "parse": 25,
    "scope": 2,
    "validate": 15,
    "devices": 5,
    "plan": 8,
    "guard": 2,
    "apply": 30,
    "report": 3,
    "done": 0,
}
_BEFORE: dict[str, int] = {}
_total = 0
for _stage, _weight in STAGE_WEIGHTS.items():
    _BEFORE[_stage] = _total
    _total += _weight


def percent(stage: str, done: int, total: int, finished: bool = False) -> int:
    """The overall percentage for a run in `stage` with `done` of `total` records."""
    if finished or stage == "done":
        return 100
    within = min(done / total, 1.0) if total else 0.0
    return min(99, int(_BEFORE.get(stage, 0) + STAGE_WEIGHTS.get(stage, 0) * within))
