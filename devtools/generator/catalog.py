"""The district's fixed shape: its name and domains, the school year and its terms, the
grades, the sizes the plan aims for, and the course catalog (eight courses per grade, so
a student's seven classes are seven different courses, one elective left out)."""

from __future__ import annotations

from dataclasses import dataclass

DISTRICT_ID = "district"
DISTRICT_NAME = "Cedar Valley Unified School District"
DOMAIN = "cvusd.k12.ca.us"
STUDENT_DOMAIN = "students." + DOMAIN

YEAR_ID = "2026"
# (sourcedId, title, type, start, end, parent). OneRoster's schoolYear column is the year
# the school year ends, so 2026-27 is "2027" there while its sourcedId stays "2026".
SESSIONS = (
    (YEAR_ID, "2026-2027 School Year", "schoolYear", "2026-08-15", "2027-06-15", ""),
    ("2026-S1", "Semester 1 2026-2027", "term", "2026-08-15", "2027-01-15", YEAR_ID),
    ("2026-S2", "Semester 2 2026-2027", "term", "2027-01-19", "2027-06-15", YEAR_ID),
)
SCHOOL_YEAR_ENDS = "2027"
TERMS = tuple(s for s in SESSIONS if s[2] == "term")

GRADES = ("KG", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12")
ELEMENTARY, MIDDLE, HIGH = range(0, 6), range(6, 9), range(9, 13)

STUDENTS_PER_SCHOOL = 667
STUDENTS_PER_TEACHER = 17
CLASS_SIZE = 23
CLASSES_PER_STUDENT = 7

# ---------------------------------------------------------------------------
# Course catalog: eight courses per grade, so a student's seven classes are seven
# different courses (one elective left out). (title, subject, course code stem)
# ---------------------------------------------------------------------------


def _elementary_courses(grade: int) -> list[tuple[str, str, str]]:
    label = "Kindergarten" if grade == 0 else f"Grade {grade}"
    return [
        (f"{label} English Language Arts", "English Language Arts", "ELA"),
        (f"{label} Mathematics", "Mathematics", "MATH"),
        (f"{label} Science", "Science", "SCI"),
        (f"{label} Social Studies", "Social Studies", "SOC"),
        (f"{label} Art", "Visual Arts", "ART"),
        (f"{label} Music", "Music", "MUS"),
        (f"{label} Physical Education", "Physical Education", "PE"),
        (f"{label} Library", "Library Media", "LIB"),
    ]


_MIDDLE_ELECTIVES = {
    6: [
        ("Art 6", "Visual Arts", "ART"),
        ("Exploring Spanish", "World Languages", "SPX"),
        ("Health 6", "Health", "HLTH"),
    ],
    7: [
        ("Concert Band", "Music", "BAND"),
        ("Spanish I A", "World Languages", "SP1A"),
        ("Computer Science Discoveries", "Computer Science", "CSD"),
    ],
    8: [
        ("Orchestra", "Music", "ORCH"),
        ("Spanish I B", "World Languages", "SP1B"),
        ("Robotics", "Engineering", "ROBO"),
    ],
}

_HIGH_COURSES = {
    9: [
        ("English 9", "English Language Arts", "ENG9"),
        ("Algebra I", "Mathematics", "ALG1"),
        ("Biology", "Science", "BIO"),
        ("World History", "Social Studies", "WHIS"),
        ("Spanish I", "World Languages", "SPA1"),
        ("Physical Education I", "Physical Education", "PE1"),
        ("Health", "Health", "HLTH"),
        ("Art I", "Visual Arts", "ART1"),
    ],
    10: [
        ("English 10", "English Language Arts", "ENG10"),
        ("Geometry", "Mathematics", "GEOM"),
        ("Chemistry", "Science", "CHEM"),
        ("Modern World History", "Social Studies", "MWH"),
        ("Spanish II", "World Languages", "SPA2"),
        ("French I", "World Languages", "FRE1"),
        ("Physical Education II", "Physical Education", "PE2"),
        ("Ceramics", "Visual Arts", "CER"),
    ],
    11: [
        ("English 11", "English Language Arts", "ENG11"),
        ("Algebra II", "Mathematics", "ALG2"),
        ("Physics", "Science", "PHYS"),
        ("US History", "Social Studies", "USH"),
        ("AP English Language", "English Language Arts", "APLANG"),
        ("Spanish III", "World Languages", "SPA3"),
        ("Computer Science Principles", "Computer Science", "CSP"),
        ("Choir", "Music", "CHOIR"),
    ],
    12: [
        ("English 12", "English Language Arts", "ENG12"),
        ("Pre-Calculus", "Mathematics", "PREC"),
        ("AP Calculus AB", "Mathematics", "APCALC"),
        ("American Government", "Social Studies", "GOV"),
        ("Economics", "Social Studies", "ECON"),
        ("Environmental Science", "Science", "ENVS"),
        ("Yearbook", "Career Technical Education", "YRBK"),
        ("Drama", "Theater", "DRAMA"),
    ],
}


def _courses_for_grade(grade: int) -> list[tuple[str, str, str]]:
    if grade in ELEMENTARY:
        return _elementary_courses(grade)
    if grade in MIDDLE:
        core = [
            (f"English {grade}", "English Language Arts", "ENG"),
            (f"Math {grade}", "Mathematics", "MATH"),
            (f"Science {grade}", "Science", "SCI"),
            (f"Social Studies {grade}", "Social Studies", "SOC"),
            (f"Physical Education {grade}", "Physical Education", "PE"),
        ]
        return core + _MIDDLE_ELECTIVES[grade]
    return _HIGH_COURSES[grade]


@dataclass(frozen=True, slots=True)
class Course:
    source_id: str
    grade: int
    title: str
    subject: str
    code: str


def course_catalog() -> list[list[Course]]:
    """Courses per grade (district-wide, so orgSourcedId is the district)."""
    catalog = []
    for grade, code in enumerate(GRADES):
        courses = []
        for n, (title, subject, stem) in enumerate(_courses_for_grade(grade), start=1):
            # Grade-banded stems (MATH) get the grade appended; high-school codes are unique.
            course_code = stem if grade in HIGH else f"{stem}-{code}"
            courses.append(Course(f"crs-{code}-{n}", grade, title, subject, course_code))
        catalog.append(courses)
    return catalog
