"""The generator's name and place tables, read once from data/ (shipped with the package).

- origins.json: given and family names by family origin, with the origin's weight in the
  district, its demographics race column and Hispanic flag, and the countries (ISO code
  -> cities) its students born abroad come from. Accents, apostrophes, hyphens and
  spaces are deliberate.
- us_birthplaces.json: states (weight, cities) of students born in the US.
- school_names.txt: stems of school names, one per line.
- contacts.json: area codes (weighted by group) and parent email providers (weighted).

Order and spelling are part of the output: draws pick by position, so editing, adding or
reordering an entry changes every district generated from then on.
"""

from __future__ import annotations

import bisect
import json
import random
from dataclasses import dataclass
from importlib.resources import files
from itertools import accumulate

DATA = files(__package__) / "data"

# The demographics.csv race columns an origin can flag.
WHITE, ASIAN, BLACK = "white", "asian", "blackOrAfricanAmerican"
PACIFIC, NATIVE = "nativeHawaiianOrOtherPacificIslander", "americanIndianOrAlaskaNative"
RACE_COLUMNS = (NATIVE, ASIAN, BLACK, PACIFIC, WHITE)


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


def _json(name: str):
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def _origin(entry: dict) -> Origin:
    if entry["race"] not in RACE_COLUMNS:
        raise ValueError(f"origins.json: unknown race column {entry['race']!r}")
    return Origin(
        weight=entry["weight"],
        female=tuple(entry["female"]),
        male=tuple(entry["male"]),
        family=tuple(entry["family"]),
        race=entry["race"],
        hispanic=entry["hispanic"],
        abroad=tuple((code, tuple(cities)) for code, cities in entry["abroad"].items()),
    )


ORIGINS: tuple[Origin, ...] = tuple(_origin(entry) for entry in _json("origins.json"))
ORIGIN_CUM = list(accumulate(o.weight for o in ORIGINS))

US_BIRTH: tuple[tuple[str, int, tuple[str, ...]], ...] = tuple(
    (s["state"], s["weight"], tuple(s["cities"])) for s in _json("us_birthplaces.json")
)
US_BIRTH_CUM = list(accumulate(s[1] for s in US_BIRTH))

SCHOOL_STEMS: tuple[str, ...] = tuple(
    line.strip()
    for line in (DATA / "school_names.txt").read_text(encoding="utf-8").splitlines()
    if line.strip()
)

_contacts = _json("contacts.json")
# California codes dominate (a Californian district); some families keep an out-of-state
# mobile number. All are real, assigned US area codes.
_california, _other = _contacts["area_codes"]["california"], _contacts["area_codes"]["other"]
CA_AREA_CODES: tuple[int, ...] = tuple(_california["codes"])
OTHER_AREA_CODES: tuple[int, ...] = tuple(_other["codes"])
AREA_CODES = CA_AREA_CODES + OTHER_AREA_CODES
AREA_CUM = list(
    accumulate(
        [_california["weight"]] * len(CA_AREA_CODES) + [_other["weight"]] * len(OTHER_AREA_CODES)
    )
)
PARENT_PROVIDERS: tuple[str, ...] = tuple(p["domain"] for p in _contacts["email_providers"])
PROVIDER_CUM = list(accumulate(p["weight"] for p in _contacts["email_providers"]))


def pick_cum(rng: random.Random, items, cum: list[float]):
    """Weighted choice with precomputed cumulative weights (faster than rng.choices)."""
    return items[bisect.bisect_right(cum, rng.random() * cum[-1])]
