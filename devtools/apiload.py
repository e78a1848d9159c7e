"""The API under load, for `make bench`: gunicorn, 50 polling clients, a sync at the same time.

What it measures is what district admins and REST clients do all day: poll the sync tab
and a run, half of them with If-None-Match, while the worker re-syncs the district.
Figures per request kind: requests per second, p50 and p99 latency, errors; and whether
"database is locked" appeared anywhere (SQLite has one writer).
"""

from __future__ import annotations

import csv
import re
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
# Clients start over a few seconds, as polling dashboards do, not all in one instant.
SPAWN_PER_SECOND = 10
# gunicorn's threads: 2 workers x 4.
WARM_UP_THREADS = 8
BENCH_USER = "bench-district-admin"


def prepare() -> dict:
    """A district admin of the bench organization with a token, and the run to poll.
    Runs inside Django, against the bench database (bench_sync --step api-setup)."""
    from accounts.models import ApiToken, Membership, MembershipRole, User
    from rostering.models import Organization
    from syncs.models import SyncRun

    org = Organization.objects.get(slug="bench")
    user, _ = User.objects.get_or_create(username=BENCH_USER)
    Membership.objects.get_or_create(
        user=user, organization=org, school=None, role=MembershipRole.DISTRICT_ADMIN
    )
    _row, token = ApiToken.objects.issue(user=user, name="bench", read_only=True)
    run = SyncRun.objects.filter(config__organization=org).order_by("-created_at").first()
    return {"token": token, "org": org.pk, "run": run.pk}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"gunicorn did not answer {url} within {timeout:.0f} s")


def _warm_up(base: str, setup: dict, rounds: int = 5) -> None:
    """Send both requests from as many threads as gunicorn has, a few rounds, before
    the load: the figures are of a running server, not of its first imports and
    connections. A failing request here stops the bench."""
    headers = {"Authorization": f"Bearer {setup['token']}"}
    paths = [
        f"/api/v1/organizations/{setup['org']}/sync-tab/",
        f"/api/v1/sync-runs/{setup['run']}/",
    ]

    def fetch(path: str) -> None:
        request = urllib.request.Request(base + path, headers=headers)
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()

    with ThreadPoolExecutor(max_workers=WARM_UP_THREADS) as pool:
        list(pool.map(fetch, paths * WARM_UP_THREADS * rounds))


def measure(
    *, env: dict, files: list[Path], seconds: int, users: int, out: Path, setup: dict
) -> dict:
    """Serve the API with gunicorn (2 workers), load it with locust for `seconds`, and
    keep a sync running from `files` (alternating, so each one changes records) the
    whole time. Returns the figures."""
    port = _free_port()
    out.mkdir(parents=True, exist_ok=True)
    server_log = out / "gunicorn.log"
    sync_log = out / "syncs.log"
    gunicorn = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--access-logfile",
            "-",
            # Each request's time in ms, so slow ones can be lined up with the syncs' log.
            "--access-logformat",
            '%(t)s "%(r)s" %(s)s %(b)s %(M)sms',
        ],
        env=env,
        stdout=server_log.open("w"),
        stderr=subprocess.STDOUT,
    )
    syncs_done = 0
    try:
        _wait_ready(f"http://127.0.0.1:{port}/healthz")
        _warm_up(f"http://127.0.0.1:{port}", setup)
        load_env = {
            **env,
            "ROLLCALL_BENCH_TOKEN": setup["token"],
            "ROLLCALL_BENCH_ORG": str(setup["org"]),
            "ROLLCALL_BENCH_RUN": str(setup["run"]),
        }
        prefix = out / "locust"
        locust = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                str(LOCUSTFILE),
                "--headless",
                "--users",
                str(users),
                "--spawn-rate",
                str(SPAWN_PER_SECOND),
                # Steady polling is what is measured, not 50 clients connecting in the
                # same instant: the figures count from the moment the last one started.
                "--reset-stats",
                "--run-time",
                f"{seconds + -(-users // SPAWN_PER_SECOND)}s",  # the ramp, then `seconds`
                "--host",
                f"http://127.0.0.1:{port}",
                "--csv",
                str(prefix),
                "--only-summary",
                "--stop-timeout",
                "5",
            ],
            env=load_env,
            stdout=(out / "locust.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        # The worker's part: one sync after another until the load ends.
        with sync_log.open("w") as log:
            while locust.poll() is None:
                path = files[syncs_done % len(files)]
                step = [sys.executable, "manage.py", "bench_sync", "--step", "sync"]
                sync = subprocess.Popen(
                    [*step, "--path", str(path)], env=env, stdout=log, stderr=subprocess.STDOUT
                )
                while sync.poll() is None and locust.poll() is None:
                    time.sleep(0.5)
                if sync.poll() is None:
                    sync.wait(timeout=600)  # let the last one finish: no half-run left
                syncs_done += 1
        locust.wait()
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)
    stats = out / "locust_stats.csv"
    if not stats.exists():
        raise RuntimeError(f"locust wrote no figures; see {out / 'locust.log'}")
    figures = _read_stats(stats)
    logs = "".join(p.read_text(errors="replace") for p in (server_log, sync_log))
    figures["database_is_locked"] = logs.count("database is locked")
    figures["syncs_during_load"] = syncs_done
    figures["server_errors_in_log"] = logs.count("Traceback")
    # The whole run, ramp and warm-up included, which locust's reset figures leave out.
    figures["responses_5xx"] = len(re.findall(r'" 5\d\d ', server_log.read_text(errors="replace")))
    figures["users"] = users
    figures["seconds"] = seconds
    return figures


def _read_stats(path: Path) -> dict:
    """locust's stats CSV: one row per request name, and an "Aggregated" row."""
    by_name = {}
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            by_name[row["Name"]] = {
                "requests": int(row["Request Count"]),
                "errors": int(row["Failure Count"]),
                "rps": round(float(row["Requests/s"]), 1),
                "p50_ms": _number(row["50%"]),
                "p99_ms": _number(row["99%"]),
            }
    return {"requests": by_name}


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


TARGETS_PG = {  # issue #12, PostgreSQL, 100,000 students, 50 clients
    ("sync-tab", "p50_ms"): 50,
    ("sync-tab", "p99_ms"): 250,
    ("sync-run 304", "p50_ms"): 10,
}


def targets(database: str, figures: dict) -> list[dict]:
    checks = []
    requests = figures["requests"]
    if database == "postgresql":
        for (name, key), limit in TARGETS_PG.items():
            value = requests.get(name, {}).get(key)
            if value is not None:
                checks.append(
                    {
                        "target": f"API {name} {key}",
                        "value": value,
                        "limit": limit,
                        "met": value <= limit,
                    }
                )
    total = requests.get("Aggregated", {})
    errors = (total.get("errors") or 0) + figures.get("responses_5xx", 0)
    checks.append(
        {
            "target": f"API errors ({database}; 5xx during the ramp included)",
            "value": errors,
            "limit": 0,
            "met": errors == 0,
        }
    )
    if database == "sqlite":
        checks.append(
            {
                "target": "SQLite 'database is locked' during API load",
                "limit": 0,
                "value": figures["database_is_locked"],
                "met": figures["database_is_locked"] == 0,
            }
        )
    return checks


def render(database: str, figures: dict) -> str:
    lines = [
        f"API load on {database}: {figures['users']} clients for {figures['seconds']} s, "
        f"{figures['syncs_during_load']} sync(s) meanwhile, "
        f"'database is locked' x{figures['database_is_locked']}, "
        f"5xx in the whole run x{figures.get('responses_5xx', 0)}",
        f"   {'request':14} {'count':>7} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6}",
    ]
    for name, r in figures["requests"].items():
        lines.append(
            f"   {name:14} {r['requests']:>7} {r['rps']:>7} {r['p50_ms'] or 0:>7.0f} "
            f"{r['p99_ms'] or 0:>7.0f} {r['errors']:>6}"
        )
    return "\n".join(lines)
