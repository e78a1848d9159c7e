"""Finding an export's CSV files in a folder: one folder, one file per name."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from syncs.errors import SyncFailure


class CsvFiles(dict[str, Path]):
    """Lower-cased CSV file names -> paths, plus what stood where a CSV file was
    expected but is no regular file (`not_files`: name -> "a folder", ...)."""

    def __init__(self, found: dict[str, Path], not_files: dict[str, str] | None = None):
        super().__init__(found)
        self.not_files = not_files or {}

    def why_missing(self, name: str) -> str:
        """ " (users.csv is a folder, not a file)" for a required file that is one."""
        what = self.not_files.get(name.lower())
        return f" ({name} is {what}, not a file)" if what else ""


def _what_it_is(path: Path) -> str:
    if path.is_symlink() and not path.exists():
        return "a link to nothing"
    if path.is_dir():
        return "a folder"
    return "not a regular file"


def find_files(folder: Path) -> CsvFiles:
    """Map lower-cased CSV file names to paths; districts vary the case (Users.csv).

    All files of one export are read from one folder: the shallowest folder holding CSV
    files (an export zipped inside a folder is found there). An old export in a
    subfolder must never be read by accident, so a CSV file found only outside that
    folder, or two folders at the same depth, fail the run naming the files. Two files
    whose names differ only in case (`Users.csv` and `users.csv`) fail it too. Folders
    and broken links named like CSV files are no files: ignored, and named when a
    required file is one of them.
    """
    entries = sorted(folder.rglob("*"))
    csvs = [
        path
        for path in entries
        if path.suffix.lower() == ".csv"
        and path.is_file()
        and not any(p.startswith((".", "__MACOSX")) for p in path.relative_to(folder).parts)
    ]
    if not csvs:
        return CsvFiles({}, _not_files(folder, entries))
    package = _export_folder(folder, csvs)
    found = _by_name(p for p in csvs if p.parent == package)
    _refuse_strays(folder, package, csvs, found)
    return CsvFiles(found, _not_files(package, entries))


def _export_folder(folder: Path, csvs: list[Path]) -> Path:
    """The shallowest folder holding CSV files; two at the same depth fail the run."""
    depth = min(len(p.relative_to(folder).parts) for p in csvs)
    packages = sorted({p.parent for p in csvs if len(p.relative_to(folder).parts) == depth})
    if len(packages) > 1:
        names = [{p.name.lower() for p in csvs if p.parent == pkg} for pkg in packages]
        common = sorted(set.intersection(*names))
        shown = ", ".join(str((pkg / common[0]).relative_to(folder)) for pkg in packages[:2])
        what = (
            f"More than one {common[0]} was found ({shown})"
            if common
            else (
                "Roster files were found in several folders ("
                + ", ".join(str(pkg.relative_to(folder)) for pkg in packages)
                + ")"
            )
        )
        raise SyncFailure(
            "invalid_files",
            f"{what}; send one export at a time, its files in one folder.",
            {"folders": [str(pkg.relative_to(folder)) for pkg in packages]},
        )
    return packages[0]


def _by_name(paths: Iterable[Path]) -> dict[str, Path]:
    """Lower-cased name -> path; two names that differ only in case fail the run."""
    found: dict[str, Path] = {}
    for path in paths:
        twin = found.get(path.name.lower())
        if twin is not None:
            raise SyncFailure(
                "invalid_files",
                f"{twin.name} and {path.name} are both in the export: their names differ "
                "only in case, so which one to read is unclear. Remove one and send the "
                "export again.",
                {"files": [twin.name, path.name]},
            )
        found[path.name.lower()] = path
    return found


def _refuse_strays(folder: Path, package: Path, csvs: list[Path], found: dict[str, Path]) -> None:
    """Fail the run over a CSV file found only outside the export's folder."""
    strays = sorted(
        str(p.relative_to(folder))
        for p in csvs
        if p.parent != package and p.name.lower() not in found
    )
    if strays:
        raise SyncFailure(
            "invalid_files",
            f"{strays[0]} is not beside the export's other files"
            + (f" (in {package.relative_to(folder)})" if package != folder else "")
            + "; it may be from an older export. Put all files of one export in one folder.",
            {"files": strays},
        )


def _not_files(package: Path, entries: list[Path]) -> dict[str, str]:
    return {
        p.name.lower(): _what_it_is(p)
        for p in entries
        if p.parent == package and p.suffix.lower() == ".csv" and not p.is_file()
    }
