"""The support console (Django admin, staff only), one module per page:

- admin_config: sync configs (fields per source kind, school IDs as a list, recent
  runs, pre-flight, Test connection, uploads through admin_upload);
- admin_runs and admin_approval: a run's page (the explainer first) and rule T5's
  preview and confirmation;
- admin_issues: the issue list with its CSV for the current filter;
- here: what a run found per school and planned to archive, and django-q2's task lists.

Every action and page takes its permission from syncs.access; downloads are links,
never actions, so staff who may only view run no admin action at all.
"""

from django.contrib import admin
from django_q import admin as queue_admin
from django_q.models import Failure, Success

from syncs import admin_config, admin_issues, admin_runs  # noqa: F401  (they register)
from syncs.admin_base import ReadOnlyAdmin
from syncs.models import PlannedArchive, SchoolSummary


@admin.register(SchoolSummary)
class SchoolSummaryAdmin(ReadOnlyAdmin):
    list_display = (
        "sis_id",
        "name",
        "run",
        "status",
        "created",
        "updated",
        "archived",
        "errors",
        "alerts",
    )
    list_filter = ("status",)
    search_fields = ("sis_id", "name")
    list_select_related = ("run", "run__config", "run__config__organization")


@admin.register(PlannedArchive)
class PlannedArchiveAdmin(ReadOnlyAdmin):
    list_display = ("kind", "source_id", "name", "school_sis_id", "run")
    list_filter = ("kind",)
    search_fields = ("source_id", "name", "school_sis_id")
    # "Run" is SyncRun.__str__, which names the config and its organization.
    list_select_related = ("run", "run__config", "run__config__organization")


# django-q2's own admin offers "Resubmit selected tasks" to anyone who can see its task
# lists, and on failed tasks it deletes them too: both are changes, so here it takes the
# change permission on the task's model (superusers; support staff never hold it).
@admin.action(description="Resubmit selected tasks to queue", permissions=["change"])
def resubmit_task(modeladmin, request, queryset):
    return queue_admin.resubmit_task(modeladmin, request, queryset)


class SuccessAdmin(queue_admin.TaskAdmin):
    actions = [resubmit_task]


class FailureAdmin(queue_admin.FailAdmin):
    actions = [resubmit_task]


for _model, _model_admin in ((Success, SuccessAdmin), (Failure, FailureAdmin)):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
    admin.site.register(_model, _model_admin)
