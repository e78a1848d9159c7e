"""Which records of the mirror are still present in a (mutated) export: the oracle for
rule Q ("never archive a record still present in the files").

It is written independently of the engine and is SOUND: it calls a record present only
when a correct engine could not legitimately archive it. It may miss some present
records, which only means the fuzzer misses some bugs. How it reads the files:

1. Files. A file is every regular file (or zip member) whose name, case-folded, is that
   CSV's name, in any folder of the export. When there are several (a zip with two
   `users.csv` members, `Users.csv` beside `users.csv`, a stale copy in a subfolder),
   a record must be present in EVERY candidate: the engine may read any one, or fail.
   A folder, an empty folder or a dangling symlink is no file.
2. Decoding, leniently: a BOM picks UTF-8, UTF-16 or UTF-32; without one, NUL bytes in
   every other (or every fourth) position mean UTF-16 (UTF-32); otherwise UTF-8, and if
   that fails both UTF-8 and Windows-1252 with replacement characters, where a record
   must be present in both readings.
3. Rows, the way DESIGN §3.4 says a reader must: lines end at CRLF, LF or CR; a record
   starts on a line and is read with the csv module (strict); a quoted field may span
   lines only if the record it ends up in has the header's number of cells. Otherwise
   (a stray or unclosed quote, too many or too few cells) the row is *unreadable*: that
   one line is read on its own, leniently, and the reader carries on with the next line.
   An unreadable row whose ID cell (at the header's ID column) holds an ID keeps that
   record (rule Q: "a row that cannot be read" is an error, and "a person or class that
   is present in the source but fails validation is never archived").
4. Columns are found by header name, normalized as DESIGN §3.2 says (NFKC, invisible
   characters dropped, case, spaces, `-`, `.` and `_` folded), aliases included. A
   column named twice is ambiguous: the file counts as unreadable for that column, and a
   file without an ID column holds nobody.
5. Cells are compared after removing NUL and BOM (U+FEFF) characters anywhere in them
   (the brief: ignore them when matching, so `t<NUL>1` is `t1`) and surrounding spaces.

Records made by hand (no sync config) are always "present": a sync never archives them.
A record is present when:
- school S: some row of orgs.csv has ID S, type `school` and a status that is not
  `tobedeleted`/`inactive` [or some *unreadable* row has ID S: tag `school row unreadable`;
  a NUL/BOM in its row: `NUL/BOM in ID (school)` or `NUL/BOM in row (school)`]
- person P: users.csv has at least one row with ID P, and EVERY row with ID P has no
  deleting status, `enabledUser` not `false`, a role that is not one Rollcall ignores
  (aide, proctor), and, when the row is readable, an orgSourcedIds cell naming a present
  school (when it is unreadable, one of P's mirror schools must be present) [tags:
  `row unreadable`, `role invalid`, `NUL/BOM in ID`, `NUL/BOM in row`; and its school's]
- class C: classes.csv likewise, with its schoolSourcedId naming a present school
- enrollment (C, P): C and P present, and enrollments.csv has a row for (C, P) and every
  such row has no deleting status and a role that is teacher or student [a typo or empty
  role: tag `enrollment role invalid`; administrator/proctor/aide make it absent]
- guardianship (A, S): A and S present, every row of both readable with roles parent-ish
  and student, and A's or S's agentSourcedIds (on every row of that person) names the other.

So a record whose row really vanished (a dropped row, a truncation exactly at a line end,
a deleted file, a renamed ID), was disabled or deleted by status, or whose school left
the files, may be archived, and is never flagged. The tags say what leniency was needed to
call a record present; a flagged record with no tag had a clean, readable row.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

DELETED = {"tobedeleted", "inactive"}
USER_ROLES = {"teacher", "administrator", "student", "parent", "guardian", "relative"}
IGNORED_USER_ROLES = {"aide", "proctor"}
PARENT_ROLES = {"parent", "guardian", "relative"}
ENROLLMENT_ROLES = {"teacher", "student"}
# Enrollment roles OneRoster knows that do not make a class member: legitimately skipped.
OTHER_ENROLLMENT_ROLES = {"administrator", "proctor", "aide"} | PARENT_ROLES

ALIASES = {  # file -> {normalized header -> column key}
    "users.csv": {"orgsourcedid": "orgsourcedids", "agentsourcedid": "agentsourcedids"},
    "classes.csv": {"orgsourcedid": "schoolsourcedid"},
    "demographics.csv": {"usersourcedid": "sourcedid"},
}
FILES = ("orgs.csv", "users.csv", "classes.csv", "enrollments.csv")


def hkey(raw: str) -> str:
    text = unicodedata.normalize("NFKC", raw)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cf", "Cc"))
    return re.sub(r"[\s\-._]+", "", text.casefold())


def clean(cell: str | None) -> str:
    return (cell or "").replace("\x00", "").replace("\ufeff", "").strip()


def split_list(cell: str | None) -> list[str]:
    return [clean(part) for part in clean(cell).split(",") if clean(part)]


# ---------------------------------------------------------------- files and decoding


def candidates(path: Path) -> dict[str, list[bytes]]:
    """CSV name (lower-case) -> the bytes of every file or member that may be read as it."""
    found: dict[str, list[bytes]] = {}
    if path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                if info.is_dir():
                    continue
                name = info.filename.replace("\\", "/").rsplit("/", 1)[-1].lower()
                if name.endswith(".csv"):
                    found.setdefault(name, []).append(z.read(info))
        return found
    for p in sorted(path.rglob("*")):
        if p.is_file() and not p.is_symlink() and p.name.lower().endswith(".csv"):
            found.setdefault(p.name.lower(), []).append(p.read_bytes())
    return found


def decodings(data: bytes) -> list[str]:
    boms = (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    )
    for bom, codec in boms:
        if data.startswith(bom):
            texts = [data.decode(codec, errors="replace")]
            break
    else:
        texts = _bomless(data)
    return texts


def _bomless(data: bytes) -> list[str]:
    n = len(data)
    if n >= 8:
        quads = [sum(1 for b in data[i::4] if b == 0) for i in range(4)]
        per = n / 4
        if quads[1] > 0.6 * per and quads[2] > 0.6 * per and quads[3] > 0.6 * per:
            return [data.decode("utf-32-le", errors="replace")]
        if quads[0] > 0.6 * per and quads[1] > 0.6 * per and quads[2] > 0.6 * per:
            return [data.decode("utf-32-be", errors="replace")]
        even = sum(1 for b in data[0::2] if b == 0) / (n / 2)
        odd = sum(1 for b in data[1::2] if b == 0) / (n / 2)
        if odd > 0.3 and even < 0.05:
            return [data.decode("utf-16-le", errors="replace")]
        if even > 0.3 and odd < 0.05:
            return [data.decode("utf-16-be", errors="replace")]
    try:
        return [data.decode("utf-8")]
    except UnicodeDecodeError:
        return [data.decode("utf-8", errors="replace"), data.decode("cp1252", errors="replace")]


# ---------------------------------------------------------------- rows

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


@dataclass
class Row:
    line: int
    cells: list[str]
    readable: bool


@dataclass
class View:
    """One file as read: columns by normalized name, and its rows."""

    cols: dict[str, int]
    rows: list[Row]

    def get(self, row: Row, key: str) -> str | None:
        i = self.cols.get(key)
        return row.cells[i] if i is not None and i < len(row.cells) else None

    def rows_of(self, key: str, value: str) -> list[Row]:
        return [r for r in self.rows if clean(self.get(r, key)) == value]


def _record(lines: list[str], i: int) -> tuple[list[str] | None, int]:
    reader = csv.reader(iter(lines[i:]), strict=True)
    try:
        return next(reader), reader.line_num
    except (csv.Error, StopIteration):
        return None, 1


def _lenient(line: str) -> list[str]:
    try:
        return next(csv.reader([line.rstrip("\r\n")]), [])
    except csv.Error:
        return line.rstrip("\r\n").split(",")


def read_view(text: str, name: str) -> View:
    lines = _LINE.findall(text)
    if not lines:
        return View({}, [])
    header, used = _record(lines, 0)
    if header is None:
        header, used = _lenient(lines[0]), 1
    aliases = ALIASES.get(name, {})
    cols: dict[str, int] = {}
    ambiguous = set()
    for pos, raw in enumerate(header):
        k = hkey(raw)
        k = aliases.get(k, k)
        if k in cols:
            ambiguous.add(k)
        cols[k] = pos
    for k in ambiguous:
        del cols[k]
    width = len(header)
    rows: list[Row] = []
    i = used
    while i < len(lines):
        if not lines[i].strip("\r\n"):
            i += 1
            continue
        cells, used = _record(lines, i)
        if cells is not None and len(cells) == width:
            rows.append(Row(i + 1, cells, True))
            i += used
            continue
        if cells is not None and used == 1 and (not cells or cells == [""]):
            i += 1
            continue
        rows.append(
            Row(i + 1, cells if cells is not None and used == 1 else _lenient(lines[i]), False)
        )
        i += 1
    return View(cols, rows)


# ---------------------------------------------------------------- presence

Tags = frozenset


@dataclass
class Presence:
    """Present records (of the mirror's IDs) -> tags of the leniency needed."""

    schools: dict[str, Tags] = field(default_factory=dict)
    people: dict[str, Tags] = field(default_factory=dict)
    classes: dict[str, Tags] = field(default_factory=dict)
    enrollments: dict[tuple[str, str], Tags] = field(default_factory=dict)
    guardianships: dict[tuple[str, str], Tags] = field(default_factory=dict)

    def lookup(self, kind: str, key) -> Tags | None:
        if kind == "handmade":  # no sync config: never archived by a sync (DESIGN §2)
            return Tags({"made by hand"})
        return getattr(self, kind).get(key)


@dataclass
class MirrorIds:
    """The mirror's records the oracle judges: IDs, roles, schools."""

    schools: set[str]
    people: dict[str, tuple[str, tuple[str, ...]]]  # sid -> (role, schools)
    classes: dict[str, str]  # sid -> school
    enrollments: set[tuple[str, str]]
    guardianships: set[tuple[str, str]]


def presence(path: Path, mirror: MirrorIds, cap: int = 16) -> Presence:
    """What is present in the export at `path` (folder or zip), in every reading."""
    found = candidates(path)
    readings = []
    for name in FILES:
        texts = [t for data in found.get(name, []) for t in decodings(data)]
        if not texts:
            return Presence()  # a required file is not there: nothing can be present
        readings.append([read_view(t, name) for t in texts])
    result: Presence | None = None
    for combo in itertools.islice(itertools.product(*readings), cap):
        one = _presence(dict(zip(FILES, combo, strict=True)), mirror)
        result = one if result is None else _intersect(result, one)
    return result or Presence()


def _intersect(a: Presence, b: Presence) -> Presence:
    out = Presence()
    for kind in ("schools", "people", "classes", "enrollments", "guardianships"):
        da, db = getattr(a, kind), getattr(b, kind)
        setattr(out, kind, {k: da[k] | db[k] for k in da.keys() & db.keys()})
    return out


def _best(options: list[Tags]) -> Tags | None:
    return min(options, key=len) if options else None


def _presence(v: dict[str, View], m: MirrorIds) -> Presence:
    p = Presence()
    orgs, users, classes, enrollments = (v[n] for n in FILES)
    if "sourcedid" in orgs.cols:
        for row in orgs.rows:
            sid = clean(orgs.get(row, "sourcedid"))
            if not sid:
                continue
            if row.readable:
                typ = clean(orgs.get(row, "type")).lower()
                if typ != "school" or clean(orgs.get(row, "status")).lower() in DELETED:
                    continue
                tags = Tags(f"{t} (school)" for t in _row_tags(orgs, row, "sourcedid"))
                if sid not in p.schools or len(tags) < len(p.schools[sid]):
                    p.schools[sid] = tags
            elif sid not in p.schools:
                p.schools[sid] = Tags({"school row unreadable"})

    if "sourcedid" in users.cols:
        for sid, (_role, schools) in m.people.items():
            tags = _person(users, sid, schools, p.schools)
            if tags is not None:
                p.people[sid] = tags

    if "sourcedid" in classes.cols:
        for sid, school in m.classes.items():
            tags = _class(classes, sid, school, p.schools)
            if tags is not None:
                p.classes[sid] = tags

    if {"classsourcedid", "usersourcedid"} <= enrollments.cols.keys():
        for cid, pid in m.enrollments:
            if cid in p.classes and pid in p.people:
                tags = _enrollment(enrollments, cid, pid)
                if tags is not None:
                    p.enrollments[cid, pid] = tags | p.classes[cid] | p.people[pid]

    for parent, student in m.guardianships:
        if parent in p.people and student in p.people and _linked(users, parent, student):
            p.guardianships[parent, student] = p.people[parent] | p.people[student]
    return p


def _row_tags(view: View, row: Row, *keys: str) -> set[str]:
    """`NUL/BOM in ID` when an ID cell of the row needed them removed to match, else
    `NUL/BOM in row` when another cell holds one (a reader must hold such a row)."""
    if any((view.get(row, key) or "").strip() != clean(view.get(row, key)) for key in keys):
        return {"NUL/BOM in ID"}
    if any("\x00" in cell or "\ufeff" in cell for cell in row.cells):
        return {"NUL/BOM in row"}
    return set()


def _person(users: View, sid: str, schools: tuple[str, ...], present: dict) -> Tags | None:
    rows = users.rows_of("sourcedid", sid)
    if not rows:
        return None
    tags: set[str] = set()
    for row in rows:
        tags |= _row_tags(users, row, "sourcedid")
        if clean(users.get(row, "status")).lower() in DELETED:
            return None
        if clean(users.get(row, "enableduser")).lower() == "false":
            return None
        role = clean(users.get(row, "role")).lower()
        if role in IGNORED_USER_ROLES:
            return None
        if row.readable:
            if "role" in users.cols and role not in USER_ROLES:
                tags.add("role invalid")
            listed = split_list(users.get(row, "orgsourcedids"))
            best = _best([present[s] for s in listed if s in present])
        else:
            tags.add("row unreadable")
            best = _best([present[s] for s in schools if s in present])
        if best is None:
            return None
        tags |= best
    return Tags(tags)


def _class(classes: View, sid: str, school: str, present: dict) -> Tags | None:
    rows = classes.rows_of("sourcedid", sid)
    if not rows:
        return None
    tags: set[str] = set()
    for row in rows:
        tags |= _row_tags(classes, row, "sourcedid")
        if clean(classes.get(row, "status")).lower() in DELETED:
            return None
        if row.readable:
            at = clean(classes.get(row, "schoolsourcedid"))
        else:
            tags.add("row unreadable")
            at = school
        if at not in present:
            return None
        tags |= present[at]
    return Tags(tags)


def _enrollment(view: View, cid: str, pid: str) -> Tags | None:
    rows = [
        r for r in view.rows_of("classsourcedid", cid) if clean(view.get(r, "usersourcedid")) == pid
    ]
    if not rows:
        return None
    tags: set[str] = set()
    for row in rows:
        tags |= _row_tags(view, row, "classsourcedid", "usersourcedid")
        if clean(view.get(row, "status")).lower() in DELETED:
            return None
        if not row.readable:
            tags.add("row unreadable")
            continue
        role = clean(view.get(row, "role")).lower()
        if role in OTHER_ENROLLMENT_ROLES:
            return None
        if role not in ENROLLMENT_ROLES:
            tags.add("enrollment role invalid")
    return Tags(tags)


def _linked(users: View, parent: str, student: str) -> bool:
    parent_rows, student_rows = (
        users.rows_of("sourcedid", parent),
        users.rows_of("sourcedid", student),
    )
    if not all(r.readable for r in parent_rows + student_rows):
        return False
    if not all(clean(users.get(r, "role")).lower() in PARENT_ROLES for r in parent_rows):
        return False
    if not all(clean(users.get(r, "role")).lower() == "student" for r in student_rows):
        return False
    if "agentsourcedids" not in users.cols:
        return False
    return any(
        rows and all(other in split_list(users.get(r, "agentsourcedids")) for r in rows)
        for rows, other in ((parent_rows, student), (student_rows, parent))
    )
