"""The public host (`PLATFORM_DOMAIN`): marketing pages, signup, staff admin."""

from django.contrib import admin
from django.urls import include, path

from config.urls_common import api_fallback_urlpatterns, metrics
from config.urls_common import urlpatterns as common_urlpatterns

urlpatterns = [
    *common_urlpatterns,
    path("admin/", admin.site.urls),
    path("metrics", metrics, name="metrics"),
    *api_fallback_urlpatterns,
    path("", include("portal.urls_public")),
]
