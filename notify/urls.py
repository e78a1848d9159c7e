"""The notification endpoints, included into /api/v1/ by api/urls.py (names in the
"api" namespace, like the rest of v1)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from notify import api

router = SimpleRouter(use_regex_path=False)
router.register("webhook-endpoints", api.WebhookEndpointViewSet, basename="webhookendpoint")

urlpatterns = [
    *router.urls,
    path(
        "webhook-endpoints/<int:pk>/deliveries/",
        api.WebhookDeliveriesView.as_view(),
        name="webhookendpoint-deliveries",
    ),
    path(
        "webhook-endpoints/<int:pk>/test/",
        api.WebhookTestView.as_view(),
        name="webhookendpoint-test",
    ),
    path(
        "organizations/<int:pk>/watch/",
        api.OrganizationWatchView.as_view(),
        name="organization-watch",
    ),
    path(
        "organizations/<int:pk>/notification-preference/",
        api.NotificationPreferenceView.as_view(),
        name="organization-notification-preference",
    ),
    path(
        "sync-configs/<int:pk>/health/",
        api.SyncConfigHealthView.as_view(),
        name="syncconfig-health",
    ),
]
