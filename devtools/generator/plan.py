"""The plan: schools, each student's school and grade, households, classes and their
teachers, as small tuples and dataclasses (no names or contacts yet)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from itertools import accumulate

from devtools.generator.catalog import (
    CLASS_SIZE,
    CLASSES_PER_STUDENT,
    ELEMENTARY,
    GRADES,
    HIGH,
    MIDDLE,
    STUDENTS_PER_TEACHER,
    TERMS,
    Course,
)
from devtools.generator.problems import Problems
from devtools.generator.tables import SCHOOL_STEMS, pick_cum

SCHOOL_PREFIXES = ("", "North ", "South ", "East ", "West ", "Upper ", "Lower ")


@dataclass(slots=True)
class School:
    index: int
    source_id: str
    name: str
    grades: range
    weight: float
    students: int = 0
    teachers: list[str] = field(default_factory=list)


def _distribute(total: int, weights: list[float]) -> list[int]:
    """Split an integer total by weights, largest remainder first (ties by position)."""
    whole = sum(weights)
    raw = [total * w / whole for w in weights]
    counts = [int(x) for x in raw]
    order = sorted(range(len(raw)), key=lambda i: (counts[i] - raw[i], i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _school_bands(n: int) -> list[range]:
    """Grade spans: one K-12 school, a K-8 and a high school, or ~60/20/20 elem/middle/high."""
    if n == 1:
        return [range(0, 13)]
    if n == 2:
        return [range(0, 9), HIGH]
    n_high = max(1, round(n * 0.2))
    n_mid = max(1, round(n * 0.2))
    return [ELEMENTARY] * (n - n_high - n_mid) + [MIDDLE] * n_mid + [HIGH] * n_high


def _school_name(stem: str, grades: range, rng: random.Random) -> str:
    if grades == range(0, 13):
        return f"{stem} K-12 School"
    if grades == range(0, 9):
        return f"{stem} K-8 Academy"
    if grades == ELEMENTARY:
        return f"{stem} {rng.choice(('Elementary', 'Elementary School', 'Elementary', 'Primary School'))}"
    if grades == MIDDLE:
        return f"{stem} {rng.choice(('Middle School', 'Middle School', 'Junior High School'))}"
    return (
        f"{stem} {rng.choice(('High School', 'High School', 'High School', 'Academy of Sciences'))}"
    )


def make_schools(rng: random.Random, count: int) -> list[School]:
    stems = list(SCHOOL_STEMS)
    rng.shuffle(stems)
    schools = []
    used_names: set[str] = set()
    for i, grades in enumerate(_school_bands(count)):
        # Walk stems with prefixes until the (stem, type) name is new: a district can have a
        # Lincoln Elementary and a Lincoln High, but not two Lincoln Elementaries.
        k = i
        while True:
            stem = SCHOOL_PREFIXES[(k // len(stems)) % len(SCHOOL_PREFIXES)] + stems[k % len(stems)]
            if k >= len(stems) * len(SCHOOL_PREFIXES):
                stem += f" {k // (len(stems) * len(SCHOOL_PREFIXES)) + 1}"
            name = _school_name(stem, grades, rng)
            if name not in used_names:
                break
            k += 1
        used_names.add(name)
        schools.append(School(i, f"{i + 1:04d}", name, grades, rng.uniform(0.7, 1.3)))
    return schools


def student_slots(
    rng: random.Random, students: int, schools: list[School]
) -> list[tuple[int, int]]:
    """(school index, grade) per student, shuffled so households mix schools and grades."""
    slots: list[tuple[int, int]] = []
    per_grade = _distribute(students, [1.0] * len(GRADES))
    for grade, total in enumerate(per_grade):
        serving = [s for s in schools if grade in s.grades]
        for school, n in zip(serving, _distribute(total, [s.weight for s in serving]), strict=True):
            school.students += n
            slots.extend([(school.index, grade)] * n)
    rng.shuffle(slots)
    return slots


# Students per household 1..4 (mean 1.2) and guardians 1..2 (mean 1.8): 1.5 parents per student.
_KIDS_CUM = list(accumulate((83, 14, 2.5, 0.5)))
TWO_GUARDIANS = 0.80
MANY_GUARDIANS = 6


def make_households(rng: random.Random, students: int) -> list[list[int]]:
    """[n_students, n_guardians] per household, covering exactly `students` students."""
    households = []
    left = students
    while left:
        kids = min(left, pick_cum(rng, (1, 2, 3, 4), _KIDS_CUM))
        households.append([kids, 2 if rng.random() < TWO_GUARDIANS else 1])
        left -= kids
    return households


@dataclass(slots=True)
class Klass:
    source_id: str
    school: int
    course: Course
    section: int
    period: int
    room: int
    term: int
    teachers: list[str] = field(default_factory=list)


def make_classes(
    rng: random.Random,
    schools: list[School],
    groups: dict[tuple[int, int], list[int]],
    catalog: list[list[Course]],
) -> dict[tuple[int, int], list[Klass]]:
    """Sections per (school, grade): ~students*7/23, at least one per course."""
    by_group: dict[tuple[int, int], list[Klass]] = {}
    n = 0
    for school in schools:
        for grade in school.grades:
            kids = len(groups.get((school.index, grade), ()))
            if not kids:
                continue
            courses = catalog[grade]
            count = max(len(courses), round(kids * CLASSES_PER_STUDENT / CLASS_SIZE))
            classes = []
            for j in range(count):
                n += 1
                course, section = courses[j % len(courses)], j // len(courses)
                classes.append(
                    Klass(
                        f"cls-{n:06d}",
                        school.index,
                        course,
                        section,
                        period=(section + j) % 7 + 1,
                        room=rng.randrange(101, 300),
                        term=rng.randrange(len(TERMS)),
                    )
                )
            by_group[(school.index, grade)] = classes
    return by_group


def assign_teachers(
    rng: random.Random, schools: list[School], by_group: dict[tuple[int, int], list[Klass]]
) -> int:
    """Give each school ~students/17 teachers and each class a primary teacher.

    Classes are handed out in contiguous blocks, ordered by grade in elementary schools
    (a teacher takes one grade's subjects) and by course in secondary schools (a teacher
    takes all sections of a subject), so loads even out at ~classes/teachers each.
    About 5% of classes get a co-teacher. Returns the number of teachers.
    """
    n = 0
    for school in schools:
        classes = [k for g in school.grades for k in by_group.get((school.index, g), ())]
        if not classes:
            continue
        count = min(len(classes), max(1, round(school.students / STUDENTS_PER_TEACHER)))
        school.teachers = [f"tch-{n + i + 1:05d}" for i in range(count)]
        n += count
        if school.grades.start >= MIDDLE.start:
            classes.sort(
                key=lambda k: (k.course.subject, k.course.grade, k.course.source_id, k.section)
            )
        for pos, klass in enumerate(classes):
            klass.teachers.append(school.teachers[pos * count // len(classes)])
            if count > 1 and rng.random() < 0.05:
                other = rng.choice(school.teachers)
                if other != klass.teachers[0]:
                    klass.teachers.append(other)
    return n


def give_one_student_many_guardians(rng: random.Random, households: list[list[int]]) -> None:
    singles = [i for i, (kids, _g) in enumerate(households) if kids == 1]
    households[rng.choice(singles or list(range(len(households))))][1] = MANY_GUARDIANS


def class_titles(rng: random.Random, by_group, problems: Problems):
    """(class, title) for every class, in file order."""
    for classes in by_group.values():
        for k in classes:
            title = f"{k.course.title} - Period {k.period}"
            if problems.classes.get(k.source_id) == "url_title":
                # A teacher pasted the meeting link into the SIS section name.
                code = "".join(rng.choice("abcdefghijkmnpqrstuvwxyz") for _ in range(10))
                title += f" (Join at https://meet.example.org/{code[:3]}-{code[3:7]}-{code[7:]})"
            yield k, title
