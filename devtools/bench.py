"""Benchmark measurements (`make bench`): one scenario per process, figures as plain dicts.

A scenario runs in a fresh process so its peak RSS is its own. The floor is what reading
the same files costs with nothing but the csv module, plus (PostgreSQL) COPY of every
parsed row into an unlogged staging table: no sync can be cheaper than that.
"""

from __future__ import annotations

import csv
import resource
import time
from collections.abc import Callable
from pathlib import Path

from django.db import connection


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


class QueryCounter:
    """Counts statements sent to the database (executemany counts once)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Callable, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def count_rows(folder: Path) -> int:
    total = 0
    for path in sorted(folder.glob("*.csv")):
        if path.name == "manifest.csv":
            continue
        with path.open(newline="", encoding="utf-8") as f:
            total += sum(1 for _ in csv.reader(f)) - 1
    return total


def floor(folder: Path) -> dict:
    """Parse every file with the csv module alone; on PostgreSQL also COPY the rows."""
    files = [p for p in sorted(folder.glob("*.csv")) if p.name != "manifest.csv"]
    started = time.perf_counter()
    parsed = {}
    for path in files:
        with path.open(newline="", encoding="utf-8") as f:
            parsed[path] = list(csv.reader(f))
    parse_s = time.perf_counter() - started
    copy_s = None
    if connection.vendor == "postgresql":
        started = time.perf_counter()
        with connection.cursor() as cur:
            for i, rows in enumerate(parsed.values()):
                header, body = rows[0], rows[1:]
                table = f"bench_floor_{i}"
                cols = ", ".join(f"c{n} text" for n in range(len(header)))
                cur.execute(f"DROP TABLE IF EXISTS {table}")
                cur.execute(f"CREATE UNLOGGED TABLE {table} ({cols})")
                with cur.copy(f"COPY {table} FROM STDIN") as copy:
                    for row in body:
                        copy.write_row(row)
                cur.execute(f"DROP TABLE {table}")
        copy_s = time.perf_counter() - started
    return {
        "parse_s": round(parse_s, 3),
        "copy_s": round(copy_s, 3) if copy_s is not None else None,
        "total_s": round(parse_s + (copy_s or 0), 3),
        "peak_rss_mb": peak_rss_mb(),
    }


def sync_once(*, path: Path, dry_run: bool, threshold: str = "10") -> dict:
    """Sync `path` into the `bench` organization once and measure it."""
    from rostering.models import Organization
    from syncs.models import SourceKind, SyncConfig
    from syncs.services import sync_run_create, sync_run_execute

    org, _ = Organization.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    config, _ = SyncConfig.objects.get_or_create(
        organization=org, name="bench", defaults={"source_kind": SourceKind.LOCAL_FILES}
    )
    config.path = str(path)
    config.deletion_threshold = threshold
    config.save()
    run = sync_run_create(config=config, dry_run=dry_run)
    counter = QueryCounter()
    started = time.perf_counter()
    with connection.execute_wrapper(counter):
        run = sync_run_execute(run=run)
    wall = time.perf_counter() - started
    return {
        "wall_s": round(wall, 3),
        "queries": counter.count,
        "peak_rss_mb": peak_rss_mb(),
        "status": run.status,
        "failure_reason": run.failure_reason or None,
        "stages": run.timings,
        "changes": {
            kind: {
                k: v
                for k, v in c.items()
                if k in ("created", "updated", "archived", "unarchived") and v
            }
            for kind, c in run.counts.items()
        },
    }
