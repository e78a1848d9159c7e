"""Uploaded roster files: checked, kept under var/uploads, and synced once.

Support staff upload a zip or the CSV files of an export (the admin's "Upload files and
sync"); the queued run reads them instead of the config's own source. Everything that
can be refused is refused before a run is created, with a message saying why, including
an upload while the config already has a run queued or running (that run would not read
the upload).
"""

from __future__ import annotations

import secrets
import shutil
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol

from django.conf import settings

from syncs.errors import SyncFailure
from syncs.models import SyncConfig, SyncRun
from syncs.services import sync_run_active, sync_run_request
from syncs.sources.local import check_zip


class UploadedFile(Protocol):
    name: str

    def chunks(self) -> Iterator[bytes]: ...


def _refuse(message: str, **details) -> SyncFailure:
    return SyncFailure("invalid_files", message, details)


def _is_junk(name: str) -> bool:
    return name.startswith(".") or name.startswith("__MACOSX")


def upload_root(config: SyncConfig) -> Path:
    return Path(settings.VAR_DIR) / "uploads" / str(config.pk)


def upload_store(*, config: SyncConfig, files: Iterable[UploadedFile]) -> Path:
    """Store an upload (one zip, or CSV files) and return the zip or folder to sync."""
    limit = settings.ROLLCALL["MAX_UPLOAD_BYTES"]
    files = [f for f in files if not _is_junk(Path(f.name).name)]
    if not files:
        raise _refuse("Nothing to sync: choose a zip of the roster files, or the CSV files.")
    names = [Path(f.name).name for f in files]
    zips = [n for n in names if n.lower().endswith(".zip")]
    others = [n for n in names if not n.lower().endswith((".zip", ".csv"))]
    if others:
        raise _refuse(
            "Only CSV files or one zip can be uploaded; not " + ", ".join(others) + ".",
            files=others,
        )
    if zips and len(files) > 1:
        raise _refuse("Upload either one zip or the CSV files, not both.", files=names)
    if len(set(n.lower() for n in names)) != len(names):
        raise _refuse("Two uploaded files have the same name.", files=names)

    folder = upload_root(config) / f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
    folder.mkdir(parents=True)
    try:
        written = 0
        for upload, name in zip(files, names, strict=True):
            with (folder / name).open("wb") as out:
                for chunk in upload.chunks():
                    written += len(chunk)
                    if written > limit:
                        raise _refuse(
                            f"The upload is larger than the limit of {limit:,} bytes.",
                            limit=limit,
                        )
                    out.write(chunk)
        if zips:
            check_zip(folder / zips[0])
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    _prune(config)
    return folder / zips[0] if zips else folder


def _prune(config: SyncConfig) -> None:
    """Keep the newest uploads of a config; older ones go."""
    keep = settings.ROLLCALL["KEEP_UPLOADS"]
    folders = sorted(p for p in upload_root(config).iterdir() if p.is_dir())
    for old in folders[:-keep] if keep else folders:
        shutil.rmtree(old, ignore_errors=True)


def sync_run_upload(
    *, config: SyncConfig, files: Iterable[UploadedFile], dry_run: bool = False
) -> SyncRun:
    """Store the upload and queue its run (refused uploads raise SyncFailure, no run)."""
    _refuse_while_active(config)
    path = upload_store(config=config, files=files)
    run, created = sync_run_request(config=config, dry_run=dry_run, upload_path=str(path))
    if not created:  # another run was queued between the check and now
        shutil.rmtree(path, ignore_errors=True)
        raise _refuse(
            f"Run #{run.pk} of this sync was queued while the files were uploading; "
            "upload again when it has finished (the upload was not kept).",
            run=run.pk,
        )
    return run


def _refuse_while_active(config: SyncConfig) -> None:
    active = sync_run_active(config=config)
    if active is not None:
        raise _refuse(
            f"Run #{active.pk} of this sync is {active.get_status_display().lower()}; "
            "upload again when it has finished (the upload was not kept).",
            run=active.pk,
        )
