"""The public host (`PLATFORM_DOMAIN`): marketing pages, signup, staff admin."""

from django.contrib import admin
from django.urls import include, path

from config.urls_common import urlpatterns as common_urlpatterns

admin.site.site_header = "Agentry staff"
admin.site.site_title = "Agentry staff"
admin.site.index_title = "Platform administration"

urlpatterns = [
    *common_urlpatterns,
    path("admin/", admin.site.urls),
    path("", include("portal.urls_public")),
]
