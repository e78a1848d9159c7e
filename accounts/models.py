"""Platform identities: who logs in, and the devices messages reach them on."""

from django.contrib.auth.models import AbstractUser
from django.db import models


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
