"""URL configuration."""
from django.contrib import admin
from django.urls import include, path

from apps.common.views import health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/health/", health, name="health"),
    path("api/auth/", include("apps.accounts.urls")),
    path("api/candidates/", include("apps.candidates.urls")),
    path("api/jobs/", include("apps.jobs.urls")),
    path("api/interviews/", include("apps.interviews.urls")),
    path("api/analytics/", include("apps.analytics.urls")),
]
