"""URLs served identically on the public host and on every tenant host."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.urls import include, path, re_path
from django_prometheus.exports import ExportToDjangoView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config.client_ip import client_ip
from config.health import healthz, readyz
from config.problems import api_route_not_found


def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus scrape endpoint, for the addresses in METRICS_ALLOWED_IPS only."""
    if client_ip(request) not in settings.METRICS_ALLOWED_IPS:
        return HttpResponseForbidden("Metrics are only served to allow-listed addresses.")
    return ExportToDjangoView(request)


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

# Appended last by each URLconf, after its own API routes.
api_fallback_urlpatterns = [re_path(r"^api/", api_route_not_found)]
