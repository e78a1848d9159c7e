"""Source: roster files in a local folder or a zip (also where uploads land).

`fetch` yields a folder to parse. A zip is extracted to a temporary folder that is always
removed; members that would escape it, and archives that expand beyond the limits, are
refused before anything is written.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from django.conf import settings

from syncs.errors import SyncFailure
from syncs.models import SourceKind
from syncs.sources.base import Option, OptionError, Source

# A zip expanding past this ratio is treated as a decompression bomb.
MAX_RATIO = 200


@contextmanager
def fetch(path: str | Path) -> Iterator[Path]:
    path = Path(path)
    if path.is_dir():
        yield path
        return
    if not path.exists():
        raise SyncFailure(
            "source_unavailable",
            f"No folder or zip at {path}.",
            {"path": str(path)},
        )
    if not zipfile.is_zipfile(path):
        raise SyncFailure(
            "invalid_files",
            f"{path.name} is neither a folder nor a zip archive.",
            {"path": str(path)},
        )
    tmp = Path(tempfile.mkdtemp(prefix="rollcall-"))
    try:
        extract_zip(path, tmp)
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _is_junk(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return any(p.startswith(".") or p == "__MACOSX" for p in parts)


def _checked_members(zf: zipfile.ZipFile, archive: Path) -> list[zipfile.ZipInfo]:
    """The data members of an open zip, or SyncFailure if any would be unsafe to extract."""
    limit = settings.ROLLCALL["MAX_FILE_BYTES"]
    for m in zf.infolist():  # every member, junk included: nothing may point outside
        pure = PurePosixPath(m.filename.replace("\\", "/"))
        if pure.is_absolute() or ".." in pure.parts or ":" in (pure.parts or ("",))[0]:
            raise SyncFailure(
                "invalid_files",
                f"{archive.name}: member {m.filename!r} points outside the archive; "
                "the zip was refused.",
                {"member": m.filename},
            )
    members = [m for m in zf.infolist() if not m.is_dir() and not _is_junk(m.filename)]
    _refuse_twins(members, archive)
    if not members:
        raise SyncFailure(
            "invalid_files",
            f"{archive.name} holds no roster files (only folders, __MACOSX/ or hidden "
            "files); the zip was refused.",
            {"members": [m.filename for m in zf.infolist()][:20]},
        )
    total = 0
    for m in members:
        total += m.file_size
        if m.file_size > limit or total > limit * 4:
            raise SyncFailure(
                "invalid_files",
                f"{archive.name} expands to more than the allowed size "
                f"({limit:,} bytes a file); the zip was refused.",
                {"member": m.filename, "size": m.file_size},
            )
        if m.compress_size and m.file_size / m.compress_size > MAX_RATIO:
            raise SyncFailure(
                "invalid_files",
                f"{archive.name}: member {m.filename!r} is compressed "
                f"{m.file_size // m.compress_size}:1, which looks like a decompression "
                "bomb; the zip was refused.",
                {"member": m.filename},
            )
    return members


def _refuse_twins(members: list[zipfile.ZipInfo], archive: Path) -> None:
    """Two members with one name (or names differing only in case, which Windows and
    macOS store as one file) would leave whichever came last: refused, naming both."""
    seen: dict[str, str] = {}
    for m in members:
        key = PurePosixPath(m.filename.replace("\\", "/")).as_posix().casefold()
        if key in seen:
            raise SyncFailure(
                "invalid_files",
                f"{archive.name} holds {seen[key]!r} and {m.filename!r}: two files of the "
                "same name, so which one to read is unclear; the zip was refused. Zip the "
                "export again with each file once.",
                {"members": [seen[key], m.filename]},
            )
        seen[key] = m.filename


def check_zip(archive: Path) -> list[str]:
    """Refuse an unsafe or empty zip before it is stored; return its data members."""
    try:
        with zipfile.ZipFile(archive) as zf:
            return [m.filename for m in _checked_members(zf, archive)]
    except zipfile.BadZipFile as exc:
        raise SyncFailure(
            "invalid_files", f"{archive.name} is not a readable zip ({exc}).", {}
        ) from exc


def extract_zip(archive: Path, dest: Path) -> list[str]:
    """Extract the data members of `archive` into `dest`, after checking all of them."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = _checked_members(zf, archive)
            for m in members:
                # The layout is kept (every path was checked above) so that two files of
                # the same name in different folders are seen as ambiguous, not overwritten.
                target = dest.joinpath(*PurePosixPath(m.filename.replace("\\", "/")).parts)
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(m) as src, target.open("wb") as out:
                        shutil.copyfileobj(src, out, 1 << 20)
                except OSError as exc:  # e.g. both `users.csv` and `users.csv/readme.txt`
                    raise SyncFailure(
                        "invalid_files",
                        f"{archive.name}: member {m.filename!r} clashes with another member "
                        f"of the same name ({exc.strerror}); the zip was refused.",
                        {"member": m.filename},
                    ) from exc
                except (
                    NotImplementedError,
                    RuntimeError,
                    zlib.error,
                    EOFError,
                    zipfile.BadZipFile,
                ) as exc:
                    # Deflate64 (Windows' own zip), encryption, or a corrupt stream.
                    raise SyncFailure(
                        "invalid_files",
                        f"{archive.name}: member {m.filename!r} cannot be read ({exc}). "
                        "Zip the files again with standard (deflate) compression and no password.",
                        {"member": m.filename},
                    ) from exc
            return [m.filename for m in members]
    except zipfile.BadZipFile as exc:
        raise SyncFailure(
            "invalid_files", f"{archive.name} is not a readable zip ({exc}).", {}
        ) from exc


def unpack_lone_zip(folder: Path) -> None:
    """A folder holding one zip and no CSV files (a district dropping a zipped export on
    its SFTP server) is read as that zip's contents, with the same checks as any zip."""
    zips = [p for p in folder.iterdir() if p.suffix.lower() == ".zip"]
    csvs = [p for p in folder.iterdir() if p.suffix.lower() == ".csv"]
    if len(zips) == 1 and not csvs:
        extract_zip(zips[0], folder)
        zips[0].unlink()


class LocalFilesSource(Source):
    """A folder or zip on this machine (`sync_roster --path`)."""

    kind = SourceKind.LOCAL_FILES
    fields = ("path", "format")
    preflight = "files"
    command = "files"
    config_name = "Local files"
    options = (Option(("--path",), help="Folder or .zip of roster files (--source files)."),)

    def fetch(self, config):
        return fetch(config.path)

    def option_values(self, opts, current):
        if not opts.get("path"):
            raise OptionError("--path is required (or use --source sftp).")
        path = Path(opts["path"]).expanduser()
        if not path.exists():
            raise OptionError(f"--path {path} does not exist.")
        return {"path": str(path.resolve())}


class UploadSource(Source):
    """Files uploaded through the admin or the API; each upload is synced once."""

    kind = SourceKind.UPLOAD
    fields = ("format",)
    scheduled = False  # nothing to pull: its runs start when someone uploads files

    def fetch(self, config):
        return fetch(config.path)
