"""Names: drawing a family origin and a given name, and the ASCII form used in emails."""

from __future__ import annotations

import random
import unicodedata

from devtools.generator.tables import ORIGIN_CUM, ORIGINS, Origin, pick_cum

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


def pick_origin(rng: random.Random) -> Origin:
    return pick_cum(rng, ORIGINS, ORIGIN_CUM)


def first_name(rng: random.Random, origin: Origin, sex: str) -> str:
    return rng.choice(origin.female if sex == "female" else origin.male)
