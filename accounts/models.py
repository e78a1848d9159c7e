"""Platform identities: who logs in, and the devices messages reach them on."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from knox.models import AbstractAuthToken, AuthTokenManager


class User(AbstractUser):
    """A platform account: staff, district admins and rostered people alike."""

    class Meta:
        db_table = "accounts_user"

    def __str__(self) -> str:
        full = self.get_full_name()
        return full or self.username


class DeviceKind(models.TextChoices):
    EMAIL = "email", "Email"
    PHONE = "phone", "Phone"


class ContactDevice(models.Model):
    """An email address or phone number an account is reached on.

    The value is normalized (email lower-cased, phone E.164) and belongs to at most one
    account platform-wide (rule D1), whether the account was rostered or made by hand.
    """

    account = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="devices")
    kind = models.CharField(max_length=8, choices=DeviceKind.choices)
    value = models.CharField(max_length=320)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "value"], name="accounts_contactdevice_unique_value"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.value}"


class MembershipRole(models.TextChoices):
    DISTRICT_ADMIN = "district_admin", "District admin"
    SCHOOL_ADMIN = "school_admin", "School admin"


class Membership(models.Model):
    """Gives a user admin rights over an organization, or over one school of it."""

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(
        "rostering.Organization", on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=MembershipRole.choices)
    school = models.ForeignKey(
        "rostering.School",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="memberships",
    )

    class Meta:
        constraints = [
            # NULL never equals NULL in a unique index, so the district-wide membership
            # (school empty) needs its own partial constraint.
            models.UniqueConstraint(
                fields=["user", "organization"],
                condition=models.Q(school__isnull=True),
                name="accounts_membership_unique_district",
            ),
            models.UniqueConstraint(
                fields=["user", "organization", "school"],
                name="accounts_membership_unique_school",
            ),
        ]

    def __str__(self) -> str:
        where = self.school or self.organization
        return f"{self.user} · {self.get_role_display()} · {where}"


class NormalizedDevice(models.Model):
    """What a raw email or phone string normalizes to ("" when it is not usable).

    Normalizing is a pure function of the string and the library versions (`ruleset`),
    and the expensive part of validating a district; remembering it means a nightly
    re-sync only checks values it has not seen before.
    """

    kind = models.CharField(max_length=8, choices=DeviceKind.choices)
    raw = models.CharField(max_length=512)
    value = models.CharField(max_length=320, blank=True)
    ruleset = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["ruleset", "kind", "raw"], name="accounts_normalizeddevice_unique_raw"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.raw!r} → {self.value or '(unusable)'}"


class ApiTokenManager(AuthTokenManager):
    def issue(
        self, *, user: User, name: str = "", read_only: bool = False, ttl: timedelta | None = None
    ) -> tuple[ApiToken, str]:
        """A new token for `user`, expiring after `ttl` (default REST_KNOX TOKEN_TTL).
        Returns (the row, the token): the token is never stored, so show it now. The
        user's expired tokens go at the same time."""
        self.filter(user=user, expiry__lt=timezone.now()).delete()
        if ttl is None:
            return self.create(user=user, name=name, read_only=read_only)
        return self.create(user=user, expiry=ttl, name=name, read_only=read_only)


class ApiToken(AbstractAuthToken):
    """A REST API token (django-rest-knox, swapped in by KNOX_TOKEN_MODEL).

    Only a hash of the token is stored; the token itself is shown once, when it is made
    (`manage.py create_api_token`, the admin or `POST /api/v1/auth/login/`). Every token
    expires. A read-only token makes its holder read-only, whatever they may do otherwise.
    """

    name = models.CharField(
        max_length=100, blank=True, help_text="What the token is for, e.g. 'SIS dashboard'."
    )
    read_only = models.BooleanField(
        default=False, help_text="Only reads: every change through this token is refused."
    )

    objects = ApiTokenManager()

    class Meta:
        verbose_name = "API token"
        ordering = ["-created"]

    def __str__(self) -> str:
        label = self.name or "API token"
        return f"{label} ({self.token_key}…) · {self.user}"
