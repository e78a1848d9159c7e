"""What the hostile-input tests share (issue #10): a two-school district, an in-place
edit of a written file, a rerun, and `settled`, the outcome every bad input must have.
"""

from __future__ import annotations

from pathlib import Path

from django.apps import apps
from django.db import models

from syncs.models import SyncRun
from syncs.services import sync_run_create, sync_run_execute
from tests.builders import District
from tests.helpers import NOW


def rerun(config, *, dry_run: bool = False) -> SyncRun:
    return sync_run_execute(run=sync_run_create(config=config, dry_run=dry_run), now=NOW)


def nothing_stored_holds_a_nul() -> list[str]:
    """Every text and JSON value of every Rollcall table, searched for NUL."""
    found = []
    for label in ("accounts", "rostering", "syncs"):
        for model in apps.get_app_config(label).get_models():
            fields = [
                f.name
                for f in model._meta.concrete_fields
                if isinstance(f, models.CharField | models.TextField | models.JSONField)
            ]
            for row in model.objects.values_list("pk", *fields):
                for name, value in zip(fields, row[1:], strict=True):
                    if any("\0" in text for text in _strings(value)):
                        found.append(f"{model.__name__}.{name} #{row[0]}")
    return found


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def settled(run: SyncRun) -> None:
    """The outcome every bad input must have: finished, with a specific reason."""
    run.refresh_from_db()
    assert run.status in ("succeeded", "failed"), run.status
    assert run.failure_reason != "internal_error", run.message
    assert nothing_stored_holds_a_nul() == []


def school_district() -> District:
    """Two schools with a teacher, students, their parents and a class each."""
    d = District().school("0123", "Lincoln Elementary").school("0456", "Roosevelt Middle")
    for school, n in (("0123", 1), ("0456", 2)):
        d.teacher(f"t{n}", school)
        students = tuple(f"s{n}{i}" for i in range(4))
        for sid in students:
            d.student(sid, school).parent(f"p{sid}", school, sid)
        d.klass(f"c{n}", school, teacher=f"t{n}", students=students)
    return d


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
