"""`manage.py serve` runs the web server and a worker, and stops both, for real.

Each test starts serve with the production settings module on its own var/ directory
(secret key, field keys, SQLite database, file cache), so the web process sees the
worker's cluster through the shared file cache exactly as under `make run`.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import ROOT

BASE_DIR = ROOT
PROC = Path("/proc")

pytestmark = [
    pytest.mark.process,
    pytest.mark.skipif(not (PROC / "self" / "environ").exists(), reason="needs Linux /proc"),
]


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory) -> Path:
    """A migrated var/ directory shared by this module's tests (one at a time)."""
    path = tmp_path_factory.mktemp("var")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=BASE_DIR,
        env=_env(path),
        check=True,
        timeout=120,
    )
    return path


@pytest.fixture
def serve(var_dir):
    """serve() starts `manage.py serve` on a free port; everything it left is killed after."""
    started = []

    def start() -> "Serve":
        server = Serve(var_dir, _free_port())
        started.append(server)
        return server

    yield start
    for server in started:
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait()
    for pid in _processes_using(var_dir):
        os.kill(pid, signal.SIGKILL)


class Serve:
    def __init__(self, var_dir: Path, port: int):
        self.var_dir = var_dir
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "serve", f"127.0.0.1:{port}"],
            cwd=BASE_DIR,
            env=_env(var_dir),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def pid_of(self, name: str) -> int:
        match = re.search(rf"^{name} pid (\d+)$", self.output, re.M)
        assert match, f"no '{name} pid N' line in:\n{self.output}"
        return int(match[1])

    def wait_until_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"serve exited early:\n{self.output}"
            if _status(f"{self.url}/healthz") == 200 and _status(f"{self.url}/readyz") == 200:
                return
            time.sleep(0.2)
        pytest.fail(f"/readyz not 200 within {timeout} s:\n{self.output}")

    def wait_for_output(self, text: str, timeout: float = 5) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            if time.monotonic() > deadline:
                pytest.fail(f"{text!r} not printed within {timeout} s:\n{self.output}")
            time.sleep(0.1)

    def wait(self, timeout: float = 15) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"serve still running after {timeout} s:\n{self.output}")


def test_serve_answers_probes_then_stops_everything_on_ctrl_c(serve):
    server = serve()
    server.wait_until_ready()
    web, worker = server.pid_of("web"), server.pid_of("worker")
    server.wait_for_output(f"Rollcall is serving {server.url}/admin/ with a worker (pid {worker})")
    # Each child leads its own process group (Ctrl-C is serve's to pass on), in serve's
    # session, where the worker's nice value counts against the web server's.
    for child in (web, worker):
        assert os.getpgid(child) == child
        assert os.getsid(child) == os.getsid(server.proc.pid)

    server.proc.send_signal(signal.SIGINT)

    assert server.wait() == 0, server.output
    assert "Traceback" not in server.output
    assert server.lines[-1] == "Stopped."
    assert not _alive(web) and not _alive(worker)
    assert _processes_using(server.var_dir) == []


def test_serve_stops_the_web_server_when_the_worker_dies(serve):
    server = serve()
    server.wait_until_ready()
    web, worker = server.pid_of("web"), server.pid_of("worker")

    os.kill(worker, signal.SIGKILL)

    assert server.wait() != 0
    assert f"The worker (pid {worker}) stopped with exit code -9" in server.output
    assert "Traceback" not in server.output
    assert not _alive(web)
    # qcluster's sentinel and workers, orphaned by the kill, are gone too.
    assert _processes_using(server.var_dir) == []


def _env(var_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("REDIS_URL", "SECRET_KEY")
        and not k.startswith(("DJANGO_", "ROLLCALL_", "FIELD_ENCRYPTION_"))
    }
    # Spelled out rather than unset, so no .env file can point serve at another database.
    env["DATABASE_URL"] = f"sqlite:///{var_dir / 'rollcall.sqlite3'}"
    env["REDIS_URL"] = ""
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    env["ROLLCALL_VAR_DIR"] = str(var_dir)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def _alive(pid: int) -> bool:
    """True if pid runs (a zombie waiting for its reaper counts as gone)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _processes_using(var_dir: Path) -> list[int]:
    """Live processes whose environment points at var_dir: all of serve's children."""
    marker = f"ROLLCALL_VAR_DIR={var_dir}".encode()
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0") and _alive(int(entry.name)):
            found.append(int(entry.name))
    return found
