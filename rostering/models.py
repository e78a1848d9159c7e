"""The SIS mirror: districts, schools, people, classes and who is in them.

Every synced record carries its source identity (sync_config + source_id), when it was
archived, and the last run that saw it. Records with no sync_config were made by hand
and no sync ever archives them.
"""

from django.db import models


class Organization(models.Model):
    """A school district (or a single independent school) that rosters with Rollcall."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SyncedRecord(models.Model):
    """Fields every mirrored record shares."""

    # sync_config and last_seen_run name the same row for every record a run writes,
    # so the database does not check them row by row: at a district's size those
    # deferred checks were a quarter of a first sync. Django still enforces on_delete
    # (PROTECT, SET_NULL) for them; links between records keep real constraints.
    sync_config = models.ForeignKey(
        "syncs.SyncConfig",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        help_text="The sync that manages this record; empty when made by hand.",
    )
    source_id = models.CharField(max_length=255, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    last_seen_run = models.ForeignKey(
        "syncs.SyncRun",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        help_text="Written when the record is created or changed, and when it goes "
        "missing (then it names the last run that saw it). An active record it does "
        "not name was seen by its config's latest run.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class School(SyncedRecord):
    """A school; `sis_id` is the SIS's string ID (never a number: 0123 is not 123)."""

    organization = models.ForeignKey(
        "rostering.Organization", on_delete=models.PROTECT, related_name="schools"
    )
    sis_id = models.CharField(max_length=255)
    name = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["organization", "sis_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "sis_id"], name="rostering_school_unique_sis_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name or 'School'} ({self.sis_id})"


class Role(models.TextChoices):
    TEACHER = "teacher", "Teacher"
    ADMINISTRATOR = "administrator", "Administrator"
    PARENT = "parent", "Parent"
    STUDENT = "student", "Student"


class Person(SyncedRecord):
    """Someone in the SIS. Email and phone are kept as the SIS gave them."""

    organization = models.ForeignKey(
        "rostering.Organization", on_delete=models.PROTECT, related_name="people"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    given_name = models.CharField(max_length=255, blank=True)
    family_name = models.CharField(max_length=255, blank=True)
    dob = models.DateField(null=True, blank=True)
    grade = models.CharField(max_length=32, blank=True)
    email = models.CharField(max_length=320, blank=True)
    phone = models.CharField(max_length=64, blank=True)
    schools = models.ManyToManyField("rostering.School", related_name="people", blank=True)
    account = models.OneToOneField(
        "accounts.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="person",
    )

    class Meta:
        verbose_name_plural = "people"
        constraints = [
            models.UniqueConstraint(
                fields=["sync_config", "source_id"],
                name="rostering_person_unique_source",
            )
        ]
        indexes = [models.Index(fields=["organization", "role"])]

    def __str__(self) -> str:
        name = f"{self.given_name} {self.family_name}".strip()
        return name or self.source_id or f"Person {self.pk}"


class Class(SyncedRecord):
    """A section: one group of students with its teachers, in one school and term."""

    organization = models.ForeignKey(
        "rostering.Organization", on_delete=models.PROTECT, related_name="classes"
    )
    school = models.ForeignKey("rostering.School", on_delete=models.PROTECT, related_name="classes")
    name = models.CharField(max_length=255)
    term = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name_plural = "classes"
        constraints = [
            models.UniqueConstraint(
                fields=["sync_config", "source_id"], name="rostering_class_unique_source"
            )
        ]

    def __str__(self) -> str:
        return self.name


class EnrollmentRole(models.TextChoices):
    TEACHER = "teacher", "Teacher"
    STUDENT = "student", "Student"


class Enrollment(SyncedRecord):
    """A person in a class. Its source_id is `<class source_id>/<person source_id>`."""

    section = models.ForeignKey(
        "rostering.Class", on_delete=models.CASCADE, related_name="enrollments"
    )
    person = models.ForeignKey(
        "rostering.Person", on_delete=models.CASCADE, related_name="enrollments"
    )
    role = models.CharField(max_length=16, choices=EnrollmentRole.choices)
    primary = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["sync_config", "source_id"],
                name="rostering_enrollment_unique_source",
            ),
            models.UniqueConstraint(
                fields=["section", "person"], name="rostering_enrollment_unique_member"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} in {self.section} ({self.role})"


class Guardianship(SyncedRecord):
    """A parent or guardian of a student. source_id is `<parent>/<student>`."""

    parent = models.ForeignKey("rostering.Person", on_delete=models.CASCADE, related_name="wards")
    student = models.ForeignKey(
        "rostering.Person", on_delete=models.CASCADE, related_name="guardians"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["sync_config", "source_id"],
                name="rostering_guardianship_unique_source",
            ),
            models.UniqueConstraint(
                fields=["parent", "student"], name="rostering_guardianship_unique_pair"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.parent} → {self.student}"
