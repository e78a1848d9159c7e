from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.models import ContactDevice, Membership, User


class ContactDeviceInline(admin.TabularInline):
    model = ContactDevice
    extra = 0
    fields = ("kind", "value", "created_at")
    readonly_fields = ("created_at",)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("organization", "school")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Support staff (the "Support" group: add and change accounts) look after the people
    who sign in for a district: names, email, password, active, memberships. Who is staff,
    superuser or in which group, and every staff account itself, are for superusers only:
    otherwise change_user would let anyone holding it make themselves a superuser, or
    set a superuser's password."""

    list_display = ("username", "first_name", "last_name", "email", "is_staff", "is_active")
    inlines = [ContactDeviceInline, MembershipInline]
    show_full_result_count = False
    PRIVILEGES = ("is_staff", "is_superuser", "groups", "user_permissions")

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields += [f for f in self.PRIVILEGES if f not in fields]
        return fields

    def has_change_permission(self, request, obj=None):
        if obj is not None and _privileged(obj) and not request.user.is_superuser:
            return False  # also refuses its password page
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and _privileged(obj) and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)


def _privileged(user: User) -> bool:
    return user.is_staff or user.is_superuser


@admin.register(ContactDevice)
class ContactDeviceAdmin(admin.ModelAdmin):
    list_display = ("value", "kind", "account", "created_at")
    list_filter = ("kind",)
    search_fields = ("value", "account__username", "account__first_name", "account__last_name")
    list_select_related = ("account",)
    autocomplete_fields = ("account",)
    show_full_result_count = False


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "organization", "role", "school")
    list_filter = ("role",)
    search_fields = ("user__username", "organization__name", "school__name")
    list_select_related = ("user", "organization", "school")
    autocomplete_fields = ("user", "organization", "school")
