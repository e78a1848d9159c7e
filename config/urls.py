from django.contrib import admin
from django.urls import include, path

from config import health
from web.forms import AdminSignInForm

admin.site.site_header = "Rollcall"
admin.site.site_title = "Rollcall"
admin.site.index_title = "Roster sync administration"
# Failed sign-ins are throttled in the admin as on the pages (web.throttle).
admin.site.login_form = AdminSignInForm

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("api/", include("api.urls")),
    path("", include("web.urls")),
]

# Paths under /api/ answer errors as JSON (api.errors); the rest as Django does.
handler404 = "api.errors.page_not_found"
handler500 = "api.errors.server_error"
