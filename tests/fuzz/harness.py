"""Run one fuzz example through `manage.py sync_roster --json` in-process and check the
invariants of the promise "bad input always gets a clear failure reason or an issue, never
a traceback, and never archives a record still present in the files":

1. the run ends `succeeded`, or `failed` with a reason other than `internal_error`; it
   is never left queued or running (and exactly one run is recorded);
2. stdout is exactly one JSON object, and it agrees with the run and the exit status;
3. no record present in the files (tests.fuzz.oracle) is archived or planned for archiving;
4. a failed run whose reason is not `threshold`, and any dry run, leave the mirror
   (rostering.*, accounts.User, accounts.ContactDevice) exactly as it was, every column;
   a `threshold` failure holding the whole run archives nothing (rule T3), and one
   holding some schools (T6) archives no record placed at a held school (placed from
   the mirror, as syncs.pipeline.holds places them, not from the run's own list);
5. no text, char or JSON column of any model of accounts, rostering or syncs holds NUL
   (checked on SQLite too, where NUL can be stored).

Also checked: records made by hand (no sync config) are never archived or planned for
archiving (DESIGN §2). An example may sync a second time (Recipe.then): the pristine
baseline export, after which the mutated sync's records are archived and anything it
archived is back (a present record left archived is flagged), or the same input again,
which must change nothing (DESIGN §3; `last_seen_run`/`updated_at` bookkeeping aside).
The same five invariants apply to that sync; its failures are prefixed with its label.

Setup (once per test): a hand-made account holding an email the files also use (rule
D3), a first sync of the district at threshold 100, then the baseline export at 60
(archiving s11 and c5), then hand-made records that share synced records' source IDs.

Isolation: the database is dumped once after the setup syncs (every table of those three
apps, with raw SQL so values round-trip exactly), and after each example every table
that differs from that dump is emptied and refilled from it, inside one transaction.
The example itself runs in autocommit, as in production (the test is
`django_db(transaction=True)`), so a failed statement on PostgreSQL behaves as it would
for a real run. Works on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime
import json
import logging
import shutil
import tempfile
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path

from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection, models, transaction

from tests.fuzz import district, oracle
from tests.fuzz.mutations import Recipe, materialize, serialize

ORG = "fuzz"
# notify too: a run's outcome records notification events that point at the run.
APPS = ("accounts", "rostering", "syncs", "notify")
MIRROR_TABLES = (
    "rostering_organization",
    "rostering_school",
    "rostering_person",
    "rostering_person_schools",
    "rostering_class",
    "rostering_enrollment",
    "rostering_guardianship",
    "accounts_user",
    "accounts_contactdevice",
)
ROOT = Path(__file__).resolve().parents[2]
OUTSIDER_EMAIL = "new@example.org"  # held by a hand-made account (rule D3)
STARTED = time.time()  # source files edited after this no longer match the running code


# ---------------------------------------------------------------- database dumps


@dataclass(frozen=True)
class TableInfo:
    name: str
    columns: tuple[str, ...]
    pk: str
    text: frozenset[str]  # char/text columns
    json: frozenset[str]


def table_infos() -> list[TableInfo]:
    out = []
    for label in APPS:
        for model in apps.get_app_config(label).get_models(include_auto_created=True):
            meta = model._meta
            if not meta.managed or meta.proxy:
                continue
            fields = meta.concrete_fields
            out.append(
                TableInfo(
                    name=meta.db_table,
                    columns=tuple(f.column for f in fields),
                    pk=meta.pk.column,
                    text=frozenset(
                        f.column
                        for f in fields
                        if isinstance(f, models.CharField | models.TextField)
                    ),
                    json=frozenset(f.column for f in fields if isinstance(f, models.JSONField)),
                )
            )
    return out


Dump = dict[str, list[tuple]]


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def dump(tables: list[TableInfo]) -> Dump:
    postgres = connection.vendor == "postgresql"
    out: Dump = {}
    with connection.cursor() as cur:
        for t in tables:
            cols = ", ".join(
                f"{_q(c)}::text" if postgres and c in t.json else _q(c) for c in t.columns
            )
            cur.execute(f"SELECT {cols} FROM {_q(t.name)} ORDER BY {_q(t.pk)}")
            out[t.name] = cur.fetchall()
    return out


def restore(tables: list[TableInfo], snapshot: Dump, current: Dump) -> None:
    """Put back every table whose rows differ from the snapshot."""
    postgres = connection.vendor == "postgresql"
    changed = [t for t in tables if current[t.name] != snapshot[t.name]]
    if not changed:
        return
    with transaction.atomic(), connection.cursor() as cur:
        for t in changed:
            cur.execute(f"DELETE FROM {_q(t.name)}")
        for t in changed:
            rows = snapshot[t.name]
            if not rows:
                continue
            marks = ", ".join("%s::jsonb" if postgres and c in t.json else "%s" for c in t.columns)
            cols = ", ".join(_q(c) for c in t.columns)
            if not postgres:
                rows = [tuple(map(_sqlite_value, row)) for row in rows]
            cur.executemany(f"INSERT INTO {_q(t.name)} ({cols}) VALUES ({marks})", rows)


def _sqlite_value(value):
    """Values as Django's SQLite backend writes them (its converters read them back)."""
    ops = connection.ops
    if isinstance(value, datetime.datetime):
        return ops.adapt_datetimefield_value(value)
    if isinstance(value, datetime.time):
        return ops.adapt_timefield_value(value)
    if isinstance(value, datetime.date):
        return ops.adapt_datefield_value(value)
    return value


def nul_cells(
    tables: list[TableInfo], current: Dump, before: Dump | None = None
) -> list[tuple[str, str, object, str]]:
    """(table, column, pk, value shown) of every stored text value holding NUL, in rows
    that are not in `before` exactly as they are now."""
    found = []
    for t in tables:
        watched = [(i, c) for i, c in enumerate(t.columns) if c in t.text or c in t.json]
        pk_at = t.columns.index(t.pk)
        old = set(before[t.name]) if before is not None else set()
        for row in current[t.name]:
            if row in old:
                continue
            for i, c in watched:
                value = row[i]
                if not isinstance(value, str):
                    continue
                hit = "\x00" in value
                if not hit and c in t.json and "\\u0000" in value:
                    try:
                        hit = _json_has_nul(json.loads(value))
                    except ValueError:
                        hit = True
                if hit:
                    found.append((t.name, c, row[pk_at], repr(value[:80])))
    return found


def _json_has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_json_has_nul(k) or _json_has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_json_has_nul(v) for v in value)
    return False


# ---------------------------------------------------------------- outcomes


@dataclass(frozen=True)
class Violation:
    kind: str  # one of KINDS
    key: str  # the distinct failure class
    detail: str


KINDS = {
    "traceback": "tracebacks (an exception escaped call_command)",
    "internal_error": "runs failed internal_error",
    "left_active": "runs left queued/running (or not recorded)",
    "bad_json": "stdout not exactly one JSON object / disagrees with the run",
    "wrongly_archived": "present records archived",
    "wrongly_planned": "present records planned for archiving",
    "mirror_changed": "mirror changed by a failed run (not threshold)",
    "dry_run_changed": "mirror changed by a dry run",
    "threshold_archived": "held records archived by a run failed `threshold` (T3, T6)",
    "nul_stored": "NUL characters stored",
    # Beyond the five invariants: DESIGN §3, "Running the same input twice changes nothing
    # the second time" (checked when Recipe.then == "again").
    "not_idempotent": "mirror changed by a second run of the same input (DESIGN §3)",
    "harness_error": "examples the fuzzer itself failed to run (a bug in tests/fuzz)",
}


@dataclass
class Outcome:
    recipe: Recipe
    ended: str = ""  # succeeded | failed: <reason> | traceback | no run
    then_ended: str = ""  # the same, for the follow-up sync (Recipe.then), if any
    returncode: int | None = None
    stdout: str = ""
    message: str = ""
    seconds: float = 0.0
    archived: int = 0  # baseline-active records archived by the run
    violations: list[Violation] = field(default_factory=list)

    def failure_keys(self) -> set[str]:
        return {v.key for v in self.violations}

    def add(self, kind: str, key: str, detail: str) -> None:
        self.violations.append(Violation(kind, key, detail))

    def explain(self, limit: int = 6) -> str:
        lines = [
            f"input: {self.recipe.describe()}",
            f"ended: {self.ended} (exit {self.returncode})",
        ]
        if self.then_ended:
            lines.append(f"then ({self.recipe.then}): {self.then_ended}")
        if self.message:
            lines.append(f"message: {self.message[:300]}")
        for v in self.violations[:limit]:
            lines.append(f"- {v.key}: {v.detail}")
        if len(self.violations) > limit:
            lines.append(f"- ... and {len(self.violations) - limit} more")
        return "\n".join(lines)


def engine_frame(tb) -> str:
    """Where in the project (not Django, not the tests) an exception was raised."""
    frames = [
        f
        for f in traceback.extract_tb(tb)
        if f.filename.startswith(str(ROOT))
        and "/.venv/" not in f.filename
        and "/tests/" not in f.filename
    ]
    if not frames:
        frames = traceback.extract_tb(tb)[-1:]
    if not frames:
        return "?"
    f = frames[-1]
    name = Path(f.filename)
    shown = name.relative_to(ROOT) if name.is_relative_to(ROOT) else name.name
    return f"{shown}:{f.name}"


SINGULAR = {
    "handmade": "record made by hand",
    "schools": "school",
    "people": "person",
    "classes": "class",
    "enrollments": "enrollment",
    "guardianships": "guardianship",
}


def _tb_tail(exc: BaseException, frames: int = 8) -> str:
    """The exception and the project's frames that led to it (innermost last)."""
    stack = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if f.filename.startswith(str(ROOT)) and "/.venv/" not in f.filename
    ][-frames:]
    lines = [f"{type(exc).__module__}.{type(exc).__qualname__}: {str(exc)[:500]}"]
    for f in stack:
        name = Path(f.filename)
        shown = name.relative_to(ROOT) if name.is_relative_to(ROOT) else name
        source = (f.line or "").strip()[:120]
        if name.exists() and name.stat().st_mtime > STARTED:  # edited while we ran
            source = "(file changed since the fuzzer started)"
        lines.append(f"  at {shown}:{f.lineno} in {f.name}: {source}")
    cause = exc.__cause__ or exc.__context__
    if cause is not None and cause is not exc:
        lines.append(f"  (caused by {type(cause).__qualname__}: {str(cause)[:300]})")
    return "\n".join(lines)


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def engine_errors() -> Iterator[_Errors]:
    """The engine's logged errors (with their tracebacks), kept off the console."""
    logger = logging.getLogger("syncs")
    handler, propagate = _Errors(), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


# ---------------------------------------------------------------- the harness


def write_tables(tables: dict, folder: Path) -> Path:
    from tests.fuzz.mutations import FileState

    folder.mkdir(parents=True, exist_ok=True)
    for name, (header, rows) in tables.items():
        f = FileState(name, [(c, c) for c in header], list(header), rows)
        (folder / name).write_bytes(serialize(f).encode("utf-8"))
    return folder


def sync_roster(*args: str) -> tuple[int, str, BaseException | None]:
    out, err = StringIO(), StringIO()
    try:
        call_command("sync_roster", *args, stdout=out, stderr=err)
        return 0, out.getvalue(), None
    except CommandError as exc:
        return exc.returncode, out.getvalue(), None
    except Exception as exc:  # noqa: BLE001 - a traceback is what the fuzzer looks for
        return -1, out.getvalue(), exc


class Harness:
    """The setup syncs, then `run(recipe)` for each example, restoring the database."""

    def __init__(self, workdir: Path) -> None:
        from accounts.models import ContactDevice, User
        from rostering.models import Class, Organization, Person, School

        self.workdir = workdir
        outsider = User.objects.create(username="outsider", email=OUTSIDER_EMAIL)
        ContactDevice.objects.create(account=outsider, kind="email", value=OUTSIDER_EMAIL)
        for n, (tables, threshold) in enumerate(
            ((district.first_files(), "100"), (district.baseline_files(), "60"))
        ):
            folder = write_tables(tables, workdir / f"setup{n}")
            self.baseline_path = folder  # the second: the pristine baseline export
            code, out, exc = sync_roster(
                "--org", ORG, "--path", str(folder), "--json", "--threshold", threshold
            )
            if code != 0:
                raise AssertionError(
                    f"setup sync {n + 1} did not succeed (exit {code}): {exc or out[:2000]}"
                )
        assert Person.objects.get(source_id=district.ARCHIVED_STUDENT).archived_at is not None
        assert Class.objects.get(source_id=district.ARCHIVED_CLASS).archived_at is not None
        # Records made by hand (no sync config) that no sync may ever archive (DESIGN §2),
        # with the source IDs of synced ones.
        org = Organization.objects.get(slug=ORG)
        school = School.objects.create(organization=org, sis_id="hand-made", name="By hand")
        Person.objects.create(organization=org, role="student", source_id="s1", given_name="Hand")
        Class.objects.create(organization=org, school=school, source_id="c1", name="By hand")
        self.tables = table_infos()
        self.snapshot = dump(self.tables)
        self._baseline_ids()

    def _baseline_ids(self) -> None:
        from rostering.models import Class, Enrollment, Guardianship, Person, School
        from syncs.models import SyncRun

        self.last_run = SyncRun.objects.order_by("-pk").values_list("pk", flat=True).first()
        people = {p.pk: p for p in Person.objects.prefetch_related("schools")}
        classes = {c.pk: c for c in Class.objects.select_related("school")}
        sid = {pk: p.source_id for pk, p in people.items()}
        csid = {pk: c.source_id for pk, c in classes.items()}
        # (model table, pk) -> (oracle kind, identity), for records active now
        self.identity: dict[tuple[str, int], tuple[str, object]] = {}
        ids = oracle.MirrorIds(set(), {}, {}, set(), set())
        for s in School.objects.filter(archived_at=None):
            if s.sync_config_id is None:
                self.identity["rostering_school", s.pk] = ("handmade", f"school {s.sis_id}")
                continue
            self.identity["rostering_school", s.pk] = ("schools", s.sis_id)
            ids.schools.add(s.sis_id)
        for pk, p in people.items():
            if p.archived_at is None and p.sync_config_id is None:
                self.identity["rostering_person", pk] = ("handmade", f"person {p.source_id}")
            elif p.archived_at is None:
                self.identity["rostering_person", pk] = ("people", p.source_id)
                ids.people[p.source_id] = (p.role, tuple(s.sis_id for s in p.schools.all()))
        for pk, c in classes.items():
            if c.archived_at is None and c.sync_config_id is None:
                self.identity["rostering_class", pk] = ("handmade", f"class {c.source_id}")
            elif c.archived_at is None:
                self.identity["rostering_class", pk] = ("classes", c.source_id)
                ids.classes[c.source_id] = c.school.sis_id
        for e in Enrollment.objects.filter(archived_at=None):
            key = (csid[e.section_id], sid[e.person_id])
            self.identity["rostering_enrollment", e.pk] = ("enrollments", key)
            ids.enrollments.add(key)
        for g in Guardianship.objects.filter(archived_at=None):
            key = (sid[g.parent_id], sid[g.student_id])
            self.identity["rostering_guardianship", g.pk] = ("guardianships", key)
            ids.guardianships.add(key)
        self.mirror_ids = ids
        self.archive_tables = {
            t.name: (t.columns.index(t.pk), t.columns.index("archived_at"))
            for t in self.tables
            if t.name in {table for table, _pk in self.identity}
        }

    def reset(self) -> None:
        """Put the database back as the setup left it (after a harness error)."""
        restore(self.tables, self.snapshot, dump(self.tables))

    # -- one example -------------------------------------------------------------

    def run(self, recipe: Recipe) -> Outcome:
        folder = Path(tempfile.mkdtemp(prefix="ex-", dir=self.workdir))
        out = Outcome(recipe)
        started = time.perf_counter()
        try:
            path = materialize(recipe, folder / "export")
            steps = [Step("", path, recipe.threshold, recipe.dry_run)]
            if recipe.then == "baseline":
                steps.append(Step("re-sync of the baseline", self.baseline_path, "100", False))
            elif recipe.then == "again":
                steps.append(Step("same input again", path, recipe.threshold, recipe.dry_run))
            before, last_run = self.snapshot, self.last_run
            for step in steps:
                args = [
                    "--org",
                    ORG,
                    "--path",
                    str(step.path),
                    "--json",
                    "--threshold",
                    step.threshold,
                ]
                if step.dry_run:
                    args.append("--dry-run")
                with engine_errors() as logged:
                    code, stdout, exc = sync_roster(*args)
                current = dump(self.tables)
                runs = [r for r in self._runs(current) if r["id"] > last_run]
                result = self._check(
                    out, step, code, stdout, exc, logged.records, before, current, runs
                )
                if not step.label:
                    out.returncode, out.stdout, out.ended, out.message = code, stdout, *result
                else:
                    out.then_ended = result[0]
                    if step.label == "same input again" and out.ended == result[0]:
                        self._check_idempotent(out, step, before, current)
                before, last_run = current, max([last_run] + [r["id"] for r in runs])
            out.seconds = time.perf_counter() - started
        finally:
            try:
                restore(self.tables, self.snapshot, dump(self.tables))
            finally:
                shutil.rmtree(folder, ignore_errors=True)
        return out

    def _check(
        self, out: Outcome, step: Step, code, stdout, exc, logged, before: Dump, current: Dump, runs
    ) -> tuple[str, str]:
        """Check one sync of an example; return (how it ended, the run's message)."""
        add = step.adder(out)
        run = runs[-1] if runs else None
        status = run["status"] if run else None
        reason = run["failure_reason"] if run else None
        if exc is not None:
            ended = "traceback"
            where = engine_frame(exc.__traceback__)
            add("traceback", f"traceback: {type(exc).__name__} in {where}", _tb_tail(exc))
        elif run is None:
            ended = "no run"
        elif status == "failed":
            ended = f"failed: {reason or '(no reason)'}"
        else:
            ended = status

        # 1. how the run ended
        if len(runs) != 1:
            add("left_active", f"{len(runs)} runs recorded", f"runs: {[r['pk'] for r in runs]}")
        for r in runs:
            if r["status"] not in ("succeeded", "failed"):
                add("left_active", f"run left {r['status']}", f"run #{r['pk']} stage {r['stage']}")
            elif r["status"] == "failed" and not r["failure_reason"]:
                add("left_active", "failed without a reason", r["message"][:300])
        if reason == "internal_error":
            record = next((rec for rec in logged if rec.exc_info), None)
            if record is not None:
                e = record.exc_info[1]
                key = f"internal_error: {type(e).__name__} in {engine_frame(record.exc_info[2])}"
                detail = _tb_tail(e)
            else:
                diagnostics = run["diagnostics"] if isinstance(run["diagnostics"], dict) else {}
                failure = diagnostics.get("failure") or {}
                key = f"internal_error: {failure.get('error', '?')} (no traceback logged)"
                detail = run["message"]
            add("internal_error", key, detail)

        # 2. one JSON object, agreeing with the run
        self._check_json(add, code, stdout, run)

        # 3. present records neither archived nor planned for archiving
        archived, still, planned = self._archives(before, current, runs, step)
        if not step.label:
            out.archived = len(archived)
        if archived or still or planned:
            present = oracle.presence(step.path, self.mirror_ids)
            for kind, what, records in (
                ("wrongly_archived", "archived", archived),
                ("wrongly_archived", "left archived", still),
                ("wrongly_planned", "planned for archiving", planned),
            ):
                for okind, ident in sorted(set(records), key=repr):
                    tags = present.lookup(okind, ident)
                    if tags is None:
                        continue
                    label = ", ".join(sorted(tags)) or "row intact"
                    add(
                        kind,
                        f"{what} present {SINGULAR[okind]} [{label}]",
                        f"{okind} {ident!r} is present in the files ({label}) but was {what}",
                    )

        # 4. the mirror after a failure or a dry run; T3
        dry_run = bool(run["dry_run"]) if run else step.dry_run
        if dry_run or status != "succeeded" and reason != "threshold":
            for table, detail in mirror_diff(self.tables, before, current):
                if dry_run:
                    add("dry_run_changed", f"dry run ({ended}) changed {table}", detail)
                else:
                    add("mirror_changed", f"failed run ({ended}) changed {table}", detail)
        if reason == "threshold" and not dry_run and archived:
            diagnostics = run["diagnostics"] if isinstance(run["diagnostics"], dict) else {}
            # How much the run held: everything (T3), some schools (T6), or no archives
            # at all (only updates, rule U). Missing means the strictest.
            held_mode = diagnostics.get("archives_held", "all")
            if held_mode == "all":
                add(
                    "threshold_archived",
                    "threshold failure holding everything (T3) archived records",
                    f"archived: {sorted(map(repr, archived))[:5]}",
                )
            elif held_mode == "schools":
                # Placed from the mirror as the harness saw it, not from the run's own
                # planned-archive list: a held school's record archived but never listed
                # must be caught too.
                held = {h.get("sis_id") for h in diagnostics.get("held") or []}
                at_held = [i for i in archived if held_school_of(self.mirror_ids, i) in held]
                if at_held:
                    add(
                        "threshold_archived",
                        "a held school's records were archived (T6)",
                        f"archived: {sorted(map(repr, at_held))[:5]}; held: {sorted(held)}",
                    )

        # 5. no NUL stored
        for table, column, pk, value in nul_cells(self.tables, current, before):
            add("nul_stored", f"NUL stored in {table}.{column}", f"row {pk}: {value}")
        return ended, run["message"] if run else ""

    def _check_idempotent(self, out: Outcome, step: Step, before: Dump, current: Dump) -> None:
        """DESIGN §3: running the same input twice changes nothing the second time."""
        if out.ended not in ("succeeded", "failed: threshold") or out.recipe.dry_run:
            return
        # Bookkeeping is not data: schools' last_seen_run is stamped by every applied run.
        ignore = frozenset({"last_seen_run_id", "updated_at"})
        for table, detail in mirror_diff(self.tables, before, current, ignore):
            step.adder(out)(
                "not_idempotent", f"second run of the same input changed {table}", detail
            )

    def _runs(self, current: Dump) -> list[dict]:
        t = next(t for t in self.tables if t.name == "syncs_syncrun")
        rows = [dict(zip(t.columns, r, strict=True)) for r in current[t.name]]
        out = [r for r in rows if r["id"] > (self.last_run or 0)]
        for r in out:
            r["pk"] = r["id"]
            if isinstance(r.get("diagnostics"), str):
                try:
                    r["diagnostics"] = json.loads(r["diagnostics"])
                except ValueError:
                    r["diagnostics"] = {}
        return out

    def _check_json(self, add, code, stdout: str, run: dict | None) -> None:
        try:
            report = json.loads(stdout)
        except ValueError as exc:
            shown = stdout[:200] if stdout else "(nothing)"
            add("bad_json", "stdout is not one JSON object", f"{exc}; stdout: {shown!r}")
            return
        if not isinstance(report, dict) or not isinstance(report.get("run"), dict):
            add("bad_json", "stdout JSON is not a run report", repr(stdout[:200]))
            return
        if run is None:
            return
        got = report["run"]
        if got.get("id") != run["pk"] or got.get("status") != run["status"]:
            add(
                "bad_json",
                "JSON disagrees with the run",
                f"JSON run {got.get('id')} {got.get('status')}, database run {run['pk']} {run['status']}",
            )
        expected = 0 if run["status"] == "succeeded" else 1
        if code != expected:
            add(
                "bad_json",
                "exit status disagrees with the run",
                f"exit {code} for a {run['status']} run",
            )

    def _archives(self, before: Dump, current: Dump, runs: list[dict], step: Step):
        """(oracle kind, identity) of mirror records this sync archived (or deleted), of
        those a baseline re-sync left archived, and of those its PlannedArchive rows name."""
        archived, still = [], []
        for table, (pk_at, archived_at) in self.archive_tables.items():
            was = {row[pk_at]: row[archived_at] for row in before[table]}
            now = {row[pk_at]: row[archived_at] for row in current[table]}
            for (t, pk), ident in self.identity.items():
                if t != table:
                    continue
                gone = pk not in now or now[pk] is not None
                if gone and was.get(pk) is None:
                    archived.append(ident)
                elif gone and step.label == "re-sync of the baseline":
                    still.append(ident)
        planned = []
        t = next(t for t in self.tables if t.name == "syncs_plannedarchive")
        run_ids = {r["pk"] for r in runs}
        by_kind = {
            "students": "rostering_person",
            "teachers": "rostering_person",
            "parents": "rostering_person",
            "classes": "rostering_class",
            "enrollments": "rostering_enrollment",
            "guardianships": "rostering_guardianship",
        }
        for row in current[t.name]:
            r = dict(zip(t.columns, row, strict=True))
            if r["run_id"] in run_ids:
                ident = self.identity.get((by_kind.get(r["kind"], ""), r["record_id"]))
                if ident is not None:
                    planned.append(ident)
        return archived, still, planned


def held_school_of(ids: oracle.MirrorIds, ident: tuple[str, object]) -> str:
    """The school a record is held at under T6, as the engine places it
    (syncs.pipeline.holds), from the mirror as the harness read it: a person at their
    first school, a class at its school, an enrollment at its class's school, a guardian
    link at its student's first school."""
    kind, key = ident

    def first_school(person: str) -> str:
        return min(ids.people.get(person, ("", ()))[1], default="")

    if kind == "people":
        return first_school(str(key))
    if kind == "classes":
        return ids.classes.get(str(key), "")
    if kind == "enrollments" and isinstance(key, tuple):
        return ids.classes.get(key[0], "")
    if kind == "guardianships" and isinstance(key, tuple):
        return first_school(key[1])
    return ""


def harness_error(recipe: Recipe, exc: Exception) -> Outcome:
    """An outcome for an example the fuzzer itself could not run (its own bug)."""
    out = Outcome(recipe, ended="fuzz harness error")
    where = engine_frame(exc.__traceback__)
    out.add("harness_error", f"fuzz harness error: {type(exc).__name__} in {where}", _tb_tail(exc))
    return out


@dataclass(frozen=True)
class Step:
    """One sync of an example: the mutated export, or a follow-up (`label`)."""

    label: str
    path: Path
    threshold: str
    dry_run: bool

    def adder(self, out: Outcome):
        """Record a violation; a follow-up sync's is prefixed with its label, and left out
        when the first sync of the example already failed the same way."""
        if not self.label:
            return out.add
        first = out.failure_keys()

        def add(kind: str, key: str, detail: str) -> None:
            if key not in first:
                out.add(kind, f"[{self.label}] {key}", detail)

        return add


def mirror_diff(
    tables: list[TableInfo], before: Dump, current: Dump, ignore: frozenset[str] = frozenset()
) -> list[tuple[str, str]]:
    """(table, what changed) for each mirror table whose rows differ, every column
    compared except those in `ignore`."""
    diffs = []
    for t in tables:
        if t.name not in MIRROR_TABLES or current[t.name] == before[t.name]:
            continue
        pk_at = t.columns.index(t.pk)
        old = {r[pk_at]: r for r in before[t.name]}
        new = {r[pk_at]: r for r in current[t.name]}
        added = sorted(new.keys() - old.keys())
        removed = sorted(old.keys() - new.keys())
        changed = []
        for pk in sorted(old.keys() & new.keys()):
            cols = [
                c
                for c, a, b in zip(t.columns, old[pk], new[pk], strict=True)
                if a != b and c not in ignore
            ]
            if cols:
                changed.append(f"{pk}: {', '.join(cols)}")
        if not (added or removed or changed):
            continue
        parts = []
        if added:
            parts.append(f"{len(added)} row(s) added")
        if removed:
            parts.append(f"{len(removed)} row(s) removed")
        if changed:
            parts.append(f"{len(changed)} row(s) changed ({'; '.join(changed[:3])})")
        diffs.append((t.name, ", ".join(parts)))
    return diffs
