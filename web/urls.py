"""The pages: sign-in, the sync tab, runs, notifications and help (mounted at the site's root)."""

from django.urls import path, register_converter

from web.views import auth, help, notifications, runs, tab


class SisIdConverter:
    """A school's SIS ID exactly as the SIS writes it ("0123" stays "0123"), slashes
    included: the drill-down ends in "/" and its CSV in "/<code>.csv", so neither is
    ambiguous."""

    regex = ".+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class CodeConverter:
    regex = "[a-z0-9_]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(SisIdConverter, "sis")
register_converter(CodeConverter, "code")

app_name = "web"

urlpatterns = [
    path("", auth.home, name="home"),
    path("login/", auth.SignInView.as_view(), name="login"),
    path("logout/", auth.SignOutView.as_view(), name="logout"),
    path("password/", auth.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", auth.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("orgs/<int:org_id>/", tab.tab, name="tab"),
    path(
        "orgs/<int:org_id>/configs/<int:config_id>/runs/",
        tab.request_run,
        name="request_run",
    ),
    path("orgs/<int:org_id>/configs/<int:config_id>/upload/", tab.upload, name="upload"),
    path("orgs/<int:org_id>/schools/<sis:sis_id>/", tab.school, name="school"),
    path(
        "orgs/<int:org_id>/schools/<sis:sis_id>/<code:code>.csv",
        tab.school_csv,
        name="school_csv",
    ),
    path("orgs/<int:org_id>/notifications/", notifications.notifications, name="notifications"),
    path(
        "orgs/<int:org_id>/notifications/preference/",
        notifications.preference,
        name="notification_preference",
    ),
    path(
        "orgs/<int:org_id>/notifications/webhooks/",
        notifications.endpoint_add,
        name="webhook_add",
    ),
    path(
        "orgs/<int:org_id>/notifications/webhooks/<int:endpoint_id>/enabled/",
        notifications.endpoint_enabled,
        name="webhook_enabled",
    ),
    path(
        "orgs/<int:org_id>/notifications/webhooks/<int:endpoint_id>/delete/",
        notifications.endpoint_delete,
        name="webhook_delete",
    ),
    path(
        "orgs/<int:org_id>/notifications/webhooks/<int:endpoint_id>/test/",
        notifications.endpoint_test,
        name="webhook_test",
    ),
    path("runs/<int:run_id>/", runs.run_page, name="run"),
    path("runs/<int:run_id>/progress/", tab.progress, name="progress"),
    path("runs/<int:run_id>/archives/", runs.archives, name="archives"),
    path("runs/<int:run_id>/archives.csv", runs.archives_csv, name="archives_csv"),
    path("help/", help.help_index, name="help_index"),
    path("help/<slug:slug>/", help.help_article, name="help"),
]
