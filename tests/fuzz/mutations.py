"""Hostile roster exports: a Recipe is a list of small, deterministic mutations (ops) of
the fuzz district's files, plus the threshold and dry-run flag of the sync that reads them.

An op works at one stage of writing the export, in this order:

1. table  - rows and columns before anything is written (drop, duplicate or contradict
            rows; hostile IDs; typo roles; control characters and NULs in cells; huge
            cells; dropped, renamed and duplicated headers; rows too long or too short)
2. text   - the CSV text (stray and unclosed quotes, NUL/BOM/control characters inserted
            anywhere, two exports concatenated with a BOM between them)
3. bytes  - the encoded file (utf-8, utf-8-sig, utf-16 with and without BOM, utf-32,
            cp1252; a stray non-UTF-8 byte; truncation at any byte or at a line end; the
            bytes of an .xlsx saved under the CSV's name)
4. layout - the folder or zip the sync is pointed at (a CSV name that is a folder, an
            empty `backup.csv/` folder, a dangling `old.csv` symlink, a deleted file, the
            export in a subfolder with a stale copy beside it, a zip with two members of
            one name, `Users.csv` beside `users.csv`, or a `users.csv/readme.txt` member)

Ops hold only small values (row and line numbers are taken modulo the current size), so a
recipe prints in a few lines and replays exactly: `materialize(recipe, folder)`.
Long values are written as tokens (`<<X10000>>`, `<<HUGE>>`) and expanded on writing.
"""

from __future__ import annotations

import copy
import csv
import functools
import io
import os
import re
import shutil
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import strategies as st

from tests.fuzz import district

HUGE_BYTES = 10 * 1024 * 1024 + 4096  # over the csv module's 10 MiB field limit
TOKENS = {
    "<<X256>>": "x" * 256,
    "<<X10000>>": "y" * 10_000,
    "<<HUGE>>": None,  # HUGE_BYTES of "z", built only when written
}
FILES = (
    "users.csv",
    "orgs.csv",
    "classes.csv",
    "enrollments.csv",
    "demographics.csv",
    "academicSessions.csv",
    "manifest.csv",
)
REQUIRED = ("users.csv", "orgs.csv", "classes.csv", "enrollments.csv")
# Columns an export may leave out (the required ones of each file are not here).
OPTIONAL_COLUMNS = {
    "users.csv": ("email", "sms", "phone", "agentSourcedIds", "grades", "status", "username"),
    "classes.csv": ("termSourcedIds", "status", "classCode"),
    "enrollments.csv": ("primary", "status", "schoolSourcedId", "sourcedId"),
    "orgs.csv": ("status", "identifier", "parentSourcedId"),
    "demographics.csv": ("sex", "status"),
}


def expand(value: str) -> str:
    for token, text in TOKENS.items():
        if token in value:
            value = value.replace(token, "z" * HUGE_BYTES if text is None else text)
    return value


def show(value) -> str:
    """A value as a report prints it: tokens kept, everything else repr()'d and cut."""
    text = repr(value)
    return text if len(text) <= 120 else text[:100] + f"...<{len(text)} chars>"


# ---------------------------------------------------------------- the export being built


@dataclass
class FileState:
    name: str  # name on disk
    header: list[tuple[str, str]]  # (column, header text as written)
    columns: list[str]  # the column of each cell of a row
    rows: list[list[str]]
    terminators: tuple[str, ...] = ("\r\n",)
    text: str = ""
    encoding: str = "utf-8"
    data: bytes = b""
    deleted: bool = False

    def col(self, column: str) -> int | None:
        return self.columns.index(column) if column in self.columns else None

    def row(self, index: int) -> int | None:
        return index % len(self.rows) if self.rows else None


@dataclass
class Package:
    files: dict[str, FileState]
    baseline: dict[str, bytes]  # the unmutated bytes of each file (stale copies, twins)
    layout: list = field(default_factory=list)  # layout ops, applied when written

    @classmethod
    def baseline_package(cls) -> Package:
        files = {
            name: FileState(
                name=name,
                header=[(c, c) for c in header],
                columns=list(header),
                rows=copy.deepcopy(rows),
            )
            for name, (header, rows) in _baseline_tables().items()
        }
        return cls(files=files, baseline=_baseline_bytes())


@functools.cache
def _baseline_tables() -> dict[str, district.Table]:
    return district.baseline_files()


@functools.cache
def _baseline_bytes() -> dict[str, bytes]:
    return {
        name: encode_text(
            serialize(FileState(name, [(c, c) for c in header], list(header), rows)), "utf-8"
        )
        for name, (header, rows) in _baseline_tables().items()
    }


def serialize(f: FileState) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    lines = []
    for n, cells in enumerate([[h for _c, h in f.header]] + f.rows):
        out.seek(0)
        out.truncate()
        w.writerow([expand(c) for c in cells])
        lines.append(out.getvalue()[:-2] + f.terminators[n % len(f.terminators)])
    return "".join(lines)


def encode_text(text: str, encoding: str) -> bytes:
    if encoding == "cp1252":
        return text.encode("cp1252", errors="replace")
    return text.encode(encoding, errors="surrogatepass")


# ---------------------------------------------------------------- ops


class Op:
    STAGE = 0

    def apply(self, pkg: Package) -> None:
        raise NotImplementedError


def _file(pkg: Package, name: str) -> FileState | None:
    f = pkg.files.get(name)
    return None if f is None or f.deleted else f


# -- table stage


@dataclass(frozen=True)
class DropRow(Op):
    file: str
    row: int

    def apply(self, pkg):
        f = _file(pkg, self.file)
        if f and (i := f.row(self.row)) is not None:
            del f.rows[i]


@dataclass(frozen=True)
class DuplicateRow(Op):
    file: str
    row: int

    def apply(self, pkg):
        f = _file(pkg, self.file)
        if f and (i := f.row(self.row)) is not None:
            f.rows.insert(i + 1, list(f.rows[i]))


@dataclass(frozen=True)
class ConflictRow(Op):
    """The same record again with one cell different, before or after the original."""

    file: str
    row: int
    column: str
    value: str
    before: bool = False

    def apply(self, pkg):
        f = _file(pkg, self.file)
        if not f or (i := f.row(self.row)) is None:
            return
        other = list(f.rows[i])
        if (c := f.col(self.column)) is not None and c < len(other):
            other[c] = self.value
        f.rows.insert(i if self.before else i + 1, other)


@dataclass(frozen=True)
class SetCell(Op):
    file: str
    row: int
    column: str
    value: str

    def apply(self, pkg):
        f = _file(pkg, self.file)
        if not f or (i := f.row(self.row)) is None:
            return
        if (c := f.col(self.column)) is not None and c < len(f.rows[i]):
            f.rows[i][c] = self.value


@dataclass(frozen=True)
class InsertInCell(Op):
    """Put characters (NUL, control, BOM, quotes) inside a cell, at its start or middle."""

    file: str
    row: int
    column: str
    chars: str
    where: int = 0  # 0 start, 1 middle, 2 end

    def apply(self, pkg):
        f = _file(pkg, self.file)
        if not f or (i := f.row(self.row)) is None:
            return
        if (c := f.col(self.column)) is not None and c < len(f.rows[i]):
            old = f.rows[i][c]
            at = (0, len(old) // 2, len(old))[self.where % 3]
            f.rows[i][c] = old[:at] + self.chars + old[at:]


def _append(f: FileState, values: dict[str, str]) -> None:
    f.rows.append([values.get(c, "") for c in f.columns])


@dataclass(frozen=True)
class AddUser(Op):
    """A new person (with a hostile ID, say), valid otherwise: a student gets a birth
    date, a teacher an email, a parent an email; enrolled in c1 when `enroll`."""

    sid: str
    role: str = "student"
    school: str = "0123"
    enroll: bool = True

    def apply(self, pkg):
        sid = self.sid
        if f := _file(pkg, "users.csv"):
            values = {
                "sourcedId": sid,
                "enabledUser": "true",
                "orgSourcedIds": self.school,
                "role": self.role,
                "username": sid,
                "givenName": "New",
                "familyName": "Person",
            }
            if self.role in ("teacher", "parent"):
                values["email"] = f"new{len(f.rows)}@district.k12.ca.us"
            if self.role == "parent":
                values["agentSourcedIds"] = "s2"
            _append(f, values)
        if self.role == "student" and (f := _file(pkg, "demographics.csv")):
            _append(f, {"sourcedId": sid, "birthDate": "2014-05-06"})
        if (
            self.enroll
            and self.role in ("student", "teacher")
            and (f := _file(pkg, "enrollments.csv"))
        ):
            _append(
                f,
                {
                    "sourcedId": f"e-new-{len(f.rows)}",
                    "classSourcedId": "c1",
                    "schoolSourcedId": "0123",
                    "userSourcedId": sid,
                    "role": self.role,
                    "primary": "false",
                },
            )


@dataclass(frozen=True)
class AddClass(Op):
    """A new class (hostile ID, or a school that is not in orgs.csv), taught by t1."""

    sid: str
    school: str = "0123"
    teacher: str = "t1"

    def apply(self, pkg):
        if f := _file(pkg, "classes.csv"):
            _append(
                f, {"sourcedId": self.sid, "title": "New class", "schoolSourcedId": self.school}
            )
        if f := _file(pkg, "enrollments.csv"):
            _append(
                f,
                {
                    "sourcedId": f"e-new-{len(f.rows)}",
                    "classSourcedId": self.sid,
                    "schoolSourcedId": self.school,
                    "userSourcedId": self.teacher,
                    "role": "teacher",
                    "primary": "true",
                },
            )


@dataclass(frozen=True)
class AddEnrollment(Op):
    class_id: str
    user_id: str
    role: str = "student"

    def apply(self, pkg):
        if f := _file(pkg, "enrollments.csv"):
            _append(
                f,
                {
                    "sourcedId": f"e-new-{len(f.rows)}",
                    "classSourcedId": self.class_id,
                    "schoolSourcedId": "0123",
                    "userSourcedId": self.user_id,
                    "role": self.role,
                    "primary": "false",
                },
            )


@dataclass(frozen=True)
class AddOrg(Op):
    sid: str
    type: str = "school"

    def apply(self, pkg):
        if f := _file(pkg, "orgs.csv"):
            _append(f, {"sourcedId": self.sid, "name": "New school", "type": self.type})


@dataclass(frozen=True)
class SlashCollision(Op):
    """Two different enrollments whose `class/person` source IDs are the same string:
    student `a/b` in class c1, and student `b` in a new class `c1/a` (taught by t1)."""

    a: str = "x"
    b: str = "y"

    def apply(self, pkg):
        AddUser(f"{self.a}/{self.b}").apply(pkg)
        AddClass(f"c1/{self.a}").apply(pkg)
        AddUser(self.b, enroll=False).apply(pkg)
        AddEnrollment(f"c1/{self.a}", self.b).apply(pkg)


@dataclass(frozen=True)
class RestoreArchived(Op):
    """Put s11 and c5 (archived by the setup) back in the files: they are unarchived."""

    def apply(self, pkg):
        for name, rows in district.archived_rows().items():
            if f := _file(pkg, name):
                for values in rows:
                    _append(f, values)


@dataclass(frozen=True)
class DropColumn(Op):
    file: str
    column: str

    def apply(self, pkg):
        f = _file(pkg, self.file)
        if not f or (c := f.col(self.column)) is None:
            return
        f.header = [(col, h) for col, h in f.header if col != self.column]
        del f.columns[c]
        for r in f.rows:
            if c < len(r):
                del r[c]


@dataclass(frozen=True)
class RenameHeader(Op):
    file: str
    column: str
    new: str

    def apply(self, pkg):
        if f := _file(pkg, self.file):
            f.header = [(c, self.new if c == self.column else h) for c, h in f.header]


@dataclass(frozen=True)
class DuplicateHeader(Op):
    """A second column with the same header text (its cells copied, or blank)."""

    file: str
    column: str
    copy_values: bool = True

    def apply(self, pkg):
        f = _file(pkg, self.file)
        if not f or (c := f.col(self.column)) is None:
            return
        text = next((h for col, h in f.header if col == self.column), self.column)
        f.header.append((self.column + "#2", text))
        f.columns.append(self.column + "#2")
        for r in f.rows:
            r.append(r[c] if self.copy_values and c < len(r) else "")


@dataclass(frozen=True)
class DropHeaderName(Op):
    """The header loses a name but the rows keep the cell: every row is one too long."""

    file: str
    column: str

    def apply(self, pkg):
        if f := _file(pkg, self.file):
            f.header = [(c, h) for c, h in f.header if c != self.column]


@dataclass(frozen=True)
class RowWidth(Op):
    """A row with `delta` cells more (appended) or fewer (cut from the end)."""

    file: str
    row: int
    delta: int

    def apply(self, pkg):
        f = _file(pkg, self.file)
        if not f or (i := f.row(self.row)) is None:
            return
        if self.delta > 0:
            f.rows[i].extend(["extra"] * self.delta)
        else:
            del f.rows[i][max(1, len(f.rows[i]) + self.delta) :]


@dataclass(frozen=True)
class LineEndings(Op):
    """Line ends cycle through `pattern` (e.g. ("\\n",), ("\\r",), ("\\r\\n", "\\n", "\\r"))."""

    file: str
    pattern: tuple[str, ...]

    def apply(self, pkg):
        if f := _file(pkg, self.file):
            f.terminators = self.pattern


# -- text stage


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def _lines(text: str) -> list[str]:
    return _LINE.findall(text)


@dataclass(frozen=True)
class InsertText(Op):
    """Characters put into the written text at the start (plus `offset`) of a line's
    `cell`th comma-separated part: stray or unclosed quotes, NUL, BOM, control chars."""

    STAGE = 1
    file: str
    line: int
    cell: int
    chars: str
    offset: int = 0

    def apply(self, pkg):
        f = _file(pkg, self.file)
        if not f:
            return
        lines = _lines(f.text)
        if not lines:
            f.text = self.chars + f.text
            return
        n = self.line % len(lines)
        line = lines[n]
        starts = [0] + [m.end() for m in re.finditer(",", line)]
        at = starts[self.cell % len(starts)] + self.offset
        at = min(at, len(line.rstrip("\r\n")))
        lines[n] = line[:at] + self.chars + line[at:]
        f.text = "".join(lines)


@dataclass(frozen=True)
class ConcatExport(Op):
    """Two exports in one file (a second header mid-file), with a BOM between them."""

    STAGE = 1
    file: str
    bom: bool = True

    def apply(self, pkg):
        if f := _file(pkg, self.file):
            text = f.text if f.text.endswith(("\n", "\r")) else f.text + "\r\n"
            f.text = text + ("\ufeff" if self.bom else "") + text


# -- bytes stage


ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "cp1252")


@dataclass(frozen=True)
class Encode(Op):
    """Written in `encoding` (utf-16 and utf-32 with a BOM, utf-16-le/-be without)."""

    STAGE = 2
    file: str
    encoding: str

    def apply(self, pkg):
        if f := _file(pkg, self.file):
            f.encoding = self.encoding


@dataclass(frozen=True)
class InsertByte(Op):
    STAGE = 4
    file: str
    permille: int
    byte: int

    def apply(self, pkg):
        if f := _file(pkg, self.file):
            at = len(f.data) * (self.permille % 1001) // 1000
            f.data = f.data[:at] + bytes([self.byte]) + f.data[at:]


@dataclass(frozen=True)
class Truncate(Op):
    """Cut at an arbitrary byte (a partial upload)."""

    STAGE = 4
    file: str
    permille: int

    def apply(self, pkg):
        if f := _file(pkg, self.file):
            f.data = f.data[: len(f.data) * (self.permille % 1001) // 1000]


@dataclass(frozen=True)
class TruncateAtLine(Op):
    """Cut right after the end of line `lines` (the header is line 0; UTF-8 and cp1252
    files only): the rows after it really vanished, so their records may be archived."""

    STAGE = 4
    file: str
    lines: int

    def apply(self, pkg):
        f = _file(pkg, self.file)
        if f and f.encoding in ("utf-8", "utf-8-sig", "cp1252"):
            ends = [m.end() for m in re.finditer(rb"\r\n|\r(?!\n)|\n", f.data)]
            if ends:
                f.data = f.data[: ends[self.lines % len(ends)]]


def xlsx_bytes() -> bytes:
    """A minimal spreadsheet (a zip), as Excel's .xlsx saved under a .csv name."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships/>')
        z.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook/>')
        z.writestr("xl/worksheets/sheet1.xml", "<worksheet><sheetData/></worksheet>")
    return out.getvalue()


@dataclass(frozen=True)
class XlsxBytes(Op):
    STAGE = 4
    file: str

    def apply(self, pkg):
        if f := _file(pkg, self.file):
            f.data = xlsx_bytes()


# -- layout stage (applied while writing the folder or zip)


@dataclass(frozen=True)
class DeleteFile(Op):
    STAGE = 5
    file: str

    def apply(self, pkg):
        if f := _file(pkg, self.file):
            f.deleted = True


@dataclass(frozen=True)
class Layout(Op):
    """What the sync is pointed at, besides the files themselves:

    - csv_folder: `file` is a folder (holding readme.txt), not a file
    - empty_folder: an empty folder named `file` (backup.csv) beside the files
    - dangling: `file` is a symlink to nothing (old.csv, or a real file's name)
    - nested: the files are in export/ inside the folder
    - stale_copy: an older copy of `file` in archive/ beside the files
    - zip / zip_duplicate / zip_case_twin / zip_dir_clash: the files in a .zip; with a
      second member named `file` (its older copy, after the first), `Users.csv`-style
      case twin holding the older copy, or a `file/readme.txt` member
    """

    STAGE = 6
    kind: str
    file: str = "users.csv"

    def apply(self, pkg):
        pkg.layout.append(self)


# ---------------------------------------------------------------- recipes


@dataclass(frozen=True)
class Recipe:
    """The mutations, the flags of the sync that reads them, and what follows it:
    `then` "baseline" syncs the pristine export afterwards (so records created from
    hostile rows are archived, unarchived, planned), "again" syncs the same input again."""

    ops: tuple = ()
    threshold: str = "10"
    dry_run: bool = False
    then: str = ""

    def describe(self) -> str:
        flags = f"--threshold {self.threshold}" + (" --dry-run" if self.dry_run else "")
        if self.then:
            flags += f"; then {'the baseline export' if self.then == 'baseline' else 'the same input'} again"
        if not self.ops:
            return f"{flags}; no mutation (the baseline export)"
        ordered = sorted(self.ops, key=lambda op: op.STAGE)  # as materialize applies them
        return f"{flags}; " + "; ".join(describe_op(op) for op in ordered)

    def size(self) -> int:
        """For picking the smallest example of a failure: fewer and simpler ops first."""
        extra = self.dry_run + bool(self.then)
        return 1000 * len(self.ops) + sum(len(show(op)) for op in self.ops) + extra


def describe_op(op: Op) -> str:
    fields = ", ".join(f"{k}={show(v)}" for k, v in op.__dict__.items())
    return f"{type(op).__name__}({fields})"


def materialize(recipe: Recipe, folder: Path) -> Path:
    """Write the recipe's export under `folder`; return the path to sync (folder or zip)."""
    pkg = Package.baseline_package()
    ops = sorted(recipe.ops, key=lambda op: op.STAGE)  # stable: list order within a stage
    for stage in range(7):
        if stage == 1:
            for f in pkg.files.values():
                f.text = serialize(f)
        if stage == 3:
            for f in pkg.files.values():
                f.data = encode_text(f.text, f.encoding)
        for op in ops:
            if op.STAGE == stage:
                op.apply(pkg)
    return write_package(pkg, folder)


def write_package(pkg: Package, folder: Path) -> Path:
    kinds = {op.kind: op for op in pkg.layout}
    zipped = next((op for op in pkg.layout if op.kind.startswith("zip")), None)
    base = folder / "export" if "nested" in kinds else folder
    files = {f.name: f.data for f in pkg.files.values() if not f.deleted}
    extra: list[tuple[str, bytes | None]] = []  # (relative path, bytes or None for a dir)
    for op in pkg.layout:
        if op.kind == "stale_copy":
            extra.append((f"archive/{op.file}", pkg.baseline.get(op.file, b"old")))
    if zipped is not None:
        return _write_zip(pkg, folder, files, extra, zipped, nested="nested" in kinds)
    base.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (base / name).write_bytes(data)
    for rel, data in extra:
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / rel).write_bytes(data)
    for op in pkg.layout:  # later ops win over earlier ones on the same name
        target = base / op.file
        if op.kind not in ("csv_folder", "empty_folder", "dangling"):
            continue
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.is_dir():
            shutil.rmtree(target)
        if op.kind == "csv_folder":
            target.mkdir()
            (target / "readme.txt").write_text("not a csv\n")
        elif op.kind == "empty_folder":
            target.mkdir()
        else:
            os.symlink(folder / "nowhere" / op.file, target)
    return folder


def _write_zip(pkg, folder, files, extra, zipped, *, nested: bool) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    archive = folder / "export.zip"
    prefix = "export/" if nested else ""
    members: list[tuple[str, bytes]] = [(prefix + n, d) for n, d in files.items()]
    members += [(prefix + rel, d) for rel, d in extra]
    name = zipped.file
    old = pkg.baseline.get(name, b"sourcedId\r\n")
    if zipped.kind == "zip_duplicate":
        members.append((prefix + name, old))
    elif zipped.kind == "zip_case_twin":
        members.append((prefix + name[:1].upper() + name[1:], old))
    elif zipped.kind == "zip_dir_clash":
        members.append((prefix + name + "/readme.txt", b"not a csv\n"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name": that is the point
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
            for member, data in members:
                z.writestr(member, data)
    return archive


# ---------------------------------------------------------------- strategies

HOSTILE_IDS = (
    "a/b",
    "../../etc/passwd",
    "..",
    "/",
    'quo"te',
    "it's",
    "   ",
    "\t",
    "<<X256>>",
    "<<X10000>>",
    "c1/s1",
    "s1 ",
    " t1",
    "0123",
    "é-ü-ß",
    "\U0001f600",
    "a,b",
    "line\nbreak",
    "cr\rret",
    "nul\x00id",
    "ctl\x01\x1f\x7f",
    "\ufeffbom",
    "zero\u200bwidth",
    "=cmd|' /C calc'!A0",
    "%s%n",
    "NULL",
)
CONTROL = ("\x00", "\x01", "\x07", "\x1b", "\x7f", "\x0b", "\x0c", "\x85", "\u2028", "\ufeff")
CONTROL += ("\u200b", "\r", "\n", "\t", '"', '""', "\x00\x00\x00")
ROLE_VALUES = ("", " ", "studnet", "Teacher ", "TEACHER", "aide", "administrator", "proctor")
ROLE_VALUES += ("guardian", "parent", "student\x00", "teacher,student")
PLAIN_VALUES = ("", " ", "0123", "0456", "0789", "9999", "123", "true", "false", "tobedeleted")
PLAIN_VALUES += ("inactive", "active", "2014-03-09", "2099-01-01", "13/45/2010", "not a date")
PLAIN_VALUES += ("bob@@example", "new@example.org", "t1@district.k12.ca.us", "(206) 384-2291")
PLAIN_VALUES += ("+44 20 7946 0958", "https://evil.example.com/x", "0123,0456", "p1,p2,s1")
PLAIN_VALUES += ("teacher", "student", "parent", "school", "district", "c1", "s1", "t1", "p1")

# Manifest values that change how the files are read: delta mode, absent files, versions.
MANIFEST_VALUES = (
    "delta",
    "absent",
    "bulk",
    "1.2",
    "1.0",
    "2.0",
    "file.users",
    "oneroster.version",
)

# Columns worth aiming at, per file (any column of the file may be hit too).
TARGET_COLUMNS = {
    "users.csv": (
        "sourcedId",
        "orgSourcedIds",
        "role",
        "givenName",
        "familyName",
        "email",
        "sms",
        "phone",
        "agentSourcedIds",
        "status",
        "enabledUser",
        "grades",
    ),
    "orgs.csv": ("sourcedId", "name", "type", "status"),
    "classes.csv": ("sourcedId", "title", "schoolSourcedId", "termSourcedIds", "status"),
    "enrollments.csv": ("classSourcedId", "userSourcedId", "role", "primary", "status"),
    "demographics.csv": ("sourcedId", "birthDate"),
    "academicSessions.csv": ("sourcedId", "title"),
    "manifest.csv": ("propertyName", "value"),
}
HEADER_VARIANTS = (
    "{c}",
    "{C}",
    "{l}",
    " {c} ",
    "\ufeff{c}",
    "{c}\u200b",
    "{c}\x00",
    "{c}\x01",
    "{c}\u00a0",
    "{t}",
    "{c}_old",
    "x{c}",
    "",
    "???",
    "<<X256>>",
)

rows = st.integers(0, 40)
data_files = st.sampled_from(FILES[:5])
any_file = st.sampled_from(FILES)


def _rare_huge() -> st.SearchStrategy[bool]:
    # Shrinks towards False: a huge cell is slow, and rarely the point of a failure.
    return st.integers(0, 299).map(lambda n: n == 299)


@st.composite
def cell_values(draw, file: str, column: str) -> str:
    if draw(_rare_huge()):
        return "<<HUGE>>"
    if column == "role":
        pool = ROLE_VALUES
    elif file == "manifest.csv":
        pool = MANIFEST_VALUES + PLAIN_VALUES
    elif column.endswith("ourcedId") or column.endswith("ourcedIds"):
        pool = HOSTILE_IDS + PLAIN_VALUES
    else:
        pool = PLAIN_VALUES + HOSTILE_IDS
    return draw(st.sampled_from(pool))


@st.composite
def targeted_column(draw, file: str) -> str:
    header = _baseline_tables()[file][0]
    return draw(st.sampled_from(TARGET_COLUMNS[file] + tuple(header)))


@st.composite
def cell_ops(draw):
    file = draw(any_file)
    column = draw(targeted_column(file))
    kind = draw(st.sampled_from(("set", "conflict", "insert")))
    if kind == "set":
        return SetCell(file, draw(rows), column, draw(cell_values(file, column)))
    if kind == "conflict":
        return ConflictRow(
            file, draw(rows), column, draw(cell_values(file, column)), draw(st.booleans())
        )
    return InsertInCell(file, draw(rows), column, draw(st.sampled_from(CONTROL)), draw(rows))


@st.composite
def header_ops(draw):
    file = draw(any_file)
    header = _baseline_tables()[file][0]
    column = draw(st.sampled_from(header))
    kind = draw(st.sampled_from(("rename", "duplicate", "drop_name", "drop_column")))
    if kind == "rename":
        variant = draw(st.sampled_from(HEADER_VARIANTS + tuple(header)))
        typo = column[:-1] if len(column) > 3 else column + "x"
        new = variant.format(c=column, C=column.upper(), l=column.lower(), t=typo)
        return RenameHeader(file, column, new)
    if kind == "duplicate":
        return DuplicateHeader(file, column, draw(st.booleans()))
    if kind == "drop_name":
        return DropHeaderName(file, column)
    optional = OPTIONAL_COLUMNS.get(file)
    if optional:
        column = draw(st.sampled_from(optional))
    return DropColumn(file, column)


@st.composite
def row_ops(draw):
    file = draw(data_files)
    kind = draw(st.sampled_from(("drop", "duplicate", "width")))
    if kind == "drop":
        return DropRow(file, draw(rows))
    if kind == "duplicate":
        return DuplicateRow(file, draw(rows))
    return RowWidth(file, draw(rows), draw(st.sampled_from((1, 2, -1, -2, -5))))


hostile_id = st.sampled_from(HOSTILE_IDS)
record_ops = st.one_of(
    st.builds(
        AddUser,
        hostile_id,
        st.sampled_from(("student", "teacher", "parent")),
        st.sampled_from(("0123", "0456", "9999", "0123,0456")),
        st.booleans(),
    ),
    st.builds(AddClass, hostile_id, st.sampled_from(("0123", "0789", "9999"))),
    st.builds(
        AddEnrollment,
        st.sampled_from(("c1", "c2", "c3", "nope") + HOSTILE_IDS),
        st.sampled_from(("s1", "s5", "t2", "nope") + HOSTILE_IDS),
        st.sampled_from(("student", "teacher") + ROLE_VALUES),
    ),
    st.builds(
        AddOrg,
        st.sampled_from(HOSTILE_IDS + ("0999", "123")),
        st.sampled_from(("school", "district")),
    ),
    st.builds(SlashCollision, st.sampled_from(("x", "s1", "a/b")), st.sampled_from(("y", "s2"))),
    st.just(RestoreArchived()),
    # Enrollment roles that are typos or empty, on existing rows.
    st.builds(
        SetCell, st.just("enrollments.csv"), rows, st.just("role"), st.sampled_from(ROLE_VALUES)
    ),
)
text_ops = st.one_of(
    st.builds(
        InsertText,
        any_file,
        st.integers(0, 30),
        st.integers(0, 20),
        st.sampled_from(('"', '"', "\x00", "\ufeff", "\r", "\n", '","', "\x1a") + CONTROL),
        st.integers(0, 3),
    ),
    st.builds(ConcatExport, data_files, st.booleans()),
    st.builds(
        LineEndings,
        any_file,
        st.sampled_from((("\n",), ("\r",), ("\r\n", "\n"), ("\n", "\r"), ("\r\n", "\n", "\r"))),
    ),
)
byte_ops = st.one_of(
    st.builds(Encode, any_file, st.sampled_from(ENCODINGS)),
    st.builds(
        InsertByte,
        any_file,
        st.integers(0, 1000),
        st.sampled_from((0x81, 0x8D, 0xFF, 0xE9, 0xC3, 0x00, 0xFE, 0x9D)),
    ),
    st.builds(Truncate, any_file, st.integers(0, 1000)),
    st.builds(TruncateAtLine, any_file, st.integers(0, 30)),
    st.builds(XlsxBytes, st.sampled_from(("users.csv", "orgs.csv", "manifest.csv"))),
)
layout_ops = st.one_of(
    st.builds(DeleteFile, any_file),
    st.builds(Layout, st.just("csv_folder"), st.sampled_from(("users.csv", "classes.csv"))),
    st.builds(Layout, st.just("empty_folder"), st.sampled_from(("backup.csv", "old.csv"))),
    st.builds(Layout, st.just("dangling"), st.sampled_from(("old.csv", "users.csv"))),
    st.builds(Layout, st.just("nested")),
    st.builds(Layout, st.just("stale_copy"), any_file),
    st.builds(
        Layout,
        st.sampled_from(("zip", "zip_duplicate", "zip_case_twin", "zip_dir_clash")),
        st.sampled_from(("users.csv", "classes.csv", "orgs.csv")),
    ),
)
ops = st.one_of(
    cell_ops(),
    record_ops,
    header_ops(),
    row_ops(),
    cell_ops(),
    record_ops,
    text_ops,
    byte_ops,
    layout_ops,
)


def recipes(max_ops: int = 5) -> st.SearchStrategy[Recipe]:
    return st.builds(
        Recipe,
        ops=st.lists(ops, min_size=0, max_size=max_ops).map(tuple),
        threshold=st.sampled_from(("10", "60", "100")),
        dry_run=st.integers(0, 4).map(lambda n: n == 4),
        then=st.sampled_from(("", "", "", "", "baseline", "again")),
    )
