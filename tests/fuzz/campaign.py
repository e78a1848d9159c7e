"""The long fuzz campaign behind `make fuzz` (tests/fuzz/run.py starts it).

Not collected by `make test` (the file name is not test_*.py): pytest runs it only when
named. It uses pytest-django for a throwaway test database of the suite's kind (SQLite,
or PostgreSQL with DATABASE_URL), runs FUZZ_EXAMPLES Hypothesis examples without
stopping at failures, shrinks one input per distinct failure class, prints the report and
fails if any invariant failed.

Environment: FUZZ_EXAMPLES (10000), FUZZ_SEED (random), FUZZ_SHRINK_BUDGET (runs per
failure class, 150), FUZZ_REPORT (also write the report to this file).
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from hypothesis import HealthCheck, Phase, given, seed, settings

from tests.fuzz.harness import Harness, harness_error
from tests.fuzz.mutations import Recipe, recipes
from tests.fuzz.report import Stats, report, shrink

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10000"))
SEED = int(os.environ.get("FUZZ_SEED") or random.randrange(2**32))
SHRINK_BUDGET = int(os.environ.get("FUZZ_SHRINK_BUDGET", "150"))
PROGRESS_EVERY = 500


def _say(text: str) -> None:
    print(f"[fuzz] {text}", file=sys.stderr, flush=True)


@pytest.mark.django_db(transaction=True)
def test_fuzz_campaign(tmp_path):
    harness = Harness(tmp_path)
    stats = Stats(database=connection.vendor, seed=SEED)
    _say(f"{EXAMPLES} examples on {connection.vendor}, seed {SEED}")

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=(Phase.generate,),
        suppress_health_check=list(HealthCheck),
    )
    @given(recipe=recipes())
    def explore(recipe: Recipe) -> None:
        try:
            outcome = harness.run(recipe)
        except Exception as exc:  # noqa: BLE001 - a bug of the fuzzer: counted, not fatal
            outcome = harness_error(recipe, exc)
            harness.reset()
        stats.add(outcome)
        if stats.tried % PROGRESS_EVERY == 0:
            _say(
                f"{stats.tried}/{EXAMPLES} examples, {stats.rate():.1f}/s, "
                f"{len(stats.classes)} failure class(es) so far"
            )

    started = time.perf_counter()
    explore()
    stats.seconds = time.perf_counter() - started

    minimal = {}
    for n, cls in enumerate(stats.classes.values(), 1):
        _say(f"shrinking failure class {n}/{len(stats.classes)}: {cls.key}")
        minimal[cls.key] = shrink(harness, cls.smallest, cls.key, SHRINK_BUDGET)
    text = report(stats, minimal)
    print("\n" + text, flush=True)
    if os.environ.get("FUZZ_REPORT"):
        Path(os.environ["FUZZ_REPORT"]).write_text(text + "\n")
    if not stats.ok:
        pytest.fail(
            f"{len(stats.classes)} distinct invariant failure(s) in {stats.tried} inputs; "
            "see the report above",
            pytrace=False,
        )
