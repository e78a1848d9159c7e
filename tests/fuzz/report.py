"""Statistics of a fuzz campaign, minimal examples of each distinct failure, the report.

The campaign never stops at a failure: every example's outcome is counted, and for each
distinct failure class (tests.fuzz.harness.Violation.key) the smallest input seen is
kept. Afterwards each is shrunk greedily (drop an op, simplify the flags, then each op's
numbers and long values), re-running the example after each step and keeping the step
only if the same failure class still occurs.
"""

from __future__ import annotations

import codecs
import dataclasses
import difflib
import re
import tempfile
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tests.fuzz import oracle
from tests.fuzz.harness import KINDS, Harness, Outcome
from tests.fuzz.mutations import Package, Recipe, materialize


@dataclass
class FailureClass:
    key: str
    kind: str
    examples: int = 0
    smallest: Outcome | None = None
    first_seen: int = 0


@dataclass
class Stats:
    database: str
    seed: int | None = None
    tried: int = 0
    seconds: float = 0.0  # wall time of the examples themselves (not shrinking)
    ended: Counter = field(default_factory=Counter)
    then_ended: Counter = field(default_factory=Counter)  # follow-up syncs (Recipe.then)
    kind_examples: Counter = field(default_factory=Counter)
    kind_occurrences: Counter = field(default_factory=Counter)
    classes: dict[str, FailureClass] = field(default_factory=dict)
    archived_ok: int = 0  # records archived legitimately (really gone from the files)
    coverage: Counter = field(default_factory=Counter)  # examples using each kind of op
    started: float = field(default_factory=time.perf_counter)

    def add(self, outcome: Outcome) -> None:
        self.tried += 1
        self.ended[outcome.ended] += 1
        self.coverage.update(_op_kinds(outcome.recipe))
        if outcome.then_ended:
            self.then_ended[f"{outcome.recipe.then}: {outcome.then_ended}"] += 1
        kinds = Counter(v.kind for v in outcome.violations)
        for kind, n in kinds.items():
            self.kind_examples[kind] += 1
            self.kind_occurrences[kind] += n
        self.archived_ok += max(0, outcome.archived - kinds.get("wrongly_archived", 0))
        for v in outcome.violations:
            cls = self.classes.setdefault(v.key, FailureClass(v.key, v.kind, first_seen=self.tried))
            if cls.smallest is None or outcome.recipe.size() < cls.smallest.recipe.size():
                cls.smallest = outcome
        for key in outcome.failure_keys():
            self.classes[key].examples += 1

    @property
    def ok(self) -> bool:
        return not self.classes

    def rate(self) -> float:
        elapsed = time.perf_counter() - self.started if not self.seconds else self.seconds
        return self.tried / elapsed if elapsed else 0.0


def _op_kinds(recipe: Recipe) -> set[str]:
    kinds = set()
    for op in recipe.ops:
        name = type(op).__name__
        if name == "Layout":
            name = op.kind
        elif name == "Encode":
            name = op.encoding
        kinds.add(name)
        if any(isinstance(v, str) and "<<HUGE>>" in v for v in op.__dict__.values()):
            kinds.add(f"HUGE cell ({op.file})")
    if recipe.dry_run:
        kinds.add("--dry-run")
    if recipe.then:
        kinds.add(f"then {recipe.then}")
    return kinds


# ---------------------------------------------------------------- shrinking


def _simpler_values(value):
    if isinstance(value, bool):
        return [False] if value else []
    if isinstance(value, int):
        return [v for v in (0, 1, value // 2) if v < value]
    if isinstance(value, str):
        out = []
        for token in ("<<HUGE>>", "<<X10000>>"):
            if token in value:
                out.append(value.replace(token, "<<X256>>"))
        return out
    return []


def _candidates(r: Recipe):
    for i in range(len(r.ops)):
        yield dataclasses.replace(r, ops=r.ops[:i] + r.ops[i + 1 :])
    if r.dry_run:
        yield dataclasses.replace(r, dry_run=False)
    if r.then:
        yield dataclasses.replace(r, then="")
    if r.threshold != "10":  # one way only, so shrinking ends
        yield dataclasses.replace(r, threshold="10")
    for i, op in enumerate(r.ops):
        for name, value in op.__dict__.items():
            if name in ("file", "column", "kind", "encoding"):
                continue
            for simpler in _simpler_values(value):
                new = dataclasses.replace(op, **{name: simpler})
                yield dataclasses.replace(r, ops=r.ops[:i] + (new,) + r.ops[i + 1 :])


def shrink(harness: Harness, outcome: Outcome, key: str, budget: int) -> tuple[Outcome, int]:
    """A smaller input that still fails as `key`; returns it and the runs spent."""
    best, runs = outcome, 0
    improved = True
    while improved and runs < budget:
        improved = False
        for candidate in _candidates(best.recipe):
            if runs >= budget:
                break
            runs += 1
            tried = harness.run(candidate)
            if key in tried.failure_keys():
                best, improved = tried, True
                break
    return best, runs


# ---------------------------------------------------------------- showing inputs


def _entries(path: Path) -> list[tuple[str, str, bytes | None]]:
    """(path shown, what it is, bytes) of everything the sync was pointed at."""
    if path.is_file():
        out = []
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                out.append((f"{path.name}:{info.filename}", "zip member", z.read(info)))
        return out
    out = []
    for p in sorted(path.rglob("*")):
        rel = str(p.relative_to(path))
        if p.is_symlink() and not p.exists():
            out.append((rel, "dangling symlink", None))
        elif p.is_dir():
            out.append((rel + "/", "folder" + (" (empty)" if not any(p.iterdir()) else ""), None))
        else:
            out.append((rel, "file", p.read_bytes()))
    return out


def _short(data: bytes, limit: int = 160) -> str:
    text = repr(data)
    return text if len(text) <= limit else text[:limit] + f"...({len(data)} bytes)"


def _diff(old: bytes | None, new: bytes) -> list[str]:
    if old is None:
        return [f"      new file: {_short(new, 300)}"]
    try:
        a, b = old.decode("utf-8"), new.decode("utf-8")
        if b.count("\x00") > len(b) // 4:
            raise UnicodeDecodeError("utf-8", new, 0, 1, "wide text")
    except UnicodeDecodeError:
        at = next(
            (i for i, (x, y) in enumerate(zip(old, new, strict=False)) if x != y),
            min(len(old), len(new)),
        )
        lines = [
            f"      {_encoding_of(new)}; {len(new)} bytes (baseline {len(old)}), "
            f"first different byte at {at}",
            f"      head: {_short(new[:48])}",
        ]
        if at > 48:
            lines.append(f"      at {at}: {_short(new[max(0, at - 24) : at + 40])}")
        lines.append("      decoded leniently, compared with the baseline text:")
        return lines + _text_diff(old.decode("utf-8"), oracle.decodings(new)[0], limit=8)
    return _text_diff(a, b) or ["      (same text, different bytes)"]


def _encoding_of(data: bytes) -> str:
    for bom, name, width in (
        (codecs.BOM_UTF32_LE, "UTF-32-LE with BOM", 4),
        (codecs.BOM_UTF32_BE, "UTF-32-BE with BOM", 4),
        (codecs.BOM_UTF8, "UTF-8 with BOM", 1),
        (codecs.BOM_UTF16_LE, "UTF-16-LE with BOM", 2),
        (codecs.BOM_UTF16_BE, "UTF-16-BE with BOM", 2),
    ):
        if data.startswith(bom):
            odd = f", length not a multiple of {width}" if len(data) % width else ""
            return name + odd
    if data[1:8:2].count(0) >= 3:
        return "UTF-16-LE without BOM" + (", odd length" if len(data) % 2 else "")
    if data[0:8:2].count(0) >= 3:
        return "UTF-16-BE without BOM" + (", odd length" if len(data) % 2 else "")
    try:
        data.decode("utf-8")
        return "UTF-8"
    except UnicodeDecodeError as exc:
        return f"not UTF-8 (byte {data[exc.start]:#04x} at {exc.start})"


_ENDS = re.compile(r"\r\n|\r|\n")


def _ends(text: str) -> str:
    found = Counter(_ENDS.findall(text))
    return ", ".join(f"{n} x {end!r}" for end, n in sorted(found.items())) or "none"


def _text_diff(a: str, b: str, limit: int = 14) -> list[str]:
    """Lines compared without their ends (line-end changes are summed up apart)."""
    lines = list(
        difflib.unified_diff(_ENDS.split(a), _ENDS.split(b), "baseline", "fuzzed", n=0, lineterm="")
    )[2:]
    shown = []
    for line in lines[:limit]:
        if line.startswith("@@"):
            shown.append(f"      {line}")
            continue
        text = repr(line[1:])
        text = text if len(text) <= 170 else text[:150] + f"...<{len(line) - 1} chars>"
        shown.append(f"      {line[:1]} {text}")
    if len(lines) > limit:
        shown.append(f"      ... {len(lines) - limit} more diff lines")
    if _ends(a) != _ends(b):
        shown.append(f"      line ends: {_ends(b)} (baseline {_ends(a)})")
    return shown


def describe_files(recipe: Recipe) -> str:
    baseline = Package.baseline_package().baseline
    lower = {name.lower(): data for name, data in baseline.items()}
    with tempfile.TemporaryDirectory() as d:
        path = materialize(recipe, Path(d) / "export")
        lines = [f"    files (sync_roster --path {'<folder>' if path.is_dir() else path.name}):"]
        seen, unchanged = set(), []
        for shown, what, data in _entries(path):
            name = shown.rsplit("/", 1)[-1].rsplit(":", 1)[-1].lower()
            seen.add(name)
            if data is None:
                lines.append(f"    {shown}: {what}")
            elif data == lower.get(name):
                unchanged.append(shown)
            else:
                lines.append(f"    {shown}: {len(data)} bytes, differs:")
                lines += _diff(lower.get(name), data)
        for name in sorted(baseline):
            if name.lower() not in seen:
                lines.append(f"    {name}: (not there)")
        if unchanged:
            lines.append(f"    unchanged: {', '.join(unchanged)}")
    return "\n".join(lines)


# ---------------------------------------------------------------- the report


def report(stats: Stats, minimal: dict[str, tuple[Outcome, int]]) -> str:
    out = []
    rate = stats.rate()
    out.append("=" * 100)
    out.append(
        f"sync_roster --json fuzz campaign: {stats.tried} inputs tried on {stats.database} in "
        f"{stats.seconds:.1f} s ({rate:.1f} examples/s)"
        + (f", seed {stats.seed}" if stats.seed is not None else "")
    )
    out.append("")
    out.append("How the runs ended:")
    for ended, n in sorted(stats.ended.items(), key=lambda kv: (-kv[1], kv[0])):
        out.append(f"  {ended:<40} {n:>7}")
    out.append(f"  (records archived because they really left the files: {stats.archived_ok})")
    if stats.then_ended:
        out.append("Follow-up syncs (then the baseline export / the same input again):")
        for ended, n in sorted(stats.then_ended.items(), key=lambda kv: (-kv[1], kv[0])):
            out.append(f"  {ended:<40} {n:>7}")
    out.append("")
    out.append("Mutations exercised (examples using each):")
    items = [f"{k} {n}" for k, n in sorted(stats.coverage.items())]
    line = " "
    for item in items:
        if len(line) + len(item) > 98:
            out.append(line)
            line = " "
        line += f" {item};"
    out.append(line)
    out.append("")
    out.append("Invariant violations (examples affected, occurrences):")
    for kind, label in KINDS.items():
        out.append(
            f"  {label:<62} {stats.kind_examples[kind]:>6} {stats.kind_occurrences[kind]:>7}"
        )
    out.append("")
    if stats.ok:
        out.append("No invariant failed.")
        return "\n".join(out)
    out.append(f"{len(stats.classes)} distinct failure class(es); a minimal input for each:")
    ordered = sorted(stats.classes.values(), key=lambda c: (list(KINDS).index(c.kind), -c.examples))
    for n, cls in enumerate(ordered, 1):
        best, runs = minimal.get(cls.key, (cls.smallest, 0))
        out.append("")
        out.append(f"[{n}] {cls.key}")
        out.append(
            f"    seen in {cls.examples} example(s); first at example {cls.first_seen}; shrunk in {runs} runs"
        )
        out.append(f"    input: {best.recipe.describe()}")
        out.append(f"    ended: {best.ended} (exit {best.returncode})")
        if best.then_ended:
            out.append(f"    then: {best.then_ended}")
        if best.message:
            out.append(f"    run message: {best.message[:400]}")
        details = [v for v in best.violations if v.key == cls.key]
        for v in details[:4]:
            body = v.detail.replace("\n", "\n      ")
            out.append(f"    what went wrong: {body}")
        if len(details) > 4:
            out.append(f"    ... and {len(details) - 4} more like it")
        try:
            out.append(describe_files(best.recipe))
        except Exception as exc:  # noqa: BLE001 - the report must still print
            out.append(f"    (files not shown: {exc!r})")
    return "\n".join(out)
