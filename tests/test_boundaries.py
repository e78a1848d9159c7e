"""The engine's import boundaries hold: the contracts in pyproject.toml, and no cycles.

`make test` runs `lint-imports` too; these keep plain `pytest` as strict. No database.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
FIRST_PARTY = ("accounts", "rostering", "syncs", "api", "web", "notify", "config", "devtools")


def _lint_imports() -> str:
    beside_python = Path(sys.executable).with_name("lint-imports")
    found = str(beside_python) if beside_python.exists() else shutil.which("lint-imports")
    assert found, "lint-imports is not installed (requirements-dev.txt)"
    return found


def test_import_contracts_are_kept():
    """Formats, rules and the planner stay pure; accounts and rostering never import
    syncs; no package's parts import each other in a circle."""
    done = subprocess.run(
        [_lint_imports(), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = done.stdout[done.stdout.find("Contracts") :]  # past the banner
    assert done.returncode == 0, report + done.stderr
    assert "0 broken" in report


def _cycles(graph: grimp.ImportGraph) -> Iterator[list[str]]:
    """Each group of modules that import one another in a circle (Tarjan's strongly
    connected components, iteratively), as one circle through its first module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, imported = work[-1]
            for other in imported:
                if other not in index:
                    index[other] = low[other] = len(index)
                    stack.append(other)
                    on_stack.add(other)
                    work.append(
                        (other, iter(sorted(graph.find_modules_directly_imported_by(other))))
                    )
                    break
                if other in on_stack:
                    low[module] = min(low[module], index[other])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[module])
                if low[module] == index[module]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == module:
                            break
                    if len(group) > 1:
                        yield _circle(graph, sorted(group))


def _circle(graph: grimp.ImportGraph, group: list[str]) -> list[str]:
    first = group[0]
    step = min(m for m in graph.find_modules_directly_imported_by(first) if m in group)
    back = graph.find_shortest_chain(importer=step, imported=first) or (step, first)
    return [first, *back]


def _shown(graph: grimp.ImportGraph, circle: list[str]) -> str:
    lines = []
    for importer, imported in zip(circle, circle[1:], strict=False):
        details = graph.get_import_details(importer=importer, imported=imported)
        where = f" (line {details[0]['line_number']})" if details else ""
        lines.append(f"  {importer} -> {imported}{where}")
    return "\n".join(lines)


def test_no_import_cycles_anywhere():
    """No module imports itself through others, within or across first-party packages,
    imports inside functions included (a cycle only works while nobody moves an import)."""
    graph = grimp.build_graph(*FIRST_PARTY, cache_dir=None)
    circles = list(_cycles(graph))
    assert not circles, "import cycles:\n" + "\n\n".join(_shown(graph, c) for c in circles)


def test_the_cycle_finder_names_a_cycle():
    graph = grimp.ImportGraph()
    for importer, imported in [("a.x", "a.y"), ("a.y", "a.z"), ("a.z", "a.x"), ("a.z", "a.w")]:
        graph.add_import(importer=importer, imported=imported)
    assert list(_cycles(graph)) == [["a.x", "a.y", "a.z", "a.x"]]
