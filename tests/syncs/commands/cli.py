"""Running `manage.py sync_roster` in-process, as the command tests do."""

from __future__ import annotations

from io import StringIO

from django.core.management import CommandError, call_command


def run_command(*args, stdout=None):
    out = stdout if stdout is not None else StringIO()
    try:
        call_command("sync_roster", *args, stdout=out, stderr=StringIO())
        code = 0
    except CommandError as exc:
        code = exc.returncode
    return code, out.getvalue()
