"""Normalizing contact devices (DESIGN §2): email lower-cased, phones as E.164.

Plain functions over strings. Email syntax comes from email-validator (no DNS lookups);
phone rules from phonenumbers, restricted to the regions messages can reach. Nothing
here imports syncs (an import contract in pyproject.toml keeps it so): the sync engine's
memo of these results is syncs.pipeline.normalize.
"""

from __future__ import annotations

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


# Remembered results (syncs.pipeline.normalize, the NormalizedDevice table) are only
# reused under the library versions that produced them.
RULESET = f"email-validator {version('email-validator')}; phonenumbers {version('phonenumbers')}"
NORMALIZERS = {"email": normalize_email, "phone": normalize_phone}
MAX_RAW = 512  # longer raw values are not remembered
