"""`make bench` keeps working: target checks, and a tiny end-to-end run on SQLite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from devtools.churn import make_churn
from devtools.generator import generate_district
from devtools.management.commands.bench_sync import render_table, targets

ROOT = Path(__file__).resolve().parents[2]


def scenario(wall, rss=500.0, ratio=2.0):
    return {
        "wall_s": wall,
        "peak_rss_mb": rss,
        "ratio_to_floor": ratio,
        "queries": 40,
        "rows_per_s": 1000,
        "status": "succeeded",
        "failure_reason": None,
    }


def result(db, students, first, no_change=5.0, churn=6.0):
    return {
        "database": db,
        "students": students,
        "rows": 1000,
        "floor": {"parse_s": 1.0, "copy_s": None, "total_s": 1.0, "peak_rss_mb": 100.0},
        "scenarios": {
            "first_sync": scenario(first),
            "no_change": scenario(no_change),
            "dry_run": scenario(no_change),
            "churn": scenario(churn),
        },
    }


def test_targets_report_each_figure_against_its_limit():
    checks = {
        c["target"]: c
        for c in targets(
            [
                result("postgresql", 10_000, 4.0),
                result("postgresql", 100_000, 48.0, 16.0),
                result("sqlite", 100_000, 120.0),
            ]
        )
    }
    assert checks["PostgreSQL 100k first sync (s)"]["met"] is True
    assert checks["PostgreSQL 100k no-change re-sync (s)"]["met"] is False
    assert checks["postgresql 100k / 10k first sync"]["value"] == 12.0
    assert checks["SQLite / PostgreSQL first sync at 100,000"]["value"] == 2.5
    assert checks["SQLite / PostgreSQL first sync at 100,000"]["met"] is False


def test_churn_changes_adds_and_removes_one_percent(tmp_path):
    generate_district(students=300, seed=2, out=tmp_path / "base")
    counts = make_churn(tmp_path / "base", tmp_path / "next", percent=1, seed=2)
    users = (tmp_path / "base" / "users.csv").read_text().count("\n") - 1
    assert counts == {
        "changed": round(users / 100),
        "added": round(users / 100),
        "removed": round(users / 100),
    }


def test_bench_sync_end_to_end_on_sqlite(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", ROLLCALL_VAR_DIR=str(tmp_path))
    done = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "bench_sync",
            "--sizes",
            "60",
            "--databases",
            "sqlite",
            "--out",
            str(tmp_path / "out"),
            # The API load too, briefly: gunicorn, a warm-up, locust and a sync meanwhile.
            "--api-seconds",
            "3",
            "--api-users",
            "4",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "first_sync" in done.stdout and "x floor" in done.stdout
    (report_path,) = (tmp_path / "out").glob("bench-*.json")
    report = json.loads(report_path.read_text())
    (res,) = report["results"]
    assert set(res["scenarios"]) == {"first_sync", "no_change", "dry_run", "churn"}
    assert all(s["status"] == "succeeded" for s in res["scenarios"].values())
    assert res["scenarios"]["no_change"]["queries"] > 0
    api = res["api"]
    assert api["requests"]["sync-tab"]["requests"] > 0
    assert api["requests"]["Aggregated"]["errors"] == 0 and api["responses_5xx"] == 0
    assert api["syncs_during_load"] >= 1 and api["database_is_locked"] == 0
    assert report["machine"]["cores"] >= 1
    assert render_table(report).count("\n") >= 5
