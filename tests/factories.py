"""One factory per model, with minimal valid defaults.

Unique fields come from sequences, so any number of rows can be made in one test; names
come from faker. Related rows are made as needed and stay in one organization, so
`EnrollmentFactory()` gives a class and a person of the same district.
"""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory, Password

from accounts.models import (
    ApiToken,
    ContactDevice,
    DeviceKind,
    Membership,
    MembershipRole,
    NormalizedDevice,
    User,
)
from rostering.models import (
    Class,
    Enrollment,
    EnrollmentRole,
    Guardianship,
    Organization,
    Person,
    Role,
    School,
)
from syncs.models import (
    Issue,
    PlannedArchive,
    RecordKind,
    RunStatus,
    SchoolSummary,
    Severity,
    SourceKind,
    SyncConfig,
    SyncRun,
)

# rostering


class OrganizationFactory(DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Faker("company")
    slug = factory.Sequence(lambda n: f"district-{n}")


class SchoolFactory(DjangoModelFactory):
    class Meta:
        model = School

    organization = factory.SubFactory(OrganizationFactory)
    sis_id = factory.Sequence(lambda n: f"{n:04d}")
    name = factory.Faker("city")


class PersonFactory(DjangoModelFactory):
    class Meta:
        model = Person

    organization = factory.SubFactory(OrganizationFactory)
    role = Role.STUDENT
    source_id = factory.Sequence(lambda n: f"person-{n}")
    given_name = factory.Faker("first_name")
    family_name = factory.Faker("last_name")


class ClassFactory(DjangoModelFactory):
    class Meta:
        model = Class

    organization = factory.SubFactory(OrganizationFactory)
    school = factory.SubFactory(SchoolFactory, organization=factory.SelfAttribute("..organization"))
    source_id = factory.Sequence(lambda n: f"class-{n}")
    name = factory.Sequence(lambda n: f"Class {n}")


class EnrollmentFactory(DjangoModelFactory):
    class Meta:
        model = Enrollment

    section = factory.SubFactory(ClassFactory)
    person = factory.SubFactory(
        PersonFactory, organization=factory.SelfAttribute("..section.organization")
    )
    role = EnrollmentRole.STUDENT
    source_id = factory.LazyAttribute(lambda o: f"{o.section.source_id}/{o.person.source_id}")


class GuardianshipFactory(DjangoModelFactory):
    class Meta:
        model = Guardianship

    parent = factory.SubFactory(PersonFactory, role=Role.PARENT)
    student = factory.SubFactory(
        PersonFactory, organization=factory.SelfAttribute("..parent.organization")
    )
    source_id = factory.LazyAttribute(lambda o: f"{o.parent.source_id}/{o.student.source_id}")


# accounts


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    password = Password("password")


class ContactDeviceFactory(DjangoModelFactory):
    class Meta:
        model = ContactDevice

    account = factory.SubFactory(UserFactory)
    kind = DeviceKind.EMAIL
    value = factory.Sequence(lambda n: f"device{n}@example.org")


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = MembershipRole.DISTRICT_ADMIN
    school = None


class ApiTokenFactory(DjangoModelFactory):
    """A REST API token (its secret is not kept: use ApiToken.objects.issue to get one)."""

    class Meta:
        model = ApiToken

    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"token {n}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return model_class.objects.issue(**kwargs)[0]


class NormalizedDeviceFactory(DjangoModelFactory):
    class Meta:
        model = NormalizedDevice

    kind = DeviceKind.EMAIL
    raw = factory.Sequence(lambda n: f"Device{n}@Example.org")
    value = factory.LazyAttribute(lambda o: o.raw.lower())
    ruleset = "test"


# syncs


class SyncConfigFactory(DjangoModelFactory):
    class Meta:
        model = SyncConfig

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Roster {n}")
    source_kind = SourceKind.LOCAL_FILES


class SyncRunFactory(DjangoModelFactory):
    """A finished run: a config may have only one queued or running run at a time."""

    class Meta:
        model = SyncRun

    config = factory.SubFactory(SyncConfigFactory)
    status = RunStatus.SUCCEEDED


class SchoolSummaryFactory(DjangoModelFactory):
    class Meta:
        model = SchoolSummary

    run = factory.SubFactory(SyncRunFactory)
    sis_id = factory.Sequence(lambda n: f"{n:04d}")
    name = factory.Faker("city")
    status = RunStatus.SUCCEEDED


class IssueFactory(DjangoModelFactory):
    class Meta:
        model = Issue

    run = factory.SubFactory(SyncRunFactory)
    config = factory.SelfAttribute("run.config")
    # One of the run's issues, whether the run is on its config's issue track (a span of
    # that run alone) or not (a row of its own).
    first_seq = factory.SelfAttribute("run.issue_seq")
    last_seq = factory.SelfAttribute("run.issue_seq")
    first_seen_at = factory.SelfAttribute("run.created_at")
    severity = Severity.ERROR
    code = "missing_field"
    record_kind = RecordKind.PERSON
    source_id = factory.Sequence(lambda n: f"person-{n}")
    message = factory.Faker("sentence")


class PlannedArchiveFactory(DjangoModelFactory):
    class Meta:
        model = PlannedArchive

    run = factory.SubFactory(SyncRunFactory)
    kind = "person"
    record_id = factory.Sequence(lambda n: n + 1)
    source_id = factory.Sequence(lambda n: f"person-{n}")
    name = factory.Faker("name")


# notify


class WatchFactory(DjangoModelFactory):
    class Meta:
        model = "notify.Watch"

    user = factory.SubFactory(UserFactory, is_staff=True)
    organization = factory.SubFactory(OrganizationFactory)


class NotificationPreferenceFactory(DjangoModelFactory):
    class Meta:
        model = "notify.NotificationPreference"

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    mode = "daily"


class ConfigWatchFactory(DjangoModelFactory):
    class Meta:
        model = "notify.ConfigWatch"

    config = factory.SubFactory(SyncConfigFactory)


class EventFactory(DjangoModelFactory):
    class Meta:
        model = "notify.Event"

    kind = "run.failed"
    key = factory.Sequence(lambda n: f"event-{n}")
    organization = factory.SubFactory(OrganizationFactory)
    data = factory.LazyFunction(dict)


class NotificationFactory(DjangoModelFactory):
    class Meta:
        model = "notify.Notification"

    user = factory.SubFactory(UserFactory)
    event = factory.SubFactory(EventFactory)
    organization = factory.SelfAttribute("event.organization")
    dedupe_key = factory.Sequence(lambda n: f"run.failed:{n}:credentials")
    mode = "immediate"
    status = "sent"


class WebhookEndpointFactory(DjangoModelFactory):
    """Saved directly (no address check): the URL is never called."""

    class Meta:
        model = "notify.WebhookEndpoint"

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Hook {n}")
    url = factory.Sequence(lambda n: f"https://hooks.example.com/{n}")
    secret = "factory-webhook-secret-0123456789"
    events = factory.LazyFunction(lambda: ["run.failed"])


class WebhookDeliveryFactory(DjangoModelFactory):
    class Meta:
        model = "notify.WebhookDelivery"

    endpoint = factory.SubFactory(WebhookEndpointFactory)
    event = factory.SubFactory(
        EventFactory, organization=factory.SelfAttribute("..endpoint.organization")
    )
    payload = factory.LazyFunction(lambda: {"version": 1})
    status = "succeeded"
    response_code = 200
