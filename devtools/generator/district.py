"""generate_district: plan the district once, then write it in the chosen format."""

from __future__ import annotations

import random
from pathlib import Path

from devtools.generator import clever, oneroster
from devtools.generator.catalog import STUDENTS_PER_SCHOOL, course_catalog
from devtools.generator.contacts import Phones
from devtools.generator.enrollments import write_enrollments
from devtools.generator.people import write_people
from devtools.generator.plan import (
    assign_teachers,
    class_titles,
    give_one_student_many_guardians,
    make_classes,
    make_households,
    make_schools,
    student_slots,
)
from devtools.generator.problems import Problems, plan_problems

FORMATS = ("oneroster11", "oneroster12", "clever")
# The name syncs.formats gives each one (its parser registry key).
PARSER_FORMATS = {
    "oneroster11": "oneroster_1_1_csv",
    "oneroster12": "oneroster_1_2_csv",
    "clever": "clever_csv",
}


def generate_district(
    *, students: int, seed: int, out: Path, problems: bool = True, format: str = "oneroster11"
) -> dict[str, int]:
    """Write a district into `out` as `format` (one of FORMATS); return data rows per file.

    The same arguments always give byte-identical files, and the three formats of one
    district describe the same records (see the package docstring for what Clever leaves
    out).
    """
    if students < 1:
        raise ValueError("students must be at least 1")
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
    # One recipe, read top to bottom: its steps share the sub-generators drawn here, in
    # this order, which is what keeps the output byte-identical; split it and that order
    # would be spread over several functions (issue #11).
    master = random.Random(seed)
    # One sub-generator per step, so tuning one step leaves the others' output unchanged.
    (
        r_schools,
        r_slots,
        r_households,
        r_classes,
        r_problems,
        r_orgs,
        r_titles,
        r_people,
        r_phones,
    ) = (random.Random(master.getrandbits(64)) for _ in range(9))
    catalog = course_catalog()
    schools = make_schools(r_schools, max(1, round(students / STUDENTS_PER_SCHOOL)))
    slots = student_slots(r_slots, students, schools)
    groups: dict[tuple[int, int], list[int]] = {}
    for index, key in enumerate(slots):
        groups.setdefault(key, []).append(index)
    households = make_households(r_households, students)
    if problems:
        give_one_student_many_guardians(r_households, households)
    by_group = make_classes(r_classes, schools, groups, catalog)
    teachers = assign_teachers(r_classes, schools, by_group)
    plan = Problems()
    if problems:
        class_ids = [k.source_id for classes in by_group.values() for k in classes]
        parents = sum(g for _kids, g in households)
        plan = plan_problems(r_problems, students, parents, teachers, class_ids)

    out.mkdir(parents=True, exist_ok=True)
    titles = class_titles(r_titles, by_group, plan)
    people = (r_people, Phones(r_phones), schools, slots, households, plan)
    if format == "clever":
        sink = clever.Clever(out)
        counts = write_people(sink, *people)
        # schools.csv takes the state school codes orgs.csv would carry.
        orgs = list(oneroster.org_rows(r_orgs, schools))
        return {
            "schools.csv": clever.write_schools(out, schools, orgs, sink.principals),
            **counts,
            "sections.csv": clever.write_sections(out, titles, schools, plan),
            "enrollments.csv": write_enrollments(
                out, schools, catalog, by_group, groups, plan, clever=True
            ),
        }

    write_simple = oneroster.write_simple
    manifest = oneroster.MANIFEST if format == "oneroster11" else oneroster.MANIFEST_12
    counts = {
        "manifest.csv": write_simple(out, "manifest.csv", manifest),
        "orgs.csv": write_simple(out, "orgs.csv", oneroster.org_rows(r_orgs, schools)),
        "academicSessions.csv": write_simple(out, "academicSessions.csv", oneroster.session_rows()),
        "courses.csv": write_simple(out, "courses.csv", oneroster.course_rows(catalog)),
        "classes.csv": write_simple(out, "classes.csv", oneroster.class_rows(titles, schools)),
    }
    sink = oneroster.OneRoster11(out) if format == "oneroster11" else oneroster.OneRoster12(out)
    counts.update(write_people(sink, *people))
    counts["enrollments.csv"] = write_enrollments(out, schools, catalog, by_group, groups, plan)
    return counts
