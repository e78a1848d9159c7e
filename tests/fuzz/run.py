#!/usr/bin/env python
"""`make fuzz`: fuzz `manage.py sync_roster --json` with hostile roster files.

    .venv/bin/python tests/fuzz/run.py [--examples 10000] [--seed N] [--shrink-budget 150]
                                       [--report FILE]

Runs tests/fuzz/campaign.py under pytest (a throwaway test database: SQLite by default,
PostgreSQL when DATABASE_URL=postgres://... is set), then prints how many inputs were
tried, how each run ended, the count of each invariant violation, examples per second,
and a minimal failing input for each distinct kind of failure. Exits non-zero if any
invariant failed.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--examples",
        type=int,
        default=int(os.environ.get("FUZZ_EXAMPLES") or 10_000),
        help="inputs to try (default 10000, or FUZZ_EXAMPLES)",
    )
    parser.add_argument("--seed", type=int, help="Hypothesis seed (default: random, printed)")
    parser.add_argument(
        "--shrink-budget",
        type=int,
        default=150,
        help="runs spent shrinking each distinct failure (default 150)",
    )
    parser.add_argument("--report", help="also write the report to this file")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    env = {
        **os.environ,
        "FUZZ_EXAMPLES": str(args.examples),
        "FUZZ_SEED": str(seed),
        "FUZZ_SHRINK_BUDGET": str(args.shrink_budget),
        # Every run records events at INFO (notify); thousands of runs would bury the
        # progress lines and the report under them.
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
    }
    if args.report:
        env["FUZZ_REPORT"] = str(Path(args.report).resolve())
    command = [
        sys.executable,
        "-m",
        "pytest",
        "tests/fuzz/campaign.py",
        "-q",
        "-s",
        "--no-header",
        "-p",
        "no:cacheprovider",
    ]
    return subprocess.call(command, cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main())
