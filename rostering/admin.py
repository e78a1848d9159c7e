from django.contrib import admin

from rostering.models import Class, Enrollment, Guardianship, Organization, Person, School


class ArchivedFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("archived", "Archived")]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(archived_at__isnull=True)
        if self.value() == "archived":
            return queryset.filter(archived_at__isnull=False)
        return queryset


class SyncedAdmin(admin.ModelAdmin):
    """Synced records are written by syncs; support reads them here."""

    readonly_fields = (
        "sync_config",
        "source_id",
        "archived_at",
        "last_seen_run",
        "created_at",
        "updated_at",
    )
    show_full_result_count = False


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(School)
class SchoolAdmin(SyncedAdmin):
    list_display = ("name", "sis_id", "organization", "archived_at")
    list_filter = (ArchivedFilter, "organization")
    search_fields = ("name", "sis_id")
    list_select_related = ("organization",)


@admin.register(Person)
class PersonAdmin(SyncedAdmin):
    list_display = ("__str__", "role", "source_id", "email", "phone", "organization", "archived_at")
    list_filter = (ArchivedFilter, "role", "organization")
    search_fields = ("source_id", "given_name", "family_name", "email", "phone")
    list_select_related = ("organization",)
    autocomplete_fields = ("account",)
    filter_horizontal = ("schools",)


@admin.register(Class)
class ClassAdmin(SyncedAdmin):
    list_display = ("name", "source_id", "school", "term", "archived_at")
    list_filter = (ArchivedFilter, "organization")
    search_fields = ("name", "source_id", "school__name", "school__sis_id")
    list_select_related = ("school",)
    autocomplete_fields = ("school",)


@admin.register(Enrollment)
class EnrollmentAdmin(SyncedAdmin):
    list_display = ("person", "section", "role", "primary", "archived_at")
    list_filter = (ArchivedFilter, "role")
    search_fields = ("source_id", "person__source_id", "section__source_id", "section__name")
    list_select_related = ("person", "section")
    autocomplete_fields = ("person", "section")


@admin.register(Guardianship)
class GuardianshipAdmin(SyncedAdmin):
    list_display = ("parent", "student", "archived_at")
    list_filter = (ArchivedFilter,)
    search_fields = ("source_id", "parent__family_name", "student__family_name")
    list_select_related = ("parent", "student")
    autocomplete_fields = ("parent", "student")
