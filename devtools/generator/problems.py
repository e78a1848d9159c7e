"""Problems: which records get which defect (disjoint index sets, fixed per seed), so a
sync of the output meets every kind of issue. With `problems=False` none are planned."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

# Per-record rates, each between 0.1% and 1%, with at least one occurrence.
STUDENT_PROBLEMS = {"dob_blank": 0.003, "dob_invalid": 0.002}
PARENT_PROBLEMS = {
    "no_contact": 0.004,
    "no_name": 0.002,
    "foreign_phone": 0.003,
    "short_phone": 0.002,
    "bad_email": 0.003,
    "teacher_email": 0,
}
TEACHER_PROBLEMS = {"no_email": 0.002}
CLASS_PROBLEMS = {"no_teacher": 0.003, "url_title": 0}


def _targets(
    rng: random.Random,
    population: int,
    rates: dict[str, float],
    fixed: dict[str, int] | None = None,
) -> dict[int, str]:
    """index -> problem kind, each kind on max(1, rate*population) distinct records."""
    fixed = fixed or {}
    wanted = {
        kind: fixed.get(kind, max(1, round(population * rate))) for kind, rate in rates.items()
    }
    total = min(population, sum(wanted.values()))
    chosen = rng.sample(range(population), total)
    out: dict[int, str] = {}
    pos = 0
    for kind, count in wanted.items():
        for index in chosen[pos : pos + count]:
            out[index] = kind
        pos += count
    return out


@dataclass(slots=True)
class Problems:
    students: dict[int, str] = field(default_factory=dict)  # student index -> kind
    parents: dict[int, str] = field(default_factory=dict)  # parent index -> kind
    teachers: dict[int, str] = field(default_factory=dict)  # teacher index -> kind
    classes: dict[str, str] = field(default_factory=dict)  # class sourcedId -> kind
    shared_teacher: int | None = None  # teacher index whose email a parent reuses
    shared_email: str = ""
    shared_name: tuple[str, str] = ("", "")


def plan_problems(
    rng: random.Random, students: int, parents: int, teachers: int, class_ids: list[str]
) -> Problems:
    p = Problems()
    p.students = _targets(rng, students, STUDENT_PROBLEMS)
    p.parents = _targets(rng, parents, PARENT_PROBLEMS, {"teacher_email": 1})
    p.teachers = _targets(rng, teachers, TEACHER_PROBLEMS)
    url_titles = 2 if len(class_ids) >= 1000 else 1
    p.classes = {
        class_ids[i]: kind
        for i, kind in _targets(
            rng, len(class_ids), CLASS_PROBLEMS, {"url_title": url_titles}
        ).items()
    }
    candidates = [i for i in range(teachers) if i not in p.teachers]
    p.shared_teacher = rng.choice(candidates) if candidates else None
    return p


def invalid_dob(rng: random.Random, year: int) -> str:
    """Dates a SIS lets through: impossible days and months, day-first formats."""
    return rng.choice(
        (
            f"{year}-02-30",
            f"{year}-04-31",
            f"{year}-13-{rng.randrange(1, 29):02d}",
            f"31/{rng.randrange(1, 13):02d}/{year}",
            f"{year}-00-15",
        )
    )
