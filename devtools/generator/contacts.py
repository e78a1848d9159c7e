"""Phones and emails: unique, realistic, and broken on purpose where a problem asks for it."""

from __future__ import annotations

import random

from devtools.generator.names import ascii_name
from devtools.generator.tables import AREA_CODES, AREA_CUM, PARENT_PROVIDERS, PROVIDER_CUM, pick_cum


class Phones:
    """Unique, valid North American numbers in the formats districts actually export."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()  # membership only; never iterated (order would vary)

    def _digits(self) -> str:
        rng = self.rng
        while True:
            area = pick_cum(rng, AREA_CODES, AREA_CUM)
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
        domain = pick_cum(rng, PARENT_PROVIDERS, PROVIDER_CUM)
        address, n = f"{local}@{domain}", 1
        while address in self.used:
            n += 1
            address = f"{local}{n}@{domain}"
        return self.claim(address)

    def family(self, family: str) -> str:
        """A household address both guardians give (the{family}s@...)."""
        last = ascii_name(family) or "family"
        domain = pick_cum(self.rng, PARENT_PROVIDERS, PROVIDER_CUM)
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
            domain = pick_cum(rng, PARENT_PROVIDERS, PROVIDER_CUM)
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
