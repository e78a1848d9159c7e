"""The pre-flight: a few hours before each config's nightly window, check that tonight's
sync can work (credentials, and every school ID in scope exists) and record the outcome
on the config, so support can fix it before the night's run fails.

It runs from a django-q2 schedule every 15 minutes (`manage.py setup_schedules`) and
knows it checked a night from `SyncConfig.preflight_checked_at`. How a config is checked
depends on its source (`Source.preflight`): the files' schools file, the SFTP folder's,
or the connection test of an API.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
import zipfile
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from syncs import scheduling
from syncs.errors import SyncFailure
from syncs.fields import FieldKeyMismatch
from syncs.models import RosterFormat, SyncConfig
from syncs.rules.scope import near_matches
from syncs.services.connections import sync_config_test_connection
from syncs.services.nightly import scheduled_configs
from syncs.sources import source_for

logger = logging.getLogger(__name__)

# The files that name a package's schools, per format.
SCHOOL_FILES = {
    RosterFormat.ONEROSTER_1_1_CSV: "orgs.csv",
    RosterFormat.ONEROSTER_1_2_CSV: "orgs.csv",
    RosterFormat.CLEVER_CSV: "schools.csv",
}
# A pre-flight tick starts no new check after this many seconds (it always does one);
# the configs left are checked by the next tick, 15 minutes later, oldest check first.
PREFLIGHT_BUDGET_SECONDS = 600.0


class Check(NamedTuple):
    """A pre-flight outcome: ok, and one sentence for the district admin (no secrets)."""

    ok: bool
    text: str


def sync_configs_preflight(
    *, now: datetime | None = None, budget_seconds: float = PREFLIGHT_BUDGET_SECONDS
) -> list[int]:
    """Check each enabled config whose pre-flight is due for its coming night and has not
    been done for that night; record the outcome on the config. Returns the ids checked.

    The slot is the `PREFLIGHT_HOURS_BEFORE` hours before the window opens, so support
    has time to fix credentials or school IDs before the night's run fails on them. A
    check that raises is recorded as a failed pre-flight and logged; the others go on.
    """
    now = now or timezone.now()
    hours = float(settings.ROLLCALL["PREFLIGHT_HOURS_BEFORE"])
    configs = scheduled_configs("preflight_checked_at").order_by(
        F("preflight_checked_at").asc(nulls_first=True), "pk"
    )
    due = []
    for config in configs:
        try:
            night = scheduling.preflight_due(
                now,
                start=config.window_start,
                end=config.window_end,
                tz=config.time_zone,
                hours_before=hours,
            )
            if night is None:
                continue
            slot_start, _slot_end = scheduling.preflight_slot(
                night, config.window_start, config.window_end, config.time_zone, hours
            )
        except Exception:  # noqa: BLE001 - a broken config (its time zone) must not stop the rest
            logger.exception("Sync config %s: its pre-flight slot cannot be computed", config.pk)
            continue
        if config.preflight_checked_at is None or config.preflight_checked_at < slot_start:
            due.append((config, night))

    checked = []
    started = time.monotonic()
    for position, (config, night) in enumerate(due):
        if position and time.monotonic() - started > budget_seconds:
            logger.warning(
                "Pre-flight: %d config(s) left for the next tick (its %g s are spent)",
                len(due) - position,
                budget_seconds,
            )
            break
        check = _preflight(config.pk)
        message = f"Pre-flight {_local_stamp(now, config.time_zone)}: {check.text}"
        SyncConfig.objects.filter(pk=config.pk).update(
            preflight_ok=check.ok, preflight_message=message, preflight_checked_at=now
        )
        (logger.info if check.ok else logger.warning)(
            "Sync config %s, night of %s: %s", config.pk, night, message
        )
        checked.append(config.pk)
    return checked


def _local_stamp(now: datetime, tz: str) -> str:
    try:
        return now.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z")
    except (ValueError, KeyError):
        return now.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M UTC")


def _preflight(config_id: int) -> Check:
    """Check one config; never raises."""
    try:
        config = SyncConfig.objects.get(pk=config_id)  # decrypts its secrets
        how = source_for(config.source_kind).preflight
        if how == "files":
            return _check_local(config)
        if how == "sftp":
            return _check_sftp(config)
        return _check_api(config)
    except FieldKeyMismatch:
        logger.error("Sync config %s: its stored credentials cannot be decrypted", config_id)
        return Check(
            False,
            "the stored credentials cannot be decrypted (the server's encryption keys "
            "changed), so tonight's sync would fail. Support must restore the key, or the "
            "credentials must be entered again.",
        )
    except Exception:  # noqa: BLE001 - recorded on the config, logged in full
        logger.exception("Sync config %s: the pre-flight check failed unexpectedly", config_id)
        return Check(
            False,
            "the check stopped on an unexpected error, so the source could not be checked. "
            "Support has the details in the server log.",
        )


def _schools_missing(wanted: list[str], near: dict[str, list[str]], where: str) -> Check:
    described = [
        f"{sid} (did you mean {', '.join(near[sid])}?)" if near.get(sid) else sid for sid in wanted
    ]
    return Check(
        False,
        f"school IDs not found in {where}: {'; '.join(described)}. Tonight's sync would "
        "fail until the sync config's school IDs are corrected.",
    )


def _schools_check(config: SyncConfig, available: set[str], where: str, summary: str) -> Check:
    wanted = [str(s) for s in config.school_ids or []]
    missing = [s for s in wanted if s not in available]
    if missing:
        return _schools_missing(
            missing, {s: near_matches(s, sorted(available)) for s in missing}, where
        )
    found = f"; all {len(wanted)} configured school IDs found" if wanted else ""
    return Check(True, f"OK: {summary}{found}.")


def _check_api(config: SyncConfig) -> Check:
    """Clever and OneRoster REST: sign in and list the schools (the connection test)."""
    report = sync_config_test_connection(config=config)
    # A test that read the schools names the missing ones (the OneRoster test reports
    # ok=True when only school IDs are missing).
    missing, near, where = report.missing_schools, report.near_matches, report.where
    if missing:
        return _schools_missing(missing, near, where)
    if not report.ok:
        return Check(False, report.message)
    found = (
        f"; all {len(config.school_ids)} configured school IDs found" if config.school_ids else ""
    )
    return Check(True, f"OK: signed in to {where}{found}.")


def _check_sftp(config: SyncConfig) -> Check:
    """Connect with the pinned host key (as the sync will: never recording a new key),
    list the folder, and read only the file that names the schools.

    The admin's connection test is not used: it records an unpinned host key, which
    needs a person to confirm it, and it does not check school IDs.
    """
    from syncs.clients import sftp as client
    from syncs.sources.sftp import endpoint_of, remote_dir_of

    remote_dir = remote_dir_of(config)
    endpoint = endpoint_of(config)
    try:
        with client.connect(endpoint) as session:
            files = session.list_files(remote_dir)
            summary = f"connected to {endpoint.where}, {len(files)} file(s) in {remote_dir!r}"
            if not files:
                return Check(
                    False,
                    f"the folder {remote_dir!r} on {endpoint.where} is empty, so tonight's "
                    "sync would find no roster files.",
                )
            if not config.school_ids:
                return Check(True, f"OK: {summary}.")
            by_name = {f.name.lower(): f for f in files}
            name = _school_file_name(config, by_name)
            if name is None:
                if any(n.endswith(".zip") for n in by_name) and not any(
                    n.endswith(".csv") for n in by_name
                ):
                    # Reading the school IDs means downloading the whole export.
                    return Check(
                        True, f"OK: {summary}; school IDs inside a zip are checked by the sync."
                    )
                return _no_school_file(f"{remote_dir!r} on {endpoint.where}")
            with tempfile.TemporaryDirectory(prefix="rollcall-preflight-") as tmp:
                target = Path(tmp) / name
                # One small file, with the sync's own checks (size, complete download).
                session.download_file(
                    remote_dir, by_name[name], target, settings.ROLLCALL["MAX_FILE_BYTES"]
                )
                available = _school_ids(target, name)
    except SyncFailure as failure:
        return Check(False, failure.message)
    return _schools_check(config, available, "the SFTP files", summary)


def _check_local(config: SyncConfig) -> Check:
    """The folder or zip exists and is readable, and names the configured schools.

    Only the file naming the schools (orgs.csv or schools.csv) is read: people,
    classes and enrollments are left to the sync. A zip is not extracted, only that
    member.
    """
    from syncs.formats.csvfiles import find_files
    from syncs.sources.local import check_zip

    if not config.path.strip():
        return Check(False, "no folder or zip is set on this sync config.")
    path = Path(config.path.strip())
    try:
        if not path.exists():
            return Check(False, f"{path} does not exist, so tonight's sync would find no files.")
        if not os.access(path, os.R_OK | (os.X_OK if path.is_dir() else 0)):
            return Check(False, f"{path} cannot be read by Rollcall (check its permissions).")
        if path.is_dir():
            files = find_files(path)
            if not files:
                return Check(False, f"{path} holds no CSV files.")
            unreadable = sorted(n for n, p in files.items() if not os.access(p, os.R_OK))
            if unreadable:
                return Check(
                    False,
                    f"{', '.join(unreadable)} in {path} cannot be read by Rollcall "
                    "(check the files' permissions).",
                )
            summary = f"{len(files)} CSV file(s) in {path}"
            if not config.school_ids:
                return Check(True, f"OK: {summary}.")
            name = _school_file_name(config, files)
            if name is None:
                return _no_school_file(str(path))
            available = _school_ids(files[name], name)
        elif zipfile.is_zipfile(path):
            members = check_zip(path)  # refuses unsafe or empty zips, without extracting
            summary = f"{path.name} holds {len(members)} file(s)"
            if not config.school_ids:
                return Check(True, f"OK: {summary}.")
            available = _school_ids_in_zip(config, path, members)
            if available is None:
                return _no_school_file(path.name)
        else:
            return Check(False, f"{path.name} is neither a folder nor a zip archive.")
    except SyncFailure as failure:
        return Check(False, failure.message)
    return _schools_check(config, available, "the files", summary)


def _school_file_name(config: SyncConfig, names) -> str | None:
    """The lower-cased name of the file naming the schools, if the package has one."""
    wanted = SCHOOL_FILES.get(config.format)
    for name in (wanted,) if wanted else ("orgs.csv", "schools.csv"):
        if name in names:
            return name
    return None


def _no_school_file(where: str) -> Check:
    return Check(
        False,
        f"there is no orgs.csv or schools.csv in {where}, so the configured school IDs "
        "cannot be found and tonight's sync would fail.",
    )


def _school_ids_in_zip(config: SyncConfig, path: Path, members: list[str]) -> set[str] | None:
    """School IDs from the zip's schools file, extracting only that member (the shallowest,
    as the sync reads the shallowest folder)."""
    by_name: dict[str, list[str]] = {}
    for member in members:
        parts = PurePosixPath(member.replace("\\", "/")).parts
        by_name.setdefault(parts[-1].lower(), []).append(member)
    name = _school_file_name(config, by_name)
    if name is None:
        return None
    member = min(by_name[name], key=lambda m: len(PurePosixPath(m.replace("\\", "/")).parts))
    with tempfile.TemporaryDirectory(prefix="rollcall-preflight-") as tmp:
        target = Path(tmp) / name
        with zipfile.ZipFile(path) as zf, zf.open(member) as src, target.open("wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
        return _school_ids(target, name)


def _school_ids(path: Path, name: str) -> set[str]:
    """The school IDs in orgs.csv (OneRoster) or schools.csv (Clever), read as the
    format parsers read them (encoding, header repair, deleted orgs left out)."""
    from syncs.formats import clever_csv, oneroster_csv
    from syncs.formats.csvfiles import open_table

    def ignore(_finding) -> None:
        pass

    if name == "orgs.csv":
        table = open_table(oneroster_csv.ORGS, path, ignore)
        sid, typ, status = table.col("sourcedId"), table.col("type"), table.col("status")
        return {
            cells[sid].strip()
            for _line, cells in table.rows()
            if cells[typ].strip().lower() == "school"
            and (status is None or cells[status].strip().lower() not in oneroster_csv.DELETED)
            and cells[sid].strip()
        }
    table = open_table(clever_csv.SCHOOLS, path, ignore)
    sid = table.col("School_id")
    return {cells[sid].strip() for _line, cells in table.rows() if cells[sid].strip()}
