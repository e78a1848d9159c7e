"""What every source declares: how it fetches, how it tests its connection, the format
it produces, the config fields it needs, and its `sync_roster` options.

A source is one module under syncs/sources/ with a `Source` subclass, registered by one
line in `syncs.sources.REGISTRY`. Everything that used to switch on the source kind (the
pipeline's fetch, the connection test, the format, the pre-flight, the admin's fields,
the command's options) asks the registry instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from syncs.models import SyncConfig


@dataclass
class ConnectionReport:
    """What a connection test found, for the admin (and the pre-flight) to show."""

    ok: bool
    fingerprint: str = ""  # the SFTP host key the server presented ("" if none was seen)
    recorded: bool = False  # the fingerprint was pinned by this test
    files: list[str] = field(default_factory=list)  # what a sync would download
    message: str = ""
    # Configured school IDs the source lacks, with near matches (API sources, whose
    # connection test reads the schools; the pre-flight names them).
    missing_schools: list[str] = field(default_factory=list)
    near_matches: dict[str, list[str]] = field(default_factory=dict)
    where: str = ""  # the source, as a sentence names it ("Clever")


class OptionError(Exception):
    """A `sync_roster` option is missing or wrong: the command exits 2 with this text."""


@dataclass(frozen=True)
class Option:
    """One `sync_roster` option of a source."""

    flags: tuple[str, ...]
    help: str = ""
    type: Any = str
    choices: tuple[str, ...] | None = None

    @property
    def dest(self) -> str:
        return self.flags[0].lstrip("-").replace("-", "_")


class Source:
    """A place rosters come from. Subclasses set the class attributes and override what
    they support; the defaults describe a source with nothing to test or configure."""

    kind: ClassVar[str]  # a syncs.models.SourceKind value
    # The format it always produces (API sources save JSON pages), or None: the files
    # are detected, or read as the config's format.
    format: ClassVar[str | None] = None
    # Config fields it needs (the admin's fieldset, the API's writable fields) and which
    # of them are secrets (write-only everywhere).
    fields: ClassVar[tuple[str, ...]] = ()
    secrets: ClassVar[tuple[str, ...]] = ()
    # Queued by the nightly dispatcher (an upload config has nothing to pull).
    scheduled: ClassVar[bool] = True
    # How the pre-flight checks it: "files" (a local folder or zip), "sftp", or
    # "connection" (the connection test names the missing schools); "" for none.
    preflight: ClassVar[str] = ""
    # `sync_roster --source NAME`, the config it creates there, its option group.
    command: ClassVar[str | None] = None
    config_name: ClassVar[str] = ""
    option_group: ClassVar[str] = ""
    options: ClassVar[tuple[Option, ...]] = ()

    def fetch(self, config: SyncConfig) -> AbstractContextManager[Path]:
        """Yield a local folder holding the source's files or pages, complete, or fail
        the run with a SyncFailure before anything is applied."""
        raise NotImplementedError

    def format_for(self, config: SyncConfig, *, uploaded: bool) -> str:
        """The format to parse: uploaded files are detected, whatever the source."""
        if self.format is None:
            return config.format
        return "auto" if uploaded else self.format

    def test_connection(self, config: SyncConfig) -> ConnectionReport | None:
        """Connect and say what a sync would find; None when there is nothing to test."""
        return None

    def option_values(
        self, opts: Mapping[str, Any], current: Callable[[], SyncConfig]
    ) -> dict[str, Any]:
        """The config fields `sync_roster`'s options set (left out: kept as they are).
        `current()` reads the config being updated (unsaved when new), for checks against
        what it already holds. Raises OptionError."""
        return {}

    def after_save(self, config: SyncConfig, warn) -> None:
        """Anything the command does once the config is saved (`warn` writes to stderr)."""


def env_or(opts: Mapping[str, Any], dest: str, env: str) -> str:
    """An option's value, or the environment variable that stands in for it (secrets:
    a command line is visible to other users)."""
    return opts.get(dest) or os.environ.get(env, "")


# Both API sources take the server's base URL.
URL_OPTION = Option(("--url",), help="Base URL (https; plain http only to 127.0.0.1).")


def api_url_value(opts: Mapping[str, Any], config: SyncConfig) -> dict[str, Any]:
    """`--url`, checked (HTTPS, or plain HTTP to loopback), or the config's own."""
    from syncs.clients.http import check_url
    from syncs.errors import SyncFailure

    if opts.get("url"):
        try:
            return {"api_url": check_url(opts["url"])}
        except SyncFailure as exc:
            raise OptionError(f"--url: {exc.message}") from None
    if not config.api_url:
        raise OptionError("--url is required for an API source.")
    return {}
