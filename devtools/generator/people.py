"""Students and their guardians, household by household, handed to the format's sink.

_People and write_staff make each person once, with the same random draws whatever the
format; a sink only lays them out (it never draws)."""

from __future__ import annotations

import random
from datetime import date
from itertools import accumulate

from devtools.generator.catalog import GRADES, HIGH, STUDENT_DOMAIN
from devtools.generator.contacts import Emails, Phones
from devtools.generator.names import ascii_name, first_name, pick_origin
from devtools.generator.output import Sink
from devtools.generator.plan import School
from devtools.generator.problems import Problems, invalid_dob
from devtools.generator.records import Guardian, user_row
from devtools.generator.staff import write_staff
from devtools.generator.tables import RACE_COLUMNS, US_BIRTH, US_BIRTH_CUM, Origin, pick_cum

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
    flags = tuple("true" if c in races else "false" for c in RACE_COLUMNS)
    two_or_more = "true" if len(races) > 1 else "false"
    hispanic = "true" if any(o.hispanic for o in origins) else "false"
    return flags + (two_or_more, hispanic)


def _birth_place(rng: random.Random, origin: Origin) -> tuple[str, str, str]:
    """(country, state, city): mostly born in California, some abroad."""
    if origin.abroad and rng.random() < 0.08:
        country, cities = rng.choice(origin.abroad)
        return country, "", rng.choice(cities)
    state, _weight, cities = pick_cum(rng, US_BIRTH, US_BIRTH_CUM)
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
        sink: Sink,
    ) -> None:
        self.rng, self.phones, self.emails = rng, phones, Emails(rng)
        self.schools, self.slots, self.problems = schools, slots, problems
        self.sink = sink
        self.next_student = 0
        self.next_parent = 0

    def household(self, kids: int, guardian_count: int) -> None:
        rng = self.rng
        # Most households share one origin; some guardians come from different ones.
        first = pick_origin(rng)
        second = first if rng.random() < 0.85 else pick_origin(rng)
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
                user_row(
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
                role = pick_cum(rng, _GUARDIAN_ROLES, _GUARDIAN_ROLE_CUM)
            family = (family1, family2)[g] if g < 2 else rng.choice(origin.family)
            middle = first_name(rng, origin, sex) if rng.random() < 0.15 else ""
            self.next_parent += 1
            out.append(
                Guardian(
                    f"par-{self.next_parent:06d}",
                    role,
                    sex,
                    first_name(rng, origin, sex),
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
        given = first_name(rng, origin, sex)
        middle = first_name(rng, origin, sex) if rng.random() < 0.4 else ""
        username = f"{ascii_name(given)}.{ascii_name(family)}.{number}"
        email = f"{username}@{STUDENT_DOMAIN}" if rng.random() < 0.6 else ""
        sms = self.phones.us() if grade >= HIGH.start and rng.random() < 0.1 else ""
        user = user_row(
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
            dob = invalid_dob(rng, born.year)
        country, state, city = _birth_place(rng, origin)
        residence = pick_cum(rng, _RESIDENCE, _RESIDENCE_CUM)
        self.sink.student(
            user,
            (sid, "", "", dob, sex, *_race_flags(origins), country, state, city, residence),
            guardians,
        )
        return sid, school_id


def write_people(
    sink: Sink,
    rng: random.Random,
    phones: Phones,
    schools: list[School],
    slots: list[tuple[int, int]],
    households: list[list[int]],
    problems: Problems,
) -> dict[str, int]:
    """Staff, then students with their guardians; returns data rows per file written."""
    with sink:
        write_staff(sink, rng, phones, schools, problems)
        people = _People(rng, phones, schools, slots, problems, sink)
        for kids, guardian_count in households:
            people.household(kids, guardian_count)
        return sink.finish()
