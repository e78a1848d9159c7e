"""Query filters (django-filter): documented in the schema by drf-spectacular."""

from __future__ import annotations

import django_filters
from django import forms
from drf_spectacular.utils import extend_schema_field

from syncs.models import Issue, PlannedArchive, RunStatus, Severity, SyncRun


class IdField(forms.IntegerField):
    """A database id: a whole number that fits the column (a 37-digit "id" is a 400,
    not an overflow deep in the database driver)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": 2**63 - 1})
class IdFilter(django_filters.NumberFilter):
    field_class = IdField


class SyncRunFilter(django_filters.FilterSet):
    config = IdFilter(field_name="config_id", help_text="A sync config's id.")
    status = django_filters.ChoiceFilter(choices=RunStatus.choices)
    created_since = django_filters.IsoDateTimeFilter(
        field_name="created_at",
        lookup_expr="gte",
        help_text="ISO 8601 date-time: runs created at or after it.",
    )

    class Meta:
        model = SyncRun
        fields = ["config", "status", "created_since"]


class IssueFilter(django_filters.FilterSet):
    school = django_filters.CharFilter(
        field_name="school_sis_id", help_text="A school's SIS ID, exactly (0123 is not 123)."
    )
    code = django_filters.CharFilter(help_text="An issue code, e.g. student_dob.")
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    new = django_filters.BooleanFilter(
        field_name="is_new",
        help_text="Only issues new (true) or not new (false) since the previous applied run.",
    )

    class Meta:
        model = Issue
        fields = ["school", "code", "severity", "new"]


class PlannedArchiveFilter(django_filters.FilterSet):
    kind = django_filters.CharFilter(help_text="students, teachers, parents, classes, ...")
    school = django_filters.CharFilter(field_name="school_sis_id", help_text="A school's SIS ID.")

    class Meta:
        model = PlannedArchive
        fields = ["kind", "school"]
