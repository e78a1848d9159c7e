"""Sources: where a config's roster comes from (DESIGN §5).

Each source is a module with a `Source` subclass (syncs/sources/base.py), registered
below by one line. Adding a source is one module plus one registration (and its
`SourceKind` choice). Modules are imported when first asked for, so a command that never
touches an API does not load the HTTP stack.
"""

from __future__ import annotations

from functools import cache
from importlib import import_module

from syncs.models import SourceKind
from syncs.sources.base import ConnectionReport, Option, OptionError, Source

REGISTRY: dict[str, str] = {
    SourceKind.LOCAL_FILES: "syncs.sources.local.LocalFilesSource",
    SourceKind.UPLOAD: "syncs.sources.local.UploadSource",
    SourceKind.SFTP: "syncs.sources.sftp.SftpSource",
    SourceKind.CLEVER_API: "syncs.sources.clever_api.CleverApiSource",
    SourceKind.ONEROSTER_API: "syncs.sources.oneroster_api.OneRosterApiSource",
}

__all__ = [
    "REGISTRY",
    "ConnectionReport",
    "Option",
    "OptionError",
    "Source",
    "all_sources",
    "source_for",
    "source_for_command",
]


@cache
def source_for(kind: str) -> Source:
    """The source of a `SourceKind` value; KeyError for one nobody registered."""
    module, _, name = REGISTRY[kind].rpartition(".")
    return getattr(import_module(module), name)()


def all_sources() -> list[Source]:
    return [source_for(kind) for kind in REGISTRY]


def source_for_command(name: str) -> Source:
    """The source `sync_roster --source NAME` means."""
    return next(s for s in all_sources() if s.command == name)
