"""/api/v1/ (the REST API), /api/schema/ (OpenAPI 3) and /api/docs/ (Swagger UI)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from api.views import auth, configs, organizations, runs

app_name = "api"

router = SimpleRouter(use_regex_path=False)
router.register("organizations", organizations.OrganizationViewSet, basename="organization")
router.register("sync-configs", configs.SyncConfigViewSet, basename="syncconfig")
router.register("sync-runs", runs.SyncRunViewSet, basename="syncrun")

v1 = [
    *router.urls,
    path(
        "sync-configs/<int:pk>/runs/", configs.SyncConfigRunsView.as_view(), name="syncconfig-runs"
    ),
    path(
        "sync-configs/<int:pk>/uploads/",
        configs.SyncConfigUploadsView.as_view(),
        name="syncconfig-uploads",
    ),
    path("sync-runs/<int:pk>/schools/", runs.SyncRunSchoolsView.as_view(), name="syncrun-schools"),
    path("sync-runs/<int:pk>/issues/", runs.SyncRunIssuesView.as_view(), name="syncrun-issues"),
    path(
        "sync-runs/<int:pk>/issues.csv",
        runs.SyncRunIssuesCSVView.as_view(),
        name="syncrun-issues-csv",
    ),
    path(
        "sync-runs/<int:pk>/planned-archives/",
        runs.SyncRunPlannedArchivesView.as_view(),
        name="syncrun-planned-archives",
    ),
    path(
        "sync-runs/<int:pk>/planned-archives.csv",
        runs.SyncRunPlannedArchivesCSVView.as_view(),
        name="syncrun-planned-archives-csv",
    ),
    path(
        "sync-runs/<int:pk>/approve-archives/",
        runs.SyncRunApproveArchivesView.as_view(),
        name="syncrun-approve-archives",
    ),
    path("auth/login/", auth.LoginView.as_view(), name="login"),
    path("auth/logout/", auth.LogoutView.as_view(), name="logout"),
    path("", include("notify.urls")),  # watches, preferences, webhooks, config health
]

urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
]
