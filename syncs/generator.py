"""Deterministic generator of a realistic school district as OneRoster 1.1 CSV (bulk) files.

`generate_district(students=..., seed=..., out=...)` writes manifest, orgs, academic
sessions, courses, classes, users, demographics and enrollments for a made-up California
district: elementary, middle and high schools, households of siblings with one or two
guardians, teachers, one administrator per school, and seven classes per student.

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
from dataclasses import dataclass, field
from datetime import date
from itertools import accumulate
from pathlib import Path

from syncs.formats.oneroster_csv import (
    CLASSES,
    COURSES,
    DEMOGRAPHICS,
    ENROLLMENTS,
    ORGS,
    SESSIONS,
    USERS,
)

# ---------------------------------------------------------------------------
# Files and headers (OneRoster 1.1 CSV binding, columns in spec order)
# ---------------------------------------------------------------------------

# The parser's own column lists, so the generator can never drift from what is read.
HEADERS: dict[str, tuple[str, ...]] = {
    "manifest.csv": ("propertyName", "value"),
    **{
        spec.name: spec.columns
        for spec in (ORGS, SESSIONS, COURSES, CLASSES, USERS, DEMOGRAPHICS, ENROLLMENTS)
    },
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
    def create(cls, out: Path, name: str) -> _Table:
        return cls((out / name).open("w", encoding="utf-8", newline=""), HEADERS[name])

    def write(self, row) -> None:
        self.writer.writerow(row)
        self.rows += 1

    def close(self) -> int:
        self.file.close()
        return self.rows


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
) -> tuple[str, ...]:
    """A users.csv row. Bulk files leave status and dateLastModified blank; no passwords."""
    return (source_id, "", "", "true", orgs, role, username, user_ids, given, family, middle,
            identifier, email, sms, phone, agents, grades, "")  # fmt: skip


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


def _class_rows(rng: random.Random, schools: list[School], by_group, problems: Problems):
    for classes in by_group.values():
        for k in classes:
            title = f"{k.course.title} - Period {k.period}"
            if problems.classes.get(k.source_id) == "url_title":
                # A teacher pasted the meeting link into the SIS section name.
                code = "".join(rng.choice("abcdefghijkmnpqrstuvwxyz") for _ in range(10))
                title += f" (Join at https://meet.example.org/{code[:3]}-{code[3:7]}-{code[7:]})"
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
    users: _Table, rng: random.Random, phones: Phones, schools: list[School], problems: Problems
) -> None:
    """Administrators (one per school), then teachers."""
    used: set[str] = set()
    for school in schools:
        n = school.index + 1
        given, family, middle = _staff_person(rng)
        email = _staff_email(given, family, n, used)
        users.write(
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
                phone=phones.us(),  # the school office
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
            sms = phones.us() if rng.random() < 0.5 else ""
            username = f"{ascii_name(given)[:1]}{ascii_name(family)}{number}"
            users.write(
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
    """Writes students (users + demographics) and their guardians, household by household.

    Guardians go to a temporary file appended to users.csv afterwards, so the file lists
    staff, then students, then parents, as SIS exports do, without holding rows in memory.
    """

    def __init__(
        self,
        rng: random.Random,
        phones: Phones,
        schools: list[School],
        slots: list[tuple[int, int]],
        problems: Problems,
        users: _Table,
        parents: _Table,
        demographics: _Table,
    ) -> None:
        self.rng, self.phones, self.emails = rng, phones, Emails(rng)
        self.schools, self.slots, self.problems = schools, slots, problems
        self.users, self.parents, self.demographics = users, parents, demographics
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
        agents = ",".join(g.source_id for g in guardians)
        student_ids, school_ids = [], []
        for _ in range(kids):
            # Half-siblings: now and then a child carries the other parent's name.
            family = family2 if guardian_count > 1 and rng.random() < 0.05 else surname
            sid, school_id = self.student(rng.choice(origins), origins, family, agents)
            student_ids.append(sid)
            if school_id not in school_ids:
                school_ids.append(school_id)

        # OneRoster lets either side carry the link; about half the SISes fill both.
        back_links = ",".join(student_ids) if rng.random() < 0.5 else ""
        orgs = ",".join(school_ids)
        for g in guardians:
            self.parents.write(
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
        self, origin: Origin, origins: list[Origin], family: str, agents: str
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
        self.users.write(
            _user_row(
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
                agents=agents,
                grades=GRADES[grade],
            )
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
        self.demographics.write(
            (sid, "", "", dob, sex, *_race_flags(origins), country, state, city, residence)
        )
        return sid, school_id


def _write_people(
    out: Path,
    rng: random.Random,
    phones: Phones,
    schools: list[School],
    slots: list[tuple[int, int]],
    households: list[list[int]],
    problems: Problems,
) -> tuple[int, int]:
    """users.csv (staff, students, parents) and demographics.csv; returns their row counts."""
    users = _Table.create(out, "users.csv")
    demographics = _Table.create(out, "demographics.csv")
    _write_staff(users, rng, phones, schools, problems)
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as spill:
        parents = _Table(spill)
        people = _People(rng, phones, schools, slots, problems, users, parents, demographics)
        for kids, guardian_count in households:
            people.household(kids, guardian_count)
        spill.seek(0)
        users.file.flush()
        shutil.copyfileobj(spill, users.file)
        users.rows += parents.rows
    return users.close(), demographics.close()


def _write_enrollments(
    out: Path,
    schools: list[School],
    catalog: list[list[Course]],
    by_group: dict[tuple[int, int], list[Klass]],
    groups: dict[tuple[int, int], list[int]],
    problems: Problems,
) -> int:
    """Teachers of each class, then each student in 7 classes of 7 different courses.

    Student p of a (school, grade) takes courses p, p+1, ..., p+6 (mod 8) and, within each
    course, the next section round-robin, so every section fills to about the same size.
    """
    table = _Table.create(out, "enrollments.csv")
    n = 0
    for (school_index, grade), classes in by_group.items():
        school_id = schools[school_index].source_id
        for k in classes:
            if problems.classes.get(k.source_id) == "no_teacher":
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
    *, students: int, seed: int, out: Path, problems: bool = True
) -> dict[str, int]:
    """Write a OneRoster 1.1 bulk CSV district into `out`; return data rows per file name."""
    if students < 1:
        raise ValueError("students must be at least 1")
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
    counts = {
        "manifest.csv": _write_simple(out, "manifest.csv", MANIFEST),
        "orgs.csv": _write_simple(out, "orgs.csv", _org_rows(r_orgs, schools)),
        "academicSessions.csv": _write_simple(out, "academicSessions.csv", _session_rows()),
        "courses.csv": _write_simple(out, "courses.csv", _course_rows(catalog)),
        "classes.csv": _write_simple(
            out, "classes.csv", _class_rows(r_titles, schools, by_group, plan)
        ),
    }
    users, demographics = _write_people(
        out, r_people, Phones(r_phones), schools, slots, households, plan
    )
    counts["users.csv"] = users
    counts["demographics.csv"] = demographics
    counts["enrollments.csv"] = _write_enrollments(out, schools, catalog, by_group, groups, plan)
    return counts
