"""The real worker (issue #6): `manage.py qcluster` processes, not sync mode.

These tests run the shipped settings (config.settings) in subprocesses against a database
of their own: a fresh SQLite file, or, when the suite runs on PostgreSQL, a fresh
PostgreSQL database on the same server. They drive Rollcall only through its commands
(`sync_roster --queue`, `sync_status`, `qcluster`) and read the results with plain SQL.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from tests.helpers import ROOT

pytestmark = pytest.mark.process
MIRROR_TABLES = [
    "rostering_school",
    "rostering_person",
    "rostering_class",
    "rostering_enrollment",
    "rostering_guardianship",
    "accounts_user",
    "accounts_contactdevice",
    "accounts_membership",
]


class Database:
    """The stack's database, read with plain SQL from the test process."""

    def __init__(self, url: str, sqlite_path: Path | None = None) -> None:
        self.url, self.sqlite_path = url, sqlite_path

    def rows(self, sql: str, *params) -> list[tuple]:
        if self.sqlite_path is not None:
            with sqlite3.connect(self.sqlite_path, timeout=30) as conn:
                return conn.execute(sql, params).fetchall()
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute(sql.replace("?", "%s"), params).fetchall()

    def run(self, run_id: int) -> dict:
        (row,) = self.rows(
            "SELECT status, stage, progress_done, progress_total, failure_reason, message, "
            "worker, diagnostics FROM syncs_syncrun WHERE id = ?",
            run_id,
        )
        keys = [
            "status",
            "stage",
            "done",
            "total",
            "failure_reason",
            "message",
            "worker",
            "diagnostics",
        ]
        run = dict(zip(keys, row, strict=True))
        if isinstance(run["diagnostics"], str):  # SQLite keeps JSON as text
            run["diagnostics"] = json.loads(run["diagnostics"])
        return run

    def mirror(self) -> dict[str, list[tuple]]:
        """Every row of the roster and account tables (the state a failed run keeps)."""
        return {
            t: [tuple(map(str, r)) for r in self.rows(f"SELECT * FROM {t} ORDER BY id")]
            for t in MIRROR_TABLES
        }


class Stack:
    """Rollcall's shipped settings in subprocesses: commands and a qcluster."""

    def __init__(self, tmp: Path, db_url: str) -> None:
        self.tmp = tmp
        self.env = {
            k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")
        } | {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "ROLLCALL_VAR_DIR": str(tmp / "var"),
            "DATABASE_URL": db_url,
            "ROLLCALL_HEARTBEAT_SECONDS": "0.3",
            "ROLLCALL_HEARTBEAT_STALE_SECONDS": "4",
            "ROLLCALL_QUEUE_POLL": "0.2",
            "LOG_LEVEL": "WARNING",
        }
        self.cluster: subprocess.Popen | None = None
        self.cluster_log = tmp / "qcluster.log"

    def manage(
        self, *args: str, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"manage.py {' '.join(args)} exited {done.returncode}:\n"
                f"{done.stdout}\n{done.stderr}"
            )
        return done

    def queue(self, org: str, path: Path, *extra: str) -> dict:
        done = self.manage(
            "sync_roster", "--org", org, "--path", str(path), "--queue", "--json", *extra
        )
        return json.loads(done.stdout)

    def start_cluster(self) -> None:
        log = self.cluster_log.open("a")
        self.cluster = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as one
        )

    def stop_cluster(self) -> None:
        if self.cluster is None or self.cluster.poll() is not None:
            return
        os.killpg(self.cluster.pid, signal.SIGINT)  # as Ctrl-C: a clean shutdown
        try:
            self.cluster.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.cluster.pid, signal.SIGKILL)
            self.cluster.wait()

    def log_tail(self) -> str:
        return self.cluster_log.read_text()[-3000:] if self.cluster_log.exists() else ""


def _database(tmp: Path):
    """A database of the suite's kind for the stack; yields (url, Database)."""
    default = settings.DATABASES["default"]
    if "postgresql" not in default["ENGINE"]:
        path = tmp / "stack.sqlite3"
        yield f"sqlite:///{path}", Database(f"sqlite:///{path}", sqlite_path=path)
        return
    import psycopg

    name = f"rollcall_worker_{uuid.uuid4().hex[:10]}"
    auth = default["USER"] + (f":{default['PASSWORD']}" if default.get("PASSWORD") else "")
    server = f"postgres://{auth}@{default['HOST'] or '127.0.0.1'}:{default['PORT'] or 5432}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}", Database(f"{server}/{name}")
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("worker")
    gen = _database(tmp)
    url, db = next(gen)
    s = Stack(tmp, url)
    s.db = db
    s.manage("migrate", "--noinput", timeout=300)
    try:
        yield s
    finally:
        s.stop_cluster()
        gen.close()


@pytest.fixture
def cluster(stack):
    yield stack
    stack.stop_cluster()


def wait_for(predicate, timeout: float, what: str, stack: Stack, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout} s waiting for {what}.\n{stack.log_tail()}")


def test_a_real_worker_runs_a_queued_sync_with_rising_progress_and_one_run_per_config(
    cluster, tmp_path
):
    district = tmp_path / "alpha"
    cluster.manage("generate_district", "--students", "20000", "--out", str(district))
    queued = cluster.queue("alpha", district)
    run_id = queued["run"]["id"]
    assert queued == {"run": {"id": run_id, "status": "queued"}}
    assert cluster.db.run(run_id)["status"] == "queued"  # no worker yet
    again = cluster.queue("alpha", district)
    assert again["run"]["id"] == run_id  # a second trigger while queued

    cluster.start_cluster()
    seen: list[tuple[str, int]] = []
    second_trigger = None

    def finished():
        nonlocal second_trigger
        from syncs.progress import percent

        r = cluster.db.run(run_id)
        pct = percent(r["stage"], r["done"], r["total"], r["status"] in ("succeeded", "failed"))
        if not seen or seen[-1] != (r["status"], pct):
            seen.append((r["status"], pct))
        if r["status"] == "running" and second_trigger is None:
            second_trigger = cluster.queue("alpha", district)  # a trigger during the run
        return r["status"] in ("succeeded", "failed")

    wait_for(finished, 120, f"run {run_id} to finish", cluster)
    result = cluster.db.run(run_id)
    assert result["status"] == "succeeded", result["message"]

    statuses = [status for status, _ in seen]
    order = [s for i, s in enumerate(statuses) if i == 0 or statuses[i - 1] != s]
    assert order == ["queued", "running", "succeeded"] or order == ["running", "succeeded"], seen
    assert second_trigger["run"]["id"] == run_id, (second_trigger, seen)
    running = [pct for status, pct in seen if status == "running"]
    assert running == sorted(running), f"progress went backwards: {seen}"
    assert len(set(running)) >= 3, f"progress did not rise while running: {seen}"
    if cluster.db.sqlite_path is None:
        # PostgreSQL: the heartbeat keeps counting apply's steps while its transaction is
        # open (on SQLite the run's own write lock holds it off until the commit).
        assert any(67 < pct < 97 for pct in running), f"no progress during apply: {seen}"
    assert cluster.db.rows("SELECT count(*) FROM syncs_syncrun")[0][0] == 1
    assert int(result["worker"].rsplit(":", 1)[1]) != cluster.cluster.pid  # a forked worker

    follow = cluster.manage("sync_status", str(run_id), "--wait", "--json")
    assert json.loads(follow.stdout)["run"]["status"] == "succeeded"


def test_a_worker_killed_mid_run_changes_nothing_and_the_reaper_frees_the_config(cluster, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    cluster.manage("generate_district", "--students", "2000", "--seed", "7", "--out", str(first))
    cluster.manage("generate_district", "--students", "20000", "--seed", "8", "--out", str(second))
    cluster.start_cluster()
    done = cluster.queue("beta", first, "--threshold", "100")
    wait_for(
        lambda: cluster.db.run(done["run"]["id"])["status"] == "succeeded",
        120,
        "the first sync",
        cluster,
    )
    before = cluster.db.mirror()

    # The same config now reads a much larger export; kill its worker while it applies.
    run_id = cluster.queue("beta", second, "--threshold", "100")["run"]["id"]
    state = wait_for(
        lambda: (r := cluster.db.run(run_id))["stage"] == "apply" and r,
        120,
        f"run {run_id} to reach the apply stage",
        cluster,
        interval=0.02,
    )
    worker_pid = int(state["worker"].rsplit(":", 1)[1])
    assert worker_pid not in (os.getpid(), cluster.cluster.pid)
    os.kill(worker_pid, signal.SIGKILL)
    time.sleep(0.5)
    assert cluster.db.run(run_id)["status"] == "running"  # nobody has noticed yet
    assert cluster.db.mirror() == before  # the open apply transaction died with it

    # The reaper, queued on the live cluster, fails the run once its heartbeat is stale.
    reap = textwrap.dedent("""
        from django_q.tasks import async_task
        async_task("syncs.tasks.reap_stale_runs")
    """)
    time.sleep(4.5)  # ROLLCALL_HEARTBEAT_STALE_SECONDS=4
    cluster.manage("shell", "-c", reap)
    reaped = wait_for(
        lambda: (r := cluster.db.run(run_id))["status"] == "failed" and r,
        60,
        "the reaper to fail the killed run",
        cluster,
    )
    assert reaped["failure_reason"] == "internal_error"
    assert "worker running this sync stopped" in reaped["message"]
    assert reaped["diagnostics"]["failure"]["error"] == "worker stopped"
    assert cluster.db.mirror() == before

    status = cluster.manage("sync_status", str(run_id), check=False)
    assert status.returncode == 1

    # The config is free again: a new run is taken by the reincarnated worker.
    again = cluster.queue("beta", second, "--threshold", "100")["run"]["id"]
    assert again != run_id
    finished = wait_for(
        lambda: (r := cluster.db.run(again))["status"] in ("succeeded", "failed") and r,
        120,
        "the next run to finish",
        cluster,
    )
    assert finished["status"] == "succeeded", finished["message"]
    assert cluster.db.mirror() != before


def test_twenty_concurrent_triggers_create_exactly_one_run(stack, tmp_path):
    district = tmp_path / "gamma"
    stack.manage("generate_district", "--students", "50", "--out", str(district))
    first_run = stack.queue("gamma", district)["run"]["id"]  # creates org and config
    stack.manage(
        "shell",
        "-c",
        f"from syncs.models import SyncRun; "
        f"SyncRun.objects.filter(pk={first_run}).update(status='failed')",
    )
    script = textwrap.dedent(f"""
        import json, threading
        from django.db import connection
        from syncs.models import SyncRun
        from syncs.services import sync_run_request
        config = SyncRun.objects.get(pk={first_run}).config
        barrier = threading.Barrier(20)
        results, errors = [], []
        def trigger():
            try:
                barrier.wait()
                run, created = sync_run_request(config=config)
                results.append([run.pk, created])
            except Exception as exc:
                errors.append(repr(exc))
            finally:
                connection.close()
        threads = [threading.Thread(target=trigger) for _ in range(20)]
        for t in threads: t.start()
        for t in threads: t.join()
        print(json.dumps({{"results": results, "errors": errors}}))
    """)
    out = json.loads(stack.manage("shell", "-c", script).stdout.strip().splitlines()[-1])
    assert out["errors"] == []
    ids = {run_id for run_id, _ in out["results"]}
    assert len(out["results"]) == 20 and len(ids) == 1, out
    assert sum(created for _, created in out["results"]) == 1
    (count,) = stack.db.rows(
        "SELECT count(*) FROM syncs_syncrun r JOIN syncs_syncconfig c ON c.id = r.config_id "
        "JOIN rostering_organization o ON o.id = c.organization_id "
        "WHERE o.slug = 'gamma' AND r.status = 'queued'"
    )[0]
    assert count == 1
