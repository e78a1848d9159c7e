"""The "Support" group: every permission support staff need, kept in code (DESIGN §7).

Support staff are `is_staff` users in this group. They see every organization and act
through syncs.access: queue runs and uploads, test connections, approve blocked archives,
change configs and manage their source and credentials. They also look after the
people who sign in for a district: add and change accounts (never staff or superuser
accounts, which accounts.admin keeps to superusers) and add, change and remove
memberships. They never delete an account (deactivating it keeps its history and its
rostered person's link) and never touch the synced records, which only syncs write.

Idempotent: the group is found by name and permissions are only added, so running this
at every deploy (`setup_support_group`, and `setup_schedules`) changes nothing the second
time, and a permission a later release lists (a new model's view permission included)
is granted on the next deploy. A permission someone granted the group by hand is kept
and reported as extra.
"""

from __future__ import annotations

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from syncs.access import STAFF_PERMISSIONS

GROUP_NAME = "Support"
# The apps whose every model support staff may view.
ROLLCALL_APPS = ("accounts", "rostering", "syncs", "notify")
# Beyond viewing: acting on syncs (syncs.access) and looking after sign-ins.
ACT_PERMISSIONS = (
    *STAFF_PERMISSIONS.values(),
    "accounts.add_membership",
    "accounts.change_membership",
    "accounts.delete_membership",
    "accounts.add_user",
    "accounts.change_user",
    # Notifications: any organization's webhooks and global ones, test events, and
    # each config's stale-sync settings (pauses).
    "notify.add_webhookendpoint",
    "notify.change_webhookendpoint",
    "notify.delete_webhookendpoint",
    "notify.send_test_event",
    "notify.add_configwatch",
    "notify.change_configwatch",
)


def support_permission_names() -> list[str]:
    """Every "app_label.codename" the Support group holds, sorted."""
    names = set(ACT_PERMISSIONS)
    for label in ROLLCALL_APPS:
        for model in apps.get_app_config(label).get_models():
            names.add(f"{label}.view_{model._meta.model_name}")
    return sorted(names)


def support_group_setup() -> dict:
    """Create the Support group or add what it lacks. Returns what was done: whether the
    group was created, the permissions added, and any extra ones it holds."""
    for label in ROLLCALL_APPS:  # a fresh database before its first migrate's signal
        create_permissions(apps.get_app_config(label), verbosity=0)
    wanted = support_permission_names()
    with transaction.atomic():
        group, created = Group.objects.get_or_create(name=GROUP_NAME)
        held = {
            f"{app}.{codename}"
            for app, codename in group.permissions.values_list(
                "content_type__app_label", "codename"
            )
        }
        missing = [name for name in wanted if name not in held]
        if missing:
            group.permissions.add(*_permissions(missing))
    return {
        "group": GROUP_NAME,
        "created": created,
        "added": missing,
        "permissions": len(wanted),
        "extra": sorted(held - set(wanted)),
    }


def support_group_lines(outcome: dict) -> list[str]:
    """The outcome as lines for a person (setup_support_group and setup_schedules print them)."""
    name, added = outcome["group"], outcome["added"]
    if outcome["created"]:
        lines = [f"{name} group: created with {len(added)} permission(s)"]
    elif added:
        lines = [f"{name} group: {len(added)} permission(s) added: {', '.join(added)}"]
    else:
        lines = [f"{name} group: already holds its {outcome['permissions']} permission(s)"]
    if outcome["extra"]:
        lines.append(
            f"{name} group: also holds {', '.join(outcome['extra'])} (granted by hand; kept)"
        )
    return lines


def _permissions(names: list[str]) -> list[Permission]:
    found = {}
    for permission in Permission.objects.filter(
        content_type__app_label__in={n.split(".", 1)[0] for n in names},
        codename__in={n.split(".", 1)[1] for n in names},
    ).select_related("content_type"):
        found[f"{permission.content_type.app_label}.{permission.codename}"] = permission
    unknown = sorted(set(names) - set(found))
    if unknown:
        raise LookupError(f"These permissions do not exist (migrate first?): {unknown}")
    return [found[n] for n in names]
