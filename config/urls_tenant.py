"""A tenant host (`<slug>.PLATFORM_DOMAIN`): the customer portal and, later, the tenant API."""

from django.urls import include, path

from config.urls_common import api_fallback_urlpatterns
from config.urls_common import urlpatterns as common_urlpatterns

urlpatterns = [
    *common_urlpatterns,
    path("api/v1/", include("api.urls")),
    *api_fallback_urlpatterns,
    path("", include("widget.urls")),
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("", include("portal.urls")),
]
