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
    list_display = ("username", "first_name", "last_name", "email", "is_staff", "is_active")
    inlines = [ContactDeviceInline, MembershipInline]
    show_full_result_count = False


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
