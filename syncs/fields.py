"""Secrets encrypted at rest (ECOSYSTEM.md §6).

EncryptedTextField stores MultiFernet ciphertext: the first of settings.FIELD_ENCRYPTION_KEYS
encrypts, any of them decrypts, and `manage.py rotate_field_keys` re-encrypts under the first.
"" stays "" (so "not set" is visible), and a value no key can decrypt raises
FieldKeyMismatch: a wrong key never turns a password into ciphertext silently.
"""

from __future__ import annotations

import base64
import binascii
import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


class FieldKeyMismatch(ImproperlyConfigured):
    """A stored secret cannot be decrypted with any of FIELD_ENCRYPTION_KEYS."""


@functools.lru_cache(maxsize=8)
def _multifernet(keys: tuple[str | bytes, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty: secrets cannot be stored.")
    return MultiFernet([Fernet(k) for k in keys])


def multifernet() -> MultiFernet:
    """The keys as configured now (read at use time, so override_settings works)."""
    return _multifernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return multifernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str, *, label: str = "an encrypted field") -> str:
    try:
        return multifernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise FieldKeyMismatch(
            f"Cannot decrypt {label}: none of FIELD_ENCRYPTION_KEYS matches the key it was "
            "encrypted with. Put the old key back (after the new one) and run "
            "`manage.py rotate_field_keys`."
        ) from None


def looks_like_token(value: str) -> bool:
    """Fernet token syntax: 0x80, timestamp, IV, AES blocks, HMAC (url-safe base64)."""
    try:
        raw = base64.urlsafe_b64decode(value.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return False
    return raw[:1] == b"\x80" and len(raw) >= 73 and (len(raw) - 57) % 16 == 0


class EncryptedTextField(models.TextField):
    """A TextField holding Fernet ciphertext in the database and plaintext in Python."""

    @property
    def qualified_name(self) -> str:
        model = getattr(self, "model", None)
        return f"{model._meta.label}.{self.name}" if model else str(self.name)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return encrypt(value) if value else value

    def from_db_value(self, value, expression, connection):
        return decrypt(value, label=self.qualified_name) if value else value

    def to_python(self, value):
        # loaddata gives back what value_to_string wrote: ciphertext. A value with token
        # syntax that no key decrypts is refused rather than encrypted a second time.
        value = super().to_python(value)
        if value and looks_like_token(value):
            return decrypt(value, label=self.qualified_name)
        return value

    def value_to_string(self, obj):
        # dumpdata: ciphertext, never the secret.
        value = self.value_from_object(obj)
        return encrypt(value) if value else (value or "")
