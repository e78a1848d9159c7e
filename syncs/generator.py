"""Deterministic generator of a realistic school district as roster CSV files.

`generate_district(students=..., seed=..., out=...)` writes a made-up California district:
elementary, middle and high schools, households of siblings with one or two guardians,
teachers, one administrator per school, and seven classes per student. `format` picks the
files: OneRoster 1.1 bulk CSV (the default: manifest, orgs, academic sessions, courses,
classes, users, demographics, enrollments), OneRoster 1.2 bulk CSV (the same, with
users.csv in the 1.2 layout plus roles.csv) or Clever SFTP CSV (schools, teachers, staff,
students with their contacts, sections, enrollments).

All three formats write the same district from the same random draws: the same people
under the same source IDs, with the same names, emails, phones, birth dates, classes,
enrollments and guardians, and the same injected problems, so syncing any of them gives the
same records and issues. What Clever's files cannot carry is left out of the Clever
output: teachers' mobile numbers and administrators' phones (teachers.csv and staff.csv
have no phone column; the administrator's number goes to schools.csv's School_phone, which
is not a person's device), guardians' second phone (Contact_phone holds one: the mobile,
else the landline, the number a OneRoster reader would use first), and the middle names of
guardians. A student's own mobile is sent as a contact row with relationship `Self`.

Everything random comes from one `random.Random(seed)` (split into a sub-generator per
step), with no clock, uuid or set-order dependence, so the same arguments always give
byte-identical files. Rows are streamed to the files; the only things held in memory are
small per-student and per-class tuples.

With `problems=True` a small, fixed rate of realistic data problems is injected (bad or
missing birth dates, parents without a name or a usable contact, foreign or truncated
phones, malformed emails, a teacher without an email, a teacher sharing a parent's email,
classes without a teacher or with a URL in the title, a student with six guardians), so a
sync run over the output meets every kind of issue. With `problems=False` none occur.

Pure Python: no Django imports, so it can be used from scripts and tests alike.
"""

from __future__ import annotations

import bisect
import csv
import random
import shutil
import tempfile
import unicodedata
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date
from itertools import accumulate
from pathlib import Path
from typing import NamedTuple

from syncs.formats.clever_csv import ENROLLMENTS as CLEVER_ENROLLMENTS
from syncs.formats.oneroster_csv import (
    CLASSES,
    COURSES,
    DEMOGRAPHICS,
    ENROLLMENTS,
    ORGS,
    ROLES,
    SESSIONS,
    USERS,
    USERS_12,
)

# ---------------------------------------------------------------------------
# Files and headers (OneRoster 1.1 CSV binding, columns in spec order)
# ---------------------------------------------------------------------------

FORMATS = ("oneroster11", "oneroster12", "clever")
# The name syncs.formats gives each one (its parser registry key).
PARSER_FORMATS = {
    "oneroster11": "oneroster_1_1_csv",
    "oneroster12": "oneroster_1_2_csv",
    "clever": "clever_csv",
}

# The parser's own column lists, so the generator can never drift from what is read.
HEADERS: dict[str, tuple[str, ...]] = {
    "manifest.csv": ("propertyName", "value"),
    **{
        spec.name: spec.columns
        for spec in (ORGS, SESSIONS, COURSES, CLASSES, USERS, DEMOGRAPHICS, ENROLLMENTS)
    },
}

# OneRoster 1.2: role and orgSourcedIds move from users.csv to roles.csv. The users.csv
# columns are the 1.2 spec's, in the spec's order as summarized in
# shared/reference/formats.md (the 1.1 columns that stay, the preferred names, pronouns,
# userMasterIdentifier, and primaryOrgSourcedId last).
# The 1.2 files the parser reads, with its own column lists.
HEADERS_12: dict[str, tuple[str, ...]] = {"users.csv": USERS_12.columns, "roles.csv": ROLES.columns}
# 1.2 has no plain `administrator` role; a school's administrator is a site administrator.
ROLES_12 = {"administrator": "siteAdministrator"}

# Clever SFTP CSV, columns as in shared/reference/formats.md (staff.csv as Clever's SFTP
# spec and SIS exports write it). Every column is one syncs.formats.clever_csv knows.
HEADERS_CLEVER: dict[str, tuple[str, ...]] = {
    "schools.csv": (
        "School_id",
        "School_name",
        "School_number",
        "State_id",
        "Low_grade",
        "High_grade",
        "Principal",
        "Principal_email",
        "School_address",
        "School_city",
        "School_state",
        "School_zip",
        "School_phone",
    ),
    "students.csv": (
        "School_id",
        "Student_id",
        "Student_number",
        "State_id",
        "Last_name",
        "Middle_name",
        "First_name",
        "Grade",
        "Gender",
        "Graduation_year",
        "DOB",
        "Race",
        "Hispanic_Latino",
        "Home_language",
        "Ell_status",
        "Frl_status",
        "IEP_status",
        "Student_street",
        "Student_city",
        "Student_state",
        "Student_zip",
        "Student_email",
        "Contact_relationship",
        "Contact_type",
        "Contact_name",
        "Contact_phone",
        "Contact_email",
        "Contact_sis_id",
        "Username",
        "Password",
    ),
    "teachers.csv": (
        "School_id",
        "Teacher_id",
        "Teacher_number",
        "State_teacher_id",
        "Teacher_email",
        "First_name",
        "Middle_name",
        "Last_name",
        "Title",
        "Username",
    ),
    "staff.csv": (
        "School_id",
        "Staff_id",
        "Staff_email",
        "First_name",
        "Last_name",
        "Department",
        "Title",
        "Username",
    ),
    "sections.csv": (
        "School_id",
        "Section_id",
        "Teacher_id",
        "Teacher_2_id",
        "Section_number",
        "Grade",
        "Course_name",
        "Course_number",
        "Period",
        "Subject",
        "Term_name",
        "Term_start",
        "Term_end",
    ),
    "enrollments.csv": CLEVER_ENROLLMENTS.columns,
}

MANIFEST = (
    ("manifest.version", "1.0"),
    ("oneroster.version", "1.1"),
    ("file.academicSessions", "bulk"),
    ("file.categories", "absent"),
    ("file.classes", "bulk"),
    ("file.classResources", "absent"),
    ("file.courses", "bulk"),
    ("file.courseResources", "absent"),
    ("file.demographics", "bulk"),
    ("file.enrollments", "bulk"),
    ("file.lineItems", "absent"),
    ("file.orgs", "bulk"),
    ("file.resources", "absent"),
    ("file.results", "absent"),
    ("file.users", "bulk"),
    ("source.systemName", "Rollcall generator"),
    ("source.systemCode", "rollcall-gen"),
)
MANIFEST_12 = tuple(
    ("oneroster.version", "1.2") if key == "oneroster.version" else (key, value)
    for key, value in MANIFEST
    if key.startswith(("manifest.", "oneroster.", "file."))
) + (
    ("file.roles", "bulk"),
    ("file.userProfiles", "absent"),
    ("file.userResources", "absent"),
    ("source.systemName", "Rollcall generator"),
    ("source.systemCode", "rollcall-gen"),
)

# ---------------------------------------------------------------------------
# The district
# ---------------------------------------------------------------------------

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


def _catalog() -> list[list[Course]]:
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


# ---------------------------------------------------------------------------
# Names. Pools by family origin so that households, names and demographics agree;
# accents, apostrophes, hyphens and spaces are deliberate.
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Origin:
    weight: float
    female: tuple[str, ...]
    male: tuple[str, ...]
    family: tuple[str, ...]
    race: str  # the demographics column flagged true
    hispanic: bool
    # Countries of birth for students born abroad: code -> cities
    abroad: tuple[tuple[str, tuple[str, ...]], ...]


def _t(words: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in words.split(",") if w.strip())


WHITE, ASIAN, BLACK = "white", "asian", "blackOrAfricanAmerican"
PACIFIC, NATIVE = "nativeHawaiianOrOtherPacificIslander", "americanIndianOrAlaskaNative"

ORIGINS: tuple[Origin, ...] = (
    Origin(
        weight=44,
        female=_t(
            "María, Sofía, Valentina, Camila, Lucía, Ximena, Guadalupe, Itzel, Ana, Daniela, Mariana, Renée"
        ),
        male=_t(
            "José, Luis, Mateo, Santiago, Diego, Andrés, Joaquín, Ángel, Jesús, Carlos, Emiliano, Rubén"
        ),
        family=_t(
            "García, Martínez, Hernández, López, González, Rodríguez, Pérez, Sánchez, Ramírez, Muñoz, "
            "Flores, Gómez, Díaz, Castañeda, Ibáñez, Ortiz, Núñez, De la Cruz, Gutiérrez, Peña"
        ),
        race=WHITE,
        hispanic=True,
        abroad=(
            ("MX", _t("Guadalajara, Ciudad de México, Puebla, Tijuana, Morelia")),
            ("SV", _t("San Salvador, Santa Ana")),
            ("GT", _t("Guatemala City, Quetzaltenango")),
        ),
    ),
    Origin(
        weight=18,
        female=_t(
            "Emma, Olivia, Ava, Charlotte, Abigail, Emily, Siobhán, Aoife, Zoë, Hannah, Madison, Chloé"
        ),
        male=_t(
            "Liam, Noah, Oliver, Ethan, James, William, Seán, Declan, Connor, Wyatt, Caleb, Owen"
        ),
        family=_t(
            "Smith, Johnson, Williams, Brown, Miller, Davis, Wilson, Anderson, Taylor, O'Brien, "
            "O'Connor, McCarthy, Murphy, O'Neill, Campbell, Sullivan"
        ),
        race=WHITE,
        hispanic=False,
        abroad=(
            ("GB", _t("London, Manchester")),
            ("IE", _t("Dublin, Cork")),
            ("CA", _t("Toronto, Vancouver")),
        ),
    ),
    Origin(
        weight=6,
        female=_t("Aaliyah, Imani, Jasmine, Nia, Destiny, Kiara, Zaria, Jada"),
        male=_t("Jamal, DeShawn, Malik, Darnell, Tyrone, Jaylen, Terrence, Andre"),
        family=_t("Washington, Jackson, Robinson, Harris, Thompson, Coleman, Banks, Jefferson"),
        race=BLACK,
        hispanic=False,
        abroad=(),
    ),
    Origin(
        weight=5,
        female=_t("Linh, Thảo, Ngọc, Hương, Mai, Trang, Nhi"),
        male=_t("Minh, Huy, Đức, Quang, Bảo, Tuấn, Khoa"),
        family=_t("Nguyễn, Trần, Lê, Phạm, Huỳnh, Võ, Đặng, Bùi"),
        race=ASIAN,
        hispanic=False,
        abroad=(("VN", _t("Hồ Chí Minh City, Hà Nội, Đà Nẵng")),),
    ),
    Origin(
        weight=5,
        female=_t("Mei, Xiaoling, Yun, Jing, Hui"),
        male=_t("Wei, Jun, Hao, Zhiwei, Ming"),
        family=_t("Wang, Li, Zhang, Chen, Liu, Huang, Lin, Zhou"),
        race=ASIAN,
        hispanic=False,
        abroad=(("CN", _t("Shanghai, Guangzhou, Beijing")), ("TW", _t("Taipei"))),
    ),
    Origin(
        weight=4,
        female=_t("Priya, Ananya, Aditi, Saanvi, Diya"),
        male=_t("Arjun, Rohan, Vihaan, Aarav, Kabir"),
        family=_t("Patel, Sharma, Singh, Reddy, Iyer, Gupta, Krishnan"),
        race=ASIAN,
        hispanic=False,
        abroad=(("IN", _t("Bengaluru, Hyderabad, Mumbai, Chennai")),),
    ),
    Origin(
        weight=4,
        female=_t("Maricel, Angelica, Kristine, Jasmin"),
        male=_t("Jomar, Rodel, Paolo, Rommel"),
        family=_t("Santos, Reyes, Cruz, Bautista, Dela Cruz, Villanueva, Mendoza"),
        race=ASIAN,
        hispanic=False,
        abroad=(("PH", _t("Manila, Cebu City, Quezon City")),),
    ),
    Origin(
        weight=2,
        female=_t("Ji-woo, Seo-yeon, Min-ji, Ha-eun"),
        male=_t("Min-jun, Seo-jun, Do-yun, Ji-ho"),
        family=_t("Kim, Park, Choi, Jung, Kang"),
        race=ASIAN,
        hispanic=False,
        abroad=(("KR", _t("Seoul, Busan")),),
    ),
    Origin(
        weight=4,
        female=_t("Françoise, Amélie, Inès, Ingrid, Astrid, Zofia, Małgorzata, Chiara, Léa, Björk"),
        male=_t("Søren, Lars, Björn, François, Jérôme, Étienne, Łukasz, Giuseppe, Niccolò, Jürgen"),
        family=_t(
            "Dubois, Lefèvre, Müller, Schröder, Søndergaard, Johansson, Åkesson, Kowalski, "
            "Wiśniewski, Rossi, D'Amico, Bianchi"
        ),
        race=WHITE,
        hispanic=False,
        abroad=(
            ("FR", _t("Paris, Lyon")),
            ("DE", _t("Berlin, München")),
            ("PL", _t("Kraków, Warszawa")),
            ("IT", _t("Milano, Napoli")),
            ("DK", _t("København")),
            ("SE", _t("Göteborg")),
        ),
    ),
    Origin(
        weight=3,
        female=_t("Fatima, Layla, Noor, Yasmin, Rania"),
        male=_t("Omar, Yusuf, Karim, Hassan, Tariq"),
        family=_t("Haddad, Khalil, Nasser, Al-Sayed, Mansour, Saleh"),
        race=WHITE,
        hispanic=False,
        abroad=(("EG", _t("Cairo, Alexandria")), ("LB", _t("Beirut")), ("JO", _t("Amman"))),
    ),
    Origin(
        weight=2,
        female=_t("Amara, Chiamaka, Abeni, Adjoa"),
        male=_t("Chidi, Kwame, Oluwaseun, Mamadou"),
        family=_t("Okafor, Adeyemi, Mensah, Diallo, N'Diaye, Oyelaran"),
        race=BLACK,
        hispanic=False,
        abroad=(("NG", _t("Lagos, Ibadan")), ("GH", _t("Accra")), ("SN", _t("Dakar"))),
    ),
    Origin(
        weight=1,
        female=_t("Leilani, Malia, Kalena, Mele"),
        male=_t("Keoni, Sione, Tevita, Kainoa"),
        family=_t("Kahale, Fifita, Tuilagi, Kealoha, Taufa"),
        race=PACIFIC,
        hispanic=False,
        abroad=(("TO", _t("Nukuʻalofa")), ("WS", _t("Apia"))),
    ),
    Origin(
        weight=1,
        female=_t("Winona, Tala, Aiyana, Kimi"),
        male=_t("Kai, Ahanu, Tahoma, Elan"),
        family=_t("Begay, Yazzie, Tsosie, Benally, Nez"),
        race=NATIVE,
        hispanic=False,
        abroad=(),
    ),
)
_ORIGIN_CUM = list(accumulate(o.weight for o in ORIGINS))

US_BIRTH = (  # (state, weight, cities)
    (
        "CA",
        85,
        _t(
            "Los Angeles, San Diego, Sacramento, Fresno, Oakland, San José, Bakersfield, "
            "Stockton, Riverside, Santa Rosa, Modesto, Salinas"
        ),
    ),
    ("TX", 3, _t("Houston, San Antonio")),
    ("WA", 2, _t("Seattle, Spokane")),
    ("NV", 2, _t("Las Vegas, Reno")),
    ("AZ", 2, _t("Phoenix, Tucson")),
    ("OR", 2, _t("Portland")),
    ("NY", 2, _t("New York, Buffalo")),
    ("IL", 1, _t("Chicago")),
    ("HI", 1, _t("Honolulu")),
)
_US_BIRTH_CUM = list(accumulate(s[1] for s in US_BIRTH))

# Letters NFKD does not decompose into ASCII base + combining mark.
_ASCII_FOLD = str.maketrans(
    {
        "ø": "o",
        "Ø": "O",
        "æ": "ae",
        "Æ": "AE",
        "ß": "ss",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "œ": "oe",
        "Œ": "OE",
        "ı": "i",
    }
)
_ascii_cache: dict[str, str] = {}


def ascii_name(name: str) -> str:
    """Lower-case ASCII letters/digits only, for email locals (Nguyễn → nguyen, O'Brien → obrien)."""
    cached = _ascii_cache.get(name)
    if cached is None:
        folded = unicodedata.normalize("NFKD", name.translate(_ASCII_FOLD))
        cached = "".join(c for c in folded.lower() if c.isascii() and c.isalnum())
        _ascii_cache[name] = cached
    return cached


def _pick_cum(rng: random.Random, items, cum: list[float]):
    """Weighted choice with precomputed cumulative weights (faster than rng.choices)."""
    return items[bisect.bisect_right(cum, rng.random() * cum[-1])]


def _origin(rng: random.Random) -> Origin:
    return _pick_cum(rng, ORIGINS, _ORIGIN_CUM)


def _first_name(rng: random.Random, origin: Origin, sex: str) -> str:
    return rng.choice(origin.female if sex == "female" else origin.male)


# ---------------------------------------------------------------------------
# Phones and emails
# ---------------------------------------------------------------------------

# California codes dominate (a Californian district); some families keep an out-of-state
# mobile number. All are real, assigned US area codes.
CA_AREA_CODES = (
    209,
    213,
    310,
    323,
    408,
    415,
    510,
    530,
    559,
    562,
    619,
    626,
    650,
    661,
    707,
    714,
    747,
    760,
    805,
    818,
    831,
    858,
    909,
    916,
    925,
    949,
    951,
)
OTHER_AREA_CODES = (206, 212, 312, 503, 617, 702, 713, 808, 919)
_AREA_CODES = CA_AREA_CODES + OTHER_AREA_CODES
_AREA_CUM = list(accumulate([6.0] * len(CA_AREA_CODES) + [3.0] * len(OTHER_AREA_CODES)))

PARENT_PROVIDERS = (
    "example.org",
    "example.com",
    "example.net",
    "mail.example.net",
    "mail.example.com",
    "inbox.example.org",
    "post.example.com",
)
_PROVIDER_CUM = list(accumulate((30, 25, 15, 12, 8, 6, 4)))


class Phones:
    """Unique, valid North American numbers in the formats districts actually export."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()  # membership only; never iterated (order would vary)

    def _digits(self) -> str:
        rng = self.rng
        while True:
            area = _pick_cum(rng, _AREA_CODES, _AREA_CUM)
            exchange = rng.randrange(200, 1000)
            # 555 is the fictional exchange and N11 codes are service numbers.
            if exchange == 555 or exchange % 100 == 11:
                continue
            digits = f"{area}{exchange}{rng.randrange(10000):04d}"
            if digits not in self.used:
                self.used.add(digits)
                return digits

    def us(self) -> str:
        d = self._digits()
        r = self.rng.random()
        if r < 0.35:
            return f"({d[:3]}) {d[3:6]}-{d[6:]}"
        if r < 0.70:
            return f"{d[:3]}-{d[3:6]}-{d[6:]}"
        if r < 0.85:
            return f"+1 {d[:3]} {d[3:6]} {d[6:]}"
        return d

    def _unique(self, make) -> str:
        while True:
            value = make()
            if value not in self.used:
                self.used.add(value)
                return value

    def foreign(self) -> str:
        """A number from a family abroad: valid, but not US, territory or Canadian."""
        rng = self.rng
        kind = rng.randrange(3)
        if kind == 0:  # UK, Ofcom's drama range 020 7946 0xxx
            return self._unique(lambda: f"+44 20 7946 0{rng.randrange(1000):03d}")
        if kind == 1:  # Jamaica shares +1, so it looks domestic until you check the area code
            return self._unique(
                lambda: f"876-{rng.randrange(200, 1000)}-{rng.randrange(10000):04d}"
            )
        return self._unique(
            lambda: f"+52 55 {rng.randrange(1000, 10000)} {rng.randrange(1000, 10000)}"
        )

    def too_short(self) -> str:
        rng = self.rng
        return self._unique(lambda: f"{rng.randrange(200, 1000)}-{rng.randrange(10, 100)}")


class Emails:
    """Parent addresses: common patterns at common providers, unique unless shared on purpose."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def claim(self, address: str) -> str:
        self.used.add(address)
        return address

    def personal(self, given: str, family: str) -> str:
        rng = self.rng
        first, last = ascii_name(given) or "parent", ascii_name(family) or "family"
        style = rng.randrange(6)
        if style == 0:
            local = f"{first}.{last}"
        elif style == 1:
            local = f"{first}{last}"
        elif style == 2:
            local = f"{first[0]}{last}"
        elif style == 3:
            local = f"{first}_{last}"
        elif style == 4:
            local = f"{last}.{first}"
        else:
            local = f"{first}{last[0]}"
        if rng.random() < 0.35:  # birth years and lucky numbers
            local += str(rng.randrange(1970, 2000) if rng.random() < 0.5 else rng.randrange(1, 100))
        domain = _pick_cum(rng, PARENT_PROVIDERS, _PROVIDER_CUM)
        address, n = f"{local}@{domain}", 1
        while address in self.used:
            n += 1
            address = f"{local}{n}@{domain}"
        return self.claim(address)

    def family(self, family: str) -> str:
        """A household address both guardians give (the{family}s@...)."""
        last = ascii_name(family) or "family"
        domain = _pick_cum(self.rng, PARENT_PROVIDERS, _PROVIDER_CUM)
        address, n = f"the{last}s@{domain}", 1
        while address in self.used:
            n += 1
            address = f"the{last}s{n}@{domain}"
        return self.claim(address)

    def malformed(self, given: str, family: str) -> str:
        """Typos email-validator rejects: doubled @, missing @, no dot in domain, ..."""
        rng = self.rng
        local = f"{ascii_name(given) or 'parent'}.{ascii_name(family) or 'family'}"
        while True:
            domain = _pick_cum(rng, PARENT_PROVIDERS, _PROVIDER_CUM)
            templates = (
                f"{local}@@{domain}",
                f"{local}.{domain}",
                f"{local}@{domain.split('.')[-2]}",
                f"{local.replace('.', '..')}@{domain}",
                f"{local.replace('.', ' ')}@{domain}",
                f"{local}.@{domain}",
            )
            address = templates[rng.randrange(len(templates))]
            if address not in self.used:  # typos are unique too, or they would look shared
                return self.claim(address)
            local += str(rng.randrange(10))


# ---------------------------------------------------------------------------
# Plan: schools, students, households, teachers, classes (small tuples only)
# ---------------------------------------------------------------------------

SCHOOL_STEMS = _t(
    "Lincoln, Washington, Jefferson, Roosevelt, Riverside, Oak Grove, Maple, Cedar Ridge, Sunset, "
    "Hillcrest, Lakeview, Pioneer, Valley View, César Chávez, Sojourner Truth, Harriet Tubman, "
    "Sequoia, Redwood, Mission, Alder Creek, Rosa Parks, Franklin, Madison, Monroe, Kennedy, "
    "Sierra Vista, Bayside, Willow Glen, Fremont, Ygnacio Valley, Dolores Huerta, Sally Ride, "
    "Juniper, Manzanita, Buena Vista, El Camino, Las Palmas, Vista del Mar, Greenwood, Meadowbrook, "
    "Fairview, Highland, Crestview, Golden Hills, Quail Run, Eagle Rock, Foothill, Sycamore, "
    "Laurel, Hawthorne, Emerson, Thoreau, Muir, Earhart, Yuri Kochiyama, Fred Korematsu, "
    "Larry Itliong, Maya Angelou, Ocean View, Del Rey"
)
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


def _make_schools(rng: random.Random, count: int) -> list[School]:
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


def _student_slots(
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


def _households(rng: random.Random, students: int) -> list[list[int]]:
    """[n_students, n_guardians] per household, covering exactly `students` students."""
    households = []
    left = students
    while left:
        kids = min(left, _pick_cum(rng, (1, 2, 3, 4), _KIDS_CUM))
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


def _make_classes(
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


def _assign_teachers(
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


# ---------------------------------------------------------------------------
# Problems: which records get which defect (disjoint index sets, fixed per seed)
# ---------------------------------------------------------------------------

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


def _plan_problems(
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


def _invalid_dob(rng: random.Random, year: int) -> str:
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


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


class _Table:
    """A CSV stream: optional header, then counted rows (UTF-8, no BOM, \\n line ends)."""

    def __init__(self, file, header: tuple[str, ...] | None = None) -> None:
        self.file = file
        self.writer = csv.writer(file, lineterminator="\n")
        if header:
            self.writer.writerow(header)
        self.rows = 0

    @classmethod
    def create(cls, out: Path, name: str, header: tuple[str, ...] | None = None) -> _Table:
        file = (out / name).open("w", encoding="utf-8", newline="")
        return cls(file, header or HEADERS[name])

    def write(self, row) -> None:
        self.writer.writerow(row)
        self.rows += 1

    def close(self) -> int:
        self.file.close()
        return self.rows


class _User(NamedTuple):
    """A person as a OneRoster 1.1 users.csv row (the fields in column order); the other
    formats' writers take what they need from it."""

    source_id: str
    status: str
    date_last_modified: str
    enabled: str
    orgs: str
    role: str
    username: str
    user_ids: str
    given: str
    family: str
    middle: str
    identifier: str
    email: str
    sms: str
    phone: str
    agents: str
    grades: str
    password: str


def _user_row(
    source_id: str,
    role: str,
    orgs: str,
    *,
    username: str = "",
    user_ids: str = "",
    given: str = "",
    family: str = "",
    middle: str = "",
    identifier: str = "",
    email: str = "",
    sms: str = "",
    phone: str = "",
    agents: str = "",
    grades: str = "",
) -> _User:
    """A users.csv row. Bulk files leave status and dateLastModified blank; no passwords."""
    return _User(source_id, "", "", "true", orgs, role, username, user_ids, given, family,
                 middle, identifier, email, sms, phone, agents, grades, "")  # fmt: skip


def _enrollment_row(
    n: int, class_id: str, school_id: str, user_id: str, role: str, primary: str, term: tuple
) -> tuple[str, ...]:
    return (f"enr-{n:07d}", "", "", class_id, school_id, user_id, role, primary, term[3], term[4])


def _write_simple(out: Path, name: str, rows) -> int:
    table = _Table.create(out, name)
    for row in rows:
        table.write(row)
    return table.close()


def _org_rows(rng: random.Random, schools: list[School]):
    yield (DISTRICT_ID, "", "", DISTRICT_NAME, "district", "0612345", "")
    # State school codes: 7 digits, often with leading zeros.
    codes = rng.sample(range(10**6, 10**7), len(schools))
    for school, code in zip(schools, codes, strict=True):
        yield (school.source_id, "", "", school.name, "school", f"{code:07d}", DISTRICT_ID)


def _session_rows():
    for sid, title, kind, start, end, parent in SESSIONS:
        yield (sid, "", "", title, kind, start, end, parent, SCHOOL_YEAR_ENDS)


def _course_rows(catalog: list[list[Course]]):
    for courses in catalog:
        for c in courses:
            yield (
                c.source_id,
                "",
                "",
                YEAR_ID,
                c.title,
                c.code,
                GRADES[c.grade],
                DISTRICT_ID,
                c.subject,
                "",
            )


def _class_titles(rng: random.Random, by_group, problems: Problems):
    """(class, title) for every class, in file order."""
    for classes in by_group.values():
        for k in classes:
            title = f"{k.course.title} - Period {k.period}"
            if problems.classes.get(k.source_id) == "url_title":
                # A teacher pasted the meeting link into the SIS section name.
                code = "".join(rng.choice("abcdefghijkmnpqrstuvwxyz") for _ in range(10))
                title += f" (Join at https://meet.example.org/{code[:3]}-{code[3:7]}-{code[7:]})"
            yield k, title


def _class_rows(titles, schools: list[School]):
    for k, title in titles:
        yield (
            k.source_id,
            "",
            "",
            title,
            GRADES[k.course.grade],
            k.course.source_id,
            f"{k.course.code}-{k.section + 1:02d}",
            "scheduled",
            f"Room {k.room}",
            schools[k.school].source_id,
            TERMS[k.term][0],
            k.course.subject,
            "",
            str(k.period),
        )


def _staff_email(given: str, family: str, number: int, used: set[str]) -> str:
    local = f"{ascii_name(given) or 'staff'}.{ascii_name(family) or 'member'}{number}"
    address = f"{local}@{DOMAIN}"
    while address in used:  # only if two staff share name and number, i.e. never by design
        local += "x"
        address = f"{local}@{DOMAIN}"
    used.add(address)
    return address


def _staff_person(rng: random.Random) -> tuple[str, str, str]:
    origin = _origin(rng)
    sex = "female" if rng.random() < 0.7 else "male"  # US teachers are ~3/4 women
    middle = _first_name(rng, origin, sex)[0] + "." if rng.random() < 0.3 else ""
    return _first_name(rng, origin, sex), rng.choice(origin.family), middle


def _write_staff(
    sink: _Sink, rng: random.Random, phones: Phones, schools: list[School], problems: Problems
) -> None:
    """Administrators (one per school), then teachers."""
    used: set[str] = set()
    for school in schools:
        n = school.index + 1
        given, family, middle = _staff_person(rng)
        email = _staff_email(given, family, n, used)
        sink.staff(
            _user_row(
                f"adm-{n:04d}",
                "administrator",
                school.source_id,
                username=email,
                user_ids=f"{{HR:A{n:05d}}}",
                given=given,
                family=family,
                middle=middle,
                identifier=f"A{n:05d}",
                email=email,
                # Clever's staff file has no phone column: drawn (so the rest of the
                # district stays the same) but left blank, so all formats agree.
                phone=(phones.us(), "")[1],
            )
        )
    teacher = 0
    for school in schools:
        for sid in school.teachers:
            number = int(sid[4:])
            given, family, middle = _staff_person(rng)
            email = _staff_email(given, family, number, used)
            if problems.teachers.get(teacher) == "no_email":
                email = ""
            if teacher == problems.shared_teacher:
                problems.shared_email, problems.shared_name = email, (given, family)
            # Likewise blank: Clever's teachers file has no phone column.
            sms = (phones.us() if rng.random() < 0.5 else "") and ""
            username = f"{ascii_name(given)[:1]}{ascii_name(family)}{number}"
            sink.staff(
                _user_row(
                    sid,
                    "teacher",
                    school.source_id,
                    username=username,
                    user_ids=f"{{HR:E{number:05d}}}",
                    given=given,
                    family=family,
                    middle=middle,
                    identifier=f"E{number:05d}",
                    email=email,
                    sms=sms,
                )
            )
            teacher += 1


@dataclass(slots=True)
class Guardian:
    source_id: str
    role: str
    sex: str
    given: str
    family: str
    middle: str = ""
    email: str = ""
    sms: str = ""
    phone: str = ""


_GUARDIAN_ROLE_CUM = list(accumulate((88, 10, 2)))
_GUARDIAN_ROLES = ("parent", "guardian", "relative")
# The one household with many guardians: parents, step-parents, grandparents.
_MANY_GUARDIAN_ROLES = ("parent", "parent", "guardian", "guardian", "relative", "relative")
YEAR_START = date(2026, 9, 1)  # ages are counted at the start of the 2026-27 year
# CEDS public school residence status: in the attendance area / other area / other district
_RESIDENCE = ("01652", "01653", "01654")
_RESIDENCE_CUM = list(accumulate((90, 8, 2)))


def _birth_date(rng: random.Random, grade: int) -> date:
    """Kindergartners are 5 on September 1, first graders 6, ...; a few were held back."""
    age = 5 + grade + (1 if rng.random() < 0.03 else 0)
    newest = date(YEAR_START.year - age, YEAR_START.month, YEAR_START.day).toordinal()
    return date.fromordinal(newest - rng.randrange(365))


def _race_flags(origins: list[Origin]) -> tuple[str, ...]:
    """The five race columns, two-or-more, and Hispanic ethnicity, from the family's origins."""
    races = {o.race for o in origins}  # membership only
    columns = (NATIVE, ASIAN, BLACK, PACIFIC, WHITE)
    flags = tuple("true" if c in races else "false" for c in columns)
    two_or_more = "true" if len(races) > 1 else "false"
    hispanic = "true" if any(o.hispanic for o in origins) else "false"
    return flags + (two_or_more, hispanic)


def _birth_place(rng: random.Random, origin: Origin) -> tuple[str, str, str]:
    """(country, state, city): mostly born in California, some abroad."""
    if origin.abroad and rng.random() < 0.08:
        country, cities = rng.choice(origin.abroad)
        return country, "", rng.choice(cities)
    state, _weight, cities = _pick_cum(rng, US_BIRTH, _US_BIRTH_CUM)
    return "US", state, rng.choice(cities)


class _People:
    """Makes students and their guardians, household by household, and hands them to the
    format's sink, which writes them."""

    def __init__(
        self,
        rng: random.Random,
        phones: Phones,
        schools: list[School],
        slots: list[tuple[int, int]],
        problems: Problems,
        sink: _Sink,
    ) -> None:
        self.rng, self.phones, self.emails = rng, phones, Emails(rng)
        self.schools, self.slots, self.problems = schools, slots, problems
        self.sink = sink
        self.next_student = 0
        self.next_parent = 0

    def household(self, kids: int, guardian_count: int) -> None:
        rng = self.rng
        # Most households share one origin; some guardians come from different ones.
        first = _origin(rng)
        second = first if rng.random() < 0.85 else _origin(rng)
        origins = [first, second] if guardian_count > 1 else [first]
        family1 = rng.choice(first.family)
        family2 = family1 if second is first and rng.random() < 0.6 else rng.choice(second.family)
        guardians = self.guardians(guardian_count, origins, family1, family2)
        self.contacts(guardians)
        for g in guardians:
            self.inject_parent_problem(g)

        surname = self.student_surname(guardian_count, family1, family2)
        student_ids, school_ids = [], []
        for _ in range(kids):
            # Half-siblings: now and then a child carries the other parent's name.
            family = family2 if guardian_count > 1 and rng.random() < 0.05 else surname
            sid, school_id = self.student(rng.choice(origins), origins, family, guardians)
            student_ids.append(sid)
            if school_id not in school_ids:
                school_ids.append(school_id)

        # OneRoster lets either side carry the link; about half the SISes fill both.
        back_links = ",".join(student_ids) if rng.random() < 0.5 else ""
        orgs = ",".join(school_ids)
        for g in guardians:
            self.sink.parent(
                _user_row(
                    g.source_id,
                    g.role,
                    orgs,
                    username=g.email or g.source_id,
                    given=g.given,
                    family=g.family,
                    middle=g.middle,
                    email=g.email,
                    sms=g.sms,
                    phone=g.phone,
                    agents=back_links,
                )
            )

    def student_surname(self, guardian_count: int, family1: str, family2: str) -> str:
        r = self.rng.random()
        if guardian_count == 1 or family1 == family2 or r < 0.75:
            return family1
        if r < 0.9:
            return family2
        return f"{family1}-{family2}"

    # -- guardians -----------------------------------------------------------------

    def guardians(
        self, count: int, origins: list[Origin], family1: str, family2: str
    ) -> list[Guardian]:
        rng = self.rng
        out: list[Guardian] = []
        for g in range(count):
            origin = origins[min(g, len(origins) - 1)]
            if g == 0:
                sex = "female" if rng.random() < 0.7 else "male"  # mothers are listed first most
            elif g == 1 and rng.random() < 0.92:
                sex = "male" if out[0].sex == "female" else "female"
            else:
                sex = "female" if rng.random() < 0.5 else "male"
            if count > 2:
                role = _MANY_GUARDIAN_ROLES[min(g, len(_MANY_GUARDIAN_ROLES) - 1)]
            else:
                role = _pick_cum(rng, _GUARDIAN_ROLES, _GUARDIAN_ROLE_CUM)
            family = (family1, family2)[g] if g < 2 else rng.choice(origin.family)
            middle = _first_name(rng, origin, sex) if rng.random() < 0.15 else ""
            self.next_parent += 1
            out.append(
                Guardian(
                    f"par-{self.next_parent:06d}",
                    role,
                    sex,
                    _first_name(rng, origin, sex),
                    family,
                    middle,
                )
            )
        return out

    def contacts(self, guardians: list[Guardian]) -> None:
        """~80% email, ~85% phone, everyone at least one; some households share devices."""
        rng, phones, emails = self.rng, self.phones, self.emails
        for g in guardians:
            r = rng.random()
            if r < 0.80:  # 65% both, 15% email only, 20% phone only
                g.email = emails.personal(g.given, g.family)
            if r < 0.65 or r >= 0.80:
                if rng.random() < 0.75:
                    g.sms = phones.us()  # mobile
                else:
                    g.phone = phones.us()
        if len(guardians) < 2:
            return
        a, b = guardians[0], guardians[1]
        if rng.random() < 0.25:
            # The household landline, given by both; some also give a mobile.
            landline = phones.us()
            for g in (a, b):
                g.phone = landline
                if rng.random() < 0.5:
                    g.sms = ""
        if rng.random() < 0.05:
            shared = a.email or emails.family(a.family)
            a.email = b.email = shared

    def inject_parent_problem(self, g: Guardian) -> None:
        kind = self.problems.parents.get(int(g.source_id[4:]) - 1)
        if kind is None:
            return
        phones, emails = self.phones, self.emails
        # Each defect is made the parent's only one, so every kind shows up on its own.
        if kind == "no_contact":
            g.email = g.sms = g.phone = ""
        elif kind == "no_name":
            g.given = g.family = g.middle = ""
        elif kind in ("foreign_phone", "short_phone"):
            g.sms, g.phone = (
                (phones.foreign() if kind == "foreign_phone" else phones.too_short()),
                "",
            )
            g.email = g.email or emails.personal(g.given, g.family)
        elif kind == "bad_email":
            g.email = emails.malformed(g.given, g.family)
            if not (g.sms or g.phone):
                g.sms = phones.us()
        elif kind == "teacher_email" and self.problems.shared_email:
            # A teacher who is also a parent in the district, listed under the same address.
            g.given, g.family = self.problems.shared_name
            g.email = self.problems.shared_email

    # -- students ------------------------------------------------------------------

    def student(
        self, origin: Origin, origins: list[Origin], family: str, guardians: list[Guardian]
    ) -> tuple[str, str]:
        rng = self.rng
        index = self.next_student
        self.next_student += 1
        school_index, grade = self.slots[index]
        school_id = self.schools[school_index].source_id
        sid, number = f"stu-{index + 1:06d}", 100000 + index + 1
        sex = "female" if rng.random() < 0.49 else "male"
        given = _first_name(rng, origin, sex)
        middle = _first_name(rng, origin, sex) if rng.random() < 0.4 else ""
        username = f"{ascii_name(given)}.{ascii_name(family)}.{number}"
        email = f"{username}@{STUDENT_DOMAIN}" if rng.random() < 0.6 else ""
        sms = self.phones.us() if grade >= HIGH.start and rng.random() < 0.1 else ""
        user = _user_row(
            sid,
            "student",
            school_id,
            username=username,
            user_ids=f"{{SIS:{number}}}",
            given=given,
            family=family,
            middle=middle,
            identifier=str(number),
            email=email,
            sms=sms,
            agents=",".join(g.source_id for g in guardians),
            grades=GRADES[grade],
        )

        born = _birth_date(rng, grade)
        dob = born.isoformat()
        kind = self.problems.students.get(index)
        if kind == "dob_blank":
            dob = ""
        elif kind == "dob_invalid":
            dob = _invalid_dob(rng, born.year)
        country, state, city = _birth_place(rng, origin)
        residence = _pick_cum(rng, _RESIDENCE, _RESIDENCE_CUM)
        self.sink.student(
            user,
            (sid, "", "", dob, sex, *_race_flags(origins), country, state, city, residence),
            guardians,
        )
        return sid, school_id


# ---------------------------------------------------------------------------
# People sinks: one per format. _People and _write_staff make each person once, with the
# same random draws whatever the format; a sink only lays them out (it never draws).
# ---------------------------------------------------------------------------


class _Sink:
    """Where people go: staff first, then each student (with the household's guardians,
    complete by then), then the guardians of that household."""

    def __init__(self) -> None:
        self._spills = ExitStack()

    def spill(self) -> _Table:
        """A temporary table, for rows that must follow rows not yet written."""
        return _Table(
            self._spills.enter_context(tempfile.TemporaryFile("w+", encoding="utf-8", newline=""))
        )

    @staticmethod
    def append(table: _Table, spill: _Table) -> None:
        spill.file.seek(0)
        table.file.flush()
        shutil.copyfileobj(spill.file, table.file)
        table.rows += spill.rows

    def __enter__(self) -> _Sink:
        return self

    def __exit__(self, *exc) -> None:
        self._spills.close()

    def staff(self, user: _User) -> None:
        raise NotImplementedError

    def student(self, user: _User, demographics: tuple, guardians: list[Guardian]) -> None:
        raise NotImplementedError

    def parent(self, user: _User) -> None:
        raise NotImplementedError

    def finish(self) -> dict[str, int]:
        """Close the files; data rows per file name."""
        raise NotImplementedError


class _OneRoster11(_Sink):
    """users.csv and demographics.csv. Guardians go to a spill appended to users.csv at the
    end, so the file lists staff, then students, then parents, as SIS exports do, without
    holding rows in memory."""

    def __init__(self, out: Path) -> None:
        super().__init__()
        self.users = _Table.create(out, "users.csv")
        self.demographics = _Table.create(out, "demographics.csv")
        self.parents = self.spill()

    def staff(self, user: _User) -> None:
        self.users.write(user)

    def student(self, user: _User, demographics: tuple, guardians: list[Guardian]) -> None:
        self.users.write(user)
        self.demographics.write(demographics)

    def parent(self, user: _User) -> None:
        self.parents.write(user)

    def finish(self) -> dict[str, int]:
        self.append(self.users, self.parents)
        return {"users.csv": self.users.close(), "demographics.csv": self.demographics.close()}


class _OneRoster12(_Sink):
    """users.csv in the 1.2 layout, roles.csv (one row per user and org: the first org's row
    is the user's primary role, any others secondary) and demographics.csv."""

    def __init__(self, out: Path) -> None:
        super().__init__()
        self.users = _Table.create(out, "users.csv", HEADERS_12["users.csv"])
        self.roles = _Table.create(out, "roles.csv", HEADERS_12["roles.csv"])
        self.demographics = _Table.create(out, "demographics.csv")
        self.parent_users, self.parent_roles = self.spill(), self.spill()

    @staticmethod
    def write(user: _User, users: _Table, roles: _Table) -> None:
        orgs = user.orgs.split(",")
        users.write(
            (user.source_id, user.status, user.date_last_modified, user.enabled,
             user.username, user.user_ids, user.given, user.family, user.middle,
             "", "", "", "", "",  # preferred given/middle/family names, pronouns, master id
             user.identifier, user.email, user.sms, user.phone, user.agents, user.grades,
             user.password, orgs[0])
        )  # fmt: skip
        role = ROLES_12.get(user.role, user.role)
        for n, org in enumerate(orgs):
            kind = "primary" if n == 0 else "secondary"
            roles.write((f"role-{user.source_id}-{org}", "", "", user.source_id, kind, role,
                         "", "", org, ""))  # fmt: skip

    def staff(self, user: _User) -> None:
        self.write(user, self.users, self.roles)

    def student(self, user: _User, demographics: tuple, guardians: list[Guardian]) -> None:
        self.write(user, self.users, self.roles)
        self.demographics.write(demographics)

    def parent(self, user: _User) -> None:
        self.write(user, self.parent_users, self.parent_roles)

    def finish(self) -> dict[str, int]:
        self.append(self.users, self.parent_users)
        self.append(self.roles, self.parent_roles)
        return {
            "users.csv": self.users.close(),
            "roles.csv": self.roles.close(),
            "demographics.csv": self.demographics.close(),
        }


# Clever's Contact_relationship and Contact_type for each OneRoster guardian role.
_CLEVER_CONTACT = {
    "parent": ("Parent", "Parent/Guardian"),
    "guardian": ("Other", "Parent/Guardian"),
    "relative": ("Grandparent", "Family"),
}
# Clever's race codes for the demographics flags (native, asian, black, pacific, white).
_CLEVER_RACES = ("I", "A", "B", "P", "W")


def _clever_race(demographics: tuple) -> str:
    """One race code from a demographics.csv row's flags; M for two or more."""
    if demographics[10] == "true":
        return "M"
    flags = demographics[5:10]
    return next((c for c, flag in zip(_CLEVER_RACES, flags, strict=True) if flag == "true"), "")


def clever_dob(raw: str) -> str:
    """A valid ISO birth date as Clever writes it (M/D/YYYY, no padding: 2/11/2007); an
    invalid one as it is, so that it stays exactly as invalid as in OneRoster."""
    try:
        born = date.fromisoformat(raw)
    except ValueError:
        return raw
    return f"{born.month}/{born.day}/{born.year}"


def clever_contact_name(given: str, family: str) -> str:
    """Clever's one combined contact name: the name a OneRoster reader shows for the same
    guardian (given and family name; the middle name is not part of it)."""
    return " ".join(part for part in (given, family) if part)


class _Clever(_Sink):
    """teachers.csv, staff.csv (the administrators, titled Principal) and students.csv with
    one row per student and guardian. A student's own mobile is a `Self` contact row.
    Schools are written last (schools.csv names each school's principal)."""

    def __init__(self, out: Path) -> None:
        super().__init__()
        self.teachers = _Table.create(out, "teachers.csv", HEADERS_CLEVER["teachers.csv"])
        self.admins = _Table.create(out, "staff.csv", HEADERS_CLEVER["staff.csv"])
        self.students = _Table.create(out, "students.csv", HEADERS_CLEVER["students.csv"])
        # school ID -> (principal's name, email, the office phone)
        self.principals: dict[str, tuple[str, str, str]] = {}

    def staff(self, user: _User) -> None:
        if user.role == "administrator":
            self.principals[user.orgs] = (
                f"{user.given} {user.family}",
                user.email,
                user.phone or user.sms,
            )
            self.admins.write((user.orgs, user.source_id, user.email, user.given, user.family,
                               "Administration", "Principal", user.username))  # fmt: skip
            return
        self.teachers.write((user.orgs, user.source_id, user.identifier, "", user.email,
                             user.given, user.middle, user.family, "Teacher", user.username))  # fmt: skip

    def student(self, user: _User, demographics: tuple, guardians: list[Guardian]) -> None:
        dob, sex, hispanic = demographics[3], demographics[4], demographics[11]
        grade = GRADES.index(user.grades)
        head = (user.orgs, user.source_id, user.identifier, "", user.family, user.middle,
                user.given, user.grades, "F" if sex == "female" else "M",
                str(int(SCHOOL_YEAR_ENDS) + len(GRADES) - 1 - grade), clever_dob(dob),
                _clever_race(demographics), "Y" if hispanic == "true" else "N",
                "", "", "", "", "", "", "", "", user.email)  # fmt: skip
        # (relationship, type, name, phone, email, sis_id): one row each.
        contacts = [
            # One phone per contact: the one a OneRoster reader tries first (sms, then phone).
            (*_CLEVER_CONTACT[g.role], clever_contact_name(g.given, g.family),
             g.sms or g.phone, g.email, g.source_id)
            for g in guardians
        ]  # fmt: skip
        if user.sms:
            name = clever_contact_name(user.given, user.family)
            contacts.append(("Self", "Other", name, user.sms, "", ""))
        for contact in contacts or [("",) * 6]:  # a student without contacts: one plain row
            self.students.write((*head, *contact, user.username, ""))

    def parent(self, user: _User) -> None:
        pass  # written with each of their students

    def finish(self) -> dict[str, int]:
        return {
            "teachers.csv": self.teachers.close(),
            "staff.csv": self.admins.close(),
            "students.csv": self.students.close(),
        }


def _clever_school_rows(schools: list[School], org_rows, principals):
    codes = {row[0]: row[5] for row in org_rows}
    for school in schools:
        name, email, phone = principals.get(school.source_id, ("", "", ""))
        low, high = GRADES[school.grades.start], GRADES[school.grades.stop - 1]
        yield (school.source_id, school.name, school.source_id, codes[school.source_id], low,
               high, name, email, "", "", "CA", "", phone)  # fmt: skip


def _clever_section_rows(titles, schools: list[School], problems: Problems):
    for k, title in titles:
        teachers = [] if problems.classes.get(k.source_id) == "no_teacher" else k.teachers
        # A class has a teacher and at most one co-teacher (_assign_teachers).
        first, second = (teachers + ["", ""])[:2]
        term = TERMS[k.term]
        yield (schools[k.school].source_id, k.source_id, first, second,
               f"{k.course.code}-{k.section + 1:02d}", GRADES[k.course.grade], title,
               k.course.code, str(k.period), k.course.subject, term[1],
               _us_date(term[3]), _us_date(term[4]))  # fmt: skip


def _us_date(iso: str) -> str:
    return date.fromisoformat(iso).strftime("%m/%d/%Y")


def _write_table(out: Path, name: str, header: tuple[str, ...], rows) -> int:
    table = _Table.create(out, name, header)
    for row in rows:
        table.write(row)
    return table.close()


def _write_people(
    sink: _Sink,
    rng: random.Random,
    phones: Phones,
    schools: list[School],
    slots: list[tuple[int, int]],
    households: list[list[int]],
    problems: Problems,
) -> dict[str, int]:
    """Staff, then students with their guardians; returns data rows per file written."""
    with sink:
        _write_staff(sink, rng, phones, schools, problems)
        people = _People(rng, phones, schools, slots, problems, sink)
        for kids, guardian_count in households:
            people.household(kids, guardian_count)
        return sink.finish()


def _write_enrollments(
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
    table = _Table.create(
        out, "enrollments.csv", HEADERS_CLEVER["enrollments.csv"] if clever else None
    )
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
                    _enrollment_row(
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
                    table.write((school_id, sections[c][s].source_id, sid))
                    continue
                table.write(
                    _enrollment_row(
                        n, sections[c][s].source_id, school_id, sid, "student", "false", terms[c][s]
                    )
                )
    return table.close()


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------


def _give_one_student_many_guardians(rng: random.Random, households: list[list[int]]) -> None:
    singles = [i for i, (kids, _g) in enumerate(households) if kids == 1]
    households[rng.choice(singles or list(range(len(households))))][1] = MANY_GUARDIANS


def generate_district(
    *, students: int, seed: int, out: Path, problems: bool = True, format: str = "oneroster11"
) -> dict[str, int]:
    """Write a district into `out` as `format` (one of FORMATS); return data rows per file.

    The same arguments always give byte-identical files, and the three formats of one
    district describe the same records (see the module docstring for what Clever leaves out).
    """
    if students < 1:
        raise ValueError("students must be at least 1")
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
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
    catalog = _catalog()
    schools = _make_schools(r_schools, max(1, round(students / STUDENTS_PER_SCHOOL)))
    slots = _student_slots(r_slots, students, schools)
    groups: dict[tuple[int, int], list[int]] = {}
    for index, key in enumerate(slots):
        groups.setdefault(key, []).append(index)
    households = _households(r_households, students)
    if problems:
        _give_one_student_many_guardians(r_households, households)
    by_group = _make_classes(r_classes, schools, groups, catalog)
    teachers = _assign_teachers(r_classes, schools, by_group)
    plan = Problems()
    if problems:
        class_ids = [k.source_id for classes in by_group.values() for k in classes]
        parents = sum(g for _kids, g in households)
        plan = _plan_problems(r_problems, students, parents, teachers, class_ids)

    out.mkdir(parents=True, exist_ok=True)
    titles = _class_titles(r_titles, by_group, plan)
    people = (r_people, Phones(r_phones), schools, slots, households, plan)
    if format == "clever":
        sink = _Clever(out)
        counts = _write_people(sink, *people)
        org_rows = list(_org_rows(r_orgs, schools))
        schools_csv = _clever_school_rows(schools, org_rows, sink.principals)
        return {
            "schools.csv": _write_table(
                out, "schools.csv", HEADERS_CLEVER["schools.csv"], schools_csv
            ),
            **counts,
            "sections.csv": _write_table(
                out,
                "sections.csv",
                HEADERS_CLEVER["sections.csv"],
                _clever_section_rows(titles, schools, plan),
            ),
            "enrollments.csv": _write_enrollments(
                out, schools, catalog, by_group, groups, plan, clever=True
            ),
        }

    manifest = MANIFEST if format == "oneroster11" else MANIFEST_12
    counts = {
        "manifest.csv": _write_simple(out, "manifest.csv", manifest),
        "orgs.csv": _write_simple(out, "orgs.csv", _org_rows(r_orgs, schools)),
        "academicSessions.csv": _write_simple(out, "academicSessions.csv", _session_rows()),
        "courses.csv": _write_simple(out, "courses.csv", _course_rows(catalog)),
        "classes.csv": _write_simple(out, "classes.csv", _class_rows(titles, schools)),
    }
    sink = _OneRoster11(out) if format == "oneroster11" else _OneRoster12(out)
    counts.update(_write_people(sink, *people))
    counts["enrollments.csv"] = _write_enrollments(out, schools, catalog, by_group, groups, plan)
    return counts
