"""`manage.py serve [HOST:PORT]`: the web server and a worker, started and stopped together."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.core.management.commands.runserver import naiveip_re

# How long each child gets to shut down after SIGINT before its process group is killed.
STOP_TIMEOUT = 10.0
POLL_SECONDS = 0.2
# os.waitid, to see that a child exited without reaping it, is missing on macOS before
# Python 3.13; there serve reaps at once and sweeps the group by its id all the same.
_CAN_PEEK = hasattr(os, "waitid")


class Child:
    """One child command, started as the leader of its own process group."""

    def __init__(self, name: str, argv: list[str]):
        self.name = name
        # A process group of its own: a terminal's Ctrl-C reaches serve only, which then
        # stops each child on purpose (and qcluster's forked processes with it). Still
        # serve's session: Linux schedules sessions against each other (autogroup), and
        # the worker's lower priority for syncs (syncs.priority) only counts against the
        # web server inside one.
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, process_group=0)
        self.pid = self.proc.pid

    def has_exited(self) -> bool:
        if self.proc.returncode is not None:
            return True
        if not _CAN_PEEK:
            return self.proc.poll() is not None
        # WNOWAIT leaves the exited leader a zombie, so its pid (the group id) cannot be
        # reused before reap() has swept the rest of its group.
        try:
            flags = os.WEXITED | os.WNOHANG | os.WNOWAIT
            return os.waitid(os.P_PID, self.pid, flags) is not None
        except ChildProcessError:
            return True

    def signal_group(self, signum: int) -> None:
        if self.proc.returncode is not None and _CAN_PEEK:
            return  # reaped: the group id may belong to someone else now
        try:
            os.killpg(self.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass  # the group is empty (or only the zombie leader is left)

    def reap(self) -> int:
        # Whatever is left in the group once its leader has exited is an orphan, such as
        # qcluster's sentinel and workers after qcluster itself was killed.
        self.signal_group(signal.SIGKILL)
        return self.proc.wait()


class Command(BaseCommand):
    help = (
        "Run the web server (runserver --noreload) and a worker (qcluster) together. "
        "Ctrl-C or SIGTERM stops both; if either stops on its own, the other is stopped too."
    )
    # The children run the system checks; doing them here too only delays the start.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "addrport", nargs="?", default="127.0.0.1:8000", help="HOST:PORT or PORT to serve on"
        )

    def handle(self, *args, **options):
        addrport = options["addrport"]
        self.signals = 0
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)

        url, probe = _url_and_probe(addrport)
        if probe is not None and _accepts(probe):
            # Else the check below would take the other server for ours.
            raise CommandError(f"Something already answers on {url}; choose another port.")
        manage = str(Path(settings.BASE_DIR) / "manage.py")
        children: list[Child] = []
        stopped = None
        try:
            web = Child("web server", [sys.executable, manage, "runserver", "--noreload", addrport])
            children.append(web)
            self._say(f"web pid {web.pid}")
            worker = Child("worker", [sys.executable, manage, "qcluster"])
            children.append(worker)
            self._say(f"worker pid {worker.pid}")
            stopped = self._watch(children, url, probe)
        finally:
            self._stop(children)
        if stopped is not None:
            raise CommandError(
                f"The {stopped.name} (pid {stopped.pid}) stopped with exit code "
                f"{stopped.proc.returncode}; stopped the other process too."
            )
        self._say("Stopped.")

    def _on_signal(self, signum, frame) -> None:
        self.signals += 1

    def _say(self, message: str) -> None:
        self.stdout.write(message)
        self.stdout.flush()  # a pipe would otherwise hold these lines back

    def _watch(
        self, children: list[Child], url: str, probe: tuple[str, int] | None
    ) -> Child | None:
        """Wait for a signal (returns None) or for a child to exit (returns it)."""
        worker = children[-1]
        announced = False
        while not self.signals:
            for child in children:
                if child.has_exited():
                    return child
            # runserver listens a second or so after it starts.
            if not announced and (probe is None or _accepts(probe)):
                self._say(
                    f"Rollcall is serving {url}admin/ with a worker (pid {worker.pid}); "
                    "Ctrl-C stops both."
                )
                announced = True
            time.sleep(POLL_SECONDS)
        return None

    def _stop(self, children: list[Child]) -> None:
        running = [c for c in children if not c.has_exited()]
        if running:
            self._say(f"Stopping the {' and the '.join(c.name for c in running)}...")
        # SIGINT is what a terminal's Ctrl-C sends to a whole group: runserver exits,
        # qcluster stops its workers gracefully, and its forked processes ignore it.
        for child in running:
            child.signal_group(signal.SIGINT)
        # ... and a second Ctrl-C or SIGTERM kills them without waiting.
        signals_before = self.signals
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline and self.signals == signals_before:
            if all(c.has_exited() for c in running):
                break
            time.sleep(POLL_SECONDS / 2)
        for child in running:
            if not child.has_exited():
                self.stderr.write(f"The {child.name} (pid {child.pid}) did not stop; killing it.")
        for child in children:
            child.reap()


def _url_and_probe(addrport: str) -> tuple[str, tuple[str, int] | None]:
    """The URL to print and the address to connect to, read as runserver reads HOST:PORT."""
    match = re.match(naiveip_re, addrport)
    if match is None:
        return f"http://{addrport}/", None  # runserver will say what is wrong with it
    addr, port = match["addr"] or "127.0.0.1", int(match["port"])
    if addr == "0":
        addr = "0.0.0.0"  # runserver's shorthand
    host = addr.strip("[]")
    connect = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://{addr}:{port}/", (connect, port)


def _accepts(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=POLL_SECONDS):
            return True
    except OSError:
        return False
