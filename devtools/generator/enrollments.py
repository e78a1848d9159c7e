"""enrollments.csv, in every format: which students take which classes, and who teaches them."""

from __future__ import annotations

from pathlib import Path

from devtools.generator.catalog import CLASSES_PER_STUDENT, TERMS, Course
from devtools.generator.clever import HEADERS_CLEVER
from devtools.generator.oneroster import HEADERS
from devtools.generator.output import Table
from devtools.generator.plan import Klass, School
from devtools.generator.problems import Problems


def enrollment_row(
    n: int, class_id: str, school_id: str, user_id: str, role: str, primary: str, term: tuple
) -> tuple[str, ...]:
    return (f"enr-{n:07d}", "", "", class_id, school_id, user_id, role, primary, term[3], term[4])


def write_enrollments(
    out: Path,
    schools: list[School],
    catalog: list[list[Course]],
    by_group: dict[tuple[int, int], list[Klass]],
    groups: dict[tuple[int, int], list[int]],
    problems: Problems,
    *,
    clever: bool = False,
) -> int:
    """Teachers of each class, then each student in 7 classes of 7 different courses.

    Student p of a (school, grade) takes courses p, p+1, ..., p+6 (mod 8) and, within each
    course, the next section round-robin, so every section fills to about the same size.
    Clever's enrollments.csv lists the students only: its teachers are in sections.csv.
    """
    header = HEADERS_CLEVER if clever else HEADERS
    table = Table.create(out, "enrollments.csv", header["enrollments.csv"])
    n = 0
    for (school_index, grade), classes in by_group.items():
        school_id = schools[school_index].source_id
        for k in classes:
            if clever or problems.classes.get(k.source_id) == "no_teacher":
                continue
            for i, teacher in enumerate(k.teachers):
                n += 1
                primary = "true" if i == 0 else "false"
                table.write(
                    enrollment_row(
                        n, k.source_id, school_id, teacher, "teacher", primary, TERMS[k.term]
                    )
                )
        course_count = len(catalog[grade])
        sections = [classes[c::course_count] for c in range(course_count)]
        terms = [[TERMS[k.term] for k in s] for s in sections]
        taken = [0] * course_count
        for p, student in enumerate(groups[(school_index, grade)]):
            sid = f"stu-{student + 1:06d}"
            for j in range(CLASSES_PER_STUDENT):
                c = (p + j) % course_count
                s = taken[c] % len(sections[c])
                taken[c] += 1
                n += 1
                if clever:
                    table.write_named(
                        {
                            "School_id": school_id,
                            "Section_id": sections[c][s].source_id,
                            "Student_id": sid,
                        }
                    )
                    continue
                table.write(
                    enrollment_row(
                        n, sections[c][s].source_id, school_id, sid, "student", "false", terms[c][s]
                    )
                )
    return table.close()
