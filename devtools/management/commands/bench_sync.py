"""python manage.py bench_sync: time syncs of generated districts (`make bench`).

For each database (SQLite, and PostgreSQL when reachable; or only DATABASE_URL when set)
and each size, it resets a dedicated bench database, then times in separate processes:
the floor (csv parse + COPY), a first full sync, a no-change re-sync, a dry run of the
next night's files (1% of people changed, 1% added, 1% removed) and that churn re-sync.
Then, at the largest size, the API under load (devtools.apiload): gunicorn with 2
workers, 50 polling clients for 60 s, and a sync running meanwhile.
Prints a table and writes a JSON file so two runs can be compared.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import environ
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from devtools import apiload, bench
from devtools.churn import make_churn
from devtools.generator import generate_district
from syncs.priority import lower_cpu_priority

SCENARIOS = (
    ("first_sync", "base", False),
    ("no_change", "base", False),
    ("dry_run", "churn", True),
    ("churn", "churn", False),
)
BENCH_DB = "rollcall_bench"
PG_DEFAULT = "postgres://postgres@127.0.0.1:5432/test"


class Command(BaseCommand):
    help = "Benchmark syncs of generated districts; prints a table and writes JSON."

    def add_arguments(self, parser):
        parser.add_argument(
            "--sizes",
            default="10000,100000",
            help="Comma-separated student counts (default 10000,100000).",
        )
        parser.add_argument("--huge", action="store_true", help="Also 300,000 students.")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--out", default="bench-results", help="Folder for the JSON file.")
        parser.add_argument("--databases", help="sqlite,postgres (default: both, or DATABASE_URL).")
        parser.add_argument(
            "--api-seconds",
            type=int,
            default=60,
            help="How long the API load runs at the largest size (0: no API load).",
        )
        parser.add_argument("--api-users", type=int, default=50, help="Polling API clients.")
        # Internal: one measured step in a fresh process.
        parser.add_argument(
            "--step", choices=["floor", "sync", "dry", "api-setup"], help="(internal)"
        )
        parser.add_argument("--path", help="(internal)")

    def handle(self, *args, **opts):
        if opts["step"]:
            return self._step(opts["step"], Path(opts["path"]))
        try:
            sizes = [int(s) for s in opts["sizes"].split(",") if s.strip()]
        except ValueError:
            raise CommandError("--sizes takes whole numbers, e.g. 10000,100000") from None
        if opts["huge"]:
            sizes.append(300_000)
        databases = self._databases(opts["databases"])
        work = Path(settings.VAR_DIR) / "bench"
        work.mkdir(parents=True, exist_ok=True)
        report = {
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": {
                "cores": os.cpu_count(),
                "platform": platform.platform(),
                "python": platform.python_version(),
                "memory_gb": round(
                    os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1
                ),
            },
            "results": [],
        }
        for size in sizes:
            base, churn, rows = self._files(work, size, opts["seed"])
            for name, url in databases:
                self.stdout.write(f"== {size:,} students on {name}")
                result = {"database": name, "students": size, "rows": rows, "scenarios": {}}
                env = {**os.environ, "DATABASE_URL": url}
                self._reset(url, work)
                subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], env=env, check=True)
                result["floor"] = self._run_step(env, "floor", base)
                for scenario, files, dry in SCENARIOS:
                    path = base if files == "base" else churn
                    figures = self._run_step(env, "dry" if dry else "sync", path)
                    figures["rows_per_s"] = (
                        round(rows / figures["wall_s"]) if figures["wall_s"] else None
                    )
                    figures["ratio_to_floor"] = round(
                        figures["wall_s"] / result["floor"]["total_s"], 2
                    )
                    result["scenarios"][scenario] = figures
                    self.stdout.write(
                        f"   {scenario:11} {figures['wall_s']:8.2f} s  {figures['status']}"
                        f"  {figures['queries']} queries  {figures['peak_rss_mb']} MB"
                    )
                if size == max(sizes) and opts["api_seconds"] > 0:
                    result["api"] = self._api_load(env, name, [base, churn], work, opts)
                report["results"].append(result)
        report["targets"] = targets(report["results"])
        for r in report["results"]:
            if "api" in r:
                report["targets"] += apiload.targets(r["database"], r["api"])
        out = Path(opts["out"])
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
        path.write_text(json.dumps(report, indent=2))
        self.stdout.write("")
        self.stdout.write(render_table(report))
        self.stdout.write(f"\nJSON: {path}")

    # -- orchestration ---------------------------------------------------------------

    def _databases(self, wanted: str | None) -> list[tuple[str, str]]:
        if os.environ.get("DATABASE_URL") and not wanted:
            url = os.environ["DATABASE_URL"]
            return [(_vendor(url), _bench_url(url))]
        names = [w.strip() for w in (wanted or "sqlite,postgres").split(",") if w.strip()]
        out = []
        for name in names:
            if name == "sqlite":
                out.append(
                    (
                        "sqlite",
                        "sqlite:///" + str(Path(settings.VAR_DIR) / "bench" / "bench.sqlite3"),
                    )
                )
            elif name == "postgres":
                url = os.environ.get("BENCH_POSTGRES_URL", PG_DEFAULT)
                if _pg_reachable(url):
                    out.append(("postgresql", _bench_url(url)))
                elif wanted:
                    raise CommandError(f"PostgreSQL at {url} is not reachable.")
                else:
                    self.stdout.write("PostgreSQL not reachable; benchmarking SQLite only.")
            else:
                raise CommandError(f"Unknown database {name!r}: use sqlite or postgres.")
        return out

    def _files(self, work: Path, size: int, seed: int) -> tuple[Path, Path, int]:
        base = work / f"district-{size}-s{seed}"
        churn = work / f"district-{size}-s{seed}-churn"
        if not (base / "enrollments.csv").exists():
            self.stdout.write(f"Generating {size:,} students into {base} ...")
            generate_district(students=size, seed=seed, out=base)
        if not (churn / "enrollments.csv").exists():
            make_churn(base, churn, percent=1, seed=seed)
        return base, churn, bench.count_rows(base)

    def _reset(self, url: str, work: Path) -> None:
        if url.startswith("sqlite"):
            db = Path(url.removeprefix("sqlite:///"))
            for suffix in ("", "-wal", "-shm"):
                Path(str(db) + suffix).unlink(missing_ok=True)
            return
        import psycopg

        config = environ.Env.db_url_config(url)
        admin = dict(
            host=config["HOST"],
            port=config["PORT"] or 5432,
            user=config["USER"],
            password=config["PASSWORD"] or None,
            dbname="postgres",
            autocommit=True,
        )
        with psycopg.connect(**admin) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{config["NAME"]}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{config["NAME"]}"')

    def _run_step(self, env: dict, step: str, path: Path) -> dict:
        done = subprocess.run(
            [sys.executable, "manage.py", "bench_sync", "--step", step, "--path", str(path)],
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise CommandError(f"bench step {step} failed:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    def _api_load(self, env: dict, name: str, files: list[Path], work: Path, opts) -> dict:
        done = subprocess.run(
            [sys.executable, "manage.py", "bench_sync", "--step", "api-setup", "--path", "-"],
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise CommandError(f"API load set-up failed:\n{done.stderr[-3000:]}")
        setup = json.loads(done.stdout.strip().splitlines()[-1])
        self.stdout.write(
            f"   api load   {opts['api_users']} clients for {opts['api_seconds']} s ..."
        )
        figures = apiload.measure(
            env=env,
            files=files,
            seconds=opts["api_seconds"],
            users=opts["api_users"],
            out=work / f"api-{name}",
            setup=setup,
        )
        self.stdout.write(apiload.render(name, figures))
        return figures

    # -- one measured step (fresh process) ------------------------------------------

    def _step(self, step: str, path: Path) -> None:
        if step == "api-setup":
            self.stdout.write(json.dumps(apiload.prepare()))
            return
        if step != "floor":
            lower_cpu_priority()  # as the worker's run_sync does
        if step == "floor":
            figures = bench.floor(path)
        else:
            figures = bench.sync_once(path=path, dry_run=step == "dry")
        self.stdout.write(json.dumps(figures))


def _vendor(url: str) -> str:
    return "postgresql" if url.startswith(("postgres", "pgsql")) else "sqlite"


def _bench_url(url: str) -> str:
    """The same server, a dedicated database: the bench drops and recreates it."""
    if not url.startswith(("postgres", "pgsql")):
        return "sqlite:///" + str(Path(settings.VAR_DIR) / "bench" / "bench.sqlite3")
    head, _, tail = url.rpartition("/")
    query = tail.partition("?")[2]
    return f"{head}/{BENCH_DB}" + (f"?{query}" if query else "")


def _pg_reachable(url: str) -> bool:
    import psycopg

    config = environ.Env.db_url_config(url)
    try:
        psycopg.connect(
            host=config["HOST"],
            port=config["PORT"] or 5432,
            user=config["USER"],
            password=config["PASSWORD"] or None,
            dbname=config["NAME"],
            connect_timeout=3,
        ).close()
    except psycopg.Error:
        return False
    return True


TARGETS = {  # DESIGN §9 and issue #3, PostgreSQL at 100,000 students
    "first_sync_s": 60,
    "no_change_s": 15,
    "churn_s": 20,
    "peak_rss_mb": 1536,
    "ratio_to_floor": 3,
    "linear_100k_over_10k": 11,
    "sqlite_over_postgres": 2,
}


def targets(results: list[dict]) -> list[dict]:
    """Each target with the measured figure and whether it is met."""
    by = {(r["database"], r["students"]): r for r in results}
    checks = []

    def check(name: str, value, limit) -> None:
        if value is not None:
            checks.append({"target": name, "value": value, "limit": limit, "met": value <= limit})

    pg = by.get(("postgresql", 100_000))
    if pg:
        s = pg["scenarios"]
        check("PostgreSQL 100k first sync (s)", s["first_sync"]["wall_s"], TARGETS["first_sync_s"])
        check(
            "PostgreSQL 100k no-change re-sync (s)",
            s["no_change"]["wall_s"],
            TARGETS["no_change_s"],
        )
        check("PostgreSQL 100k 1% churn re-sync (s)", s["churn"]["wall_s"], TARGETS["churn_s"])
        check(
            "PostgreSQL 100k peak RSS (MB)",
            max(x["peak_rss_mb"] for x in s.values()),
            TARGETS["peak_rss_mb"],
        )
        check(
            "PostgreSQL 100k first sync / floor",
            s["first_sync"]["ratio_to_floor"],
            TARGETS["ratio_to_floor"],
        )
    for db in ("postgresql", "sqlite"):
        small, large = by.get((db, 10_000)), by.get((db, 100_000))
        if small and large:
            ratio = (
                large["scenarios"]["first_sync"]["wall_s"]
                / small["scenarios"]["first_sync"]["wall_s"]
            )
            check(f"{db} 100k / 10k first sync", round(ratio, 2), TARGETS["linear_100k_over_10k"])
    for size in sorted({r["students"] for r in results}):
        lite, pg = by.get(("sqlite", size)), by.get(("postgresql", size))
        if lite and pg:
            ratio = (
                lite["scenarios"]["first_sync"]["wall_s"] / pg["scenarios"]["first_sync"]["wall_s"]
            )
            check(
                f"SQLite / PostgreSQL first sync at {size:,}",
                round(ratio, 2),
                TARGETS["sqlite_over_postgres"],
            )
    return checks


def render_table(report: dict) -> str:
    lines = [
        f"{'database':11} {'students':>8} {'scenario':11} {'seconds':>8} {'rows/s':>9} "
        f"{'peak MB':>8} {'queries':>8} {'x floor':>8} status"
    ]
    for r in report["results"]:
        f = r["floor"]
        lines.append(
            f"{r['database']:11} {r['students']:>8,} {'floor':11} {f['total_s']:>8.2f} "
            f"{round(r['rows'] / f['total_s']) if f['total_s'] else 0:>9,} {f['peak_rss_mb']:>8} "
            f"{'':>8} {'1.00':>8} parse {f['parse_s']} s"
            + (f" + COPY {f['copy_s']} s" if f["copy_s"] is not None else "")
        )
        for name, s in r["scenarios"].items():
            lines.append(
                f"{'':11} {'':>8} {name:11} {s['wall_s']:>8.2f} {s['rows_per_s'] or 0:>9,} "
                f"{s['peak_rss_mb']:>8} {s['queries']:>8} {s['ratio_to_floor']:>8} "
                f"{s['status']}{' ' + s['failure_reason'] if s['failure_reason'] else ''}"
            )
    lines.append("")
    for t in report["targets"]:
        lines.append(
            f"{'MET ' if t['met'] else 'MISS'} {t['target']}: {t['value']} (limit {t['limit']})"
        )
    return "\n".join(lines)
