"""Normalizing contact devices (DESIGN §2): email lower-cased, phones as E.164.

Plain functions over strings. Email syntax comes from email-validator (no DNS lookups);
phone rules from phonenumbers, restricted to the regions messages can reach.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from importlib.metadata import version

import phonenumbers
from email_validator import EmailNotValidError, validate_email

# The US, its territories, and Canada share +1 with other countries (JM, TC, ...):
# region, not the country code, decides.
SUPPORTED_PHONE_REGIONS = frozenset({"US", "PR", "AS", "GU", "MP", "VI", "CA"})


@lru_cache(maxsize=65536)
def normalize_email(raw: str) -> str | None:
    """The address as stored and compared, or None when it is not a valid address."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        result = validate_email(raw, check_deliverability=False)
    except EmailNotValidError:
        return None
    return result.normalized.lower()


@lru_cache(maxsize=65536)
def normalize_phone(raw: str) -> str | None:
    """E.164 for a valid US/territory/Canadian number; None for anything else."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        number = phonenumbers.parse(raw, "US")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    if phonenumbers.region_code_for_number(number) not in SUPPORTED_PHONE_REGIONS:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# Cached results are only reused under the library versions that produced them.
RULESET = f"email-validator {version('email-validator')}; phonenumbers {version('phonenumbers')}"
NORMALIZERS = {"email": normalize_email, "phone": normalize_phone}
MAX_RAW = 512


def normalize_many(kind: str, raws: Iterable[str]) -> dict[str, str | None]:
    """Normalize many raw values at once, through the NormalizedDevice memo table.

    Returns raw -> normalized value (None when unusable) for every non-empty raw.
    """
    from accounts.models import NormalizedDevice
    from syncs.pipeline.bulk import BulkWriter
    from syncs.pipeline.sqlsets import filter_in

    wanted = {raw for raw in raws if raw and len(raw) <= MAX_RAW}
    known: dict[str, str | None] = {}
    if wanted:
        rows = filter_in(
            NormalizedDevice.objects.filter(ruleset=RULESET, kind=kind), "raw", wanted
        ).values_list("raw", "value")
        known = {raw: value or None for raw, value in rows}
    misses = sorted(wanted - known.keys())
    normalize = NORMALIZERS[kind]
    for raw in misses:
        known[raw] = normalize(raw)
    if misses:
        BulkWriter().insert_ignoring_conflicts(
            NormalizedDevice,
            ["kind", "raw", "value", "ruleset"],
            [(kind, raw, known[raw] or "", RULESET) for raw in misses],
        )
    return known
