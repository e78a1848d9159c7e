from django.contrib import admin
from django.urls import path

from config import health

admin.site.site_header = "Rollcall"
admin.site.site_title = "Rollcall"
admin.site.index_title = "Roster sync administration"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]
