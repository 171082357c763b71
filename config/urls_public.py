"""The public host (`PLATFORM_DOMAIN`): marketing pages, signup, staff admin."""

from django.contrib import admin
from django.urls import include, path, re_path

from config.problems import api_key_required
from config.urls_common import api_fallback_urlpatterns, metrics
from config.urls_common import urlpatterns as common_urlpatterns

urlpatterns = [
    *common_urlpatterns,
    path("admin/", admin.site.urls),
    path("metrics", metrics, name="metrics"),
    path("stripe/", include("stripe_billing.urls")),
    re_path(r"^api/v1/", api_key_required),
    *api_fallback_urlpatterns,
    path("", include("portal.urls_public")),
]
