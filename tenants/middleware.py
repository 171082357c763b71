"""Request → tenant routing, and the gate that keeps suspended/cancelled tenants read-only."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.request import split_domain_port
from django.shortcuts import render
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import remove_www

from config.errors import TenantCancelled, TenantSuspended
from config.problems import PROBLEM_CONTENT_TYPE, problem_body
from tenants.context import connection_tenant, set_schema_to_public, set_tenant
from tenants.models import TenantStatus
from tenants.routing import tenant_for_hostname

# Paths answered the same on every host, even unknown ones (load balancer probes).
HOST_INDEPENDENT_PATHS = frozenset({"/healthz", "/readyz"})


def public_hostnames() -> frozenset[str]:
    return frozenset({settings.PLATFORM_DOMAIN, *settings.PUBLIC_EXTRA_HOSTS})


class TenantRoutingMiddleware(TenantMainMiddleware):
    """Route `<PLATFORM_DOMAIN>` to the public site and `<slug>.<PLATFORM_DOMAIN>` (or a tenant's
    own domain) to that tenant. Anything else — unknown or deleted — gets a plain 404 page,
    never the public site or another tenant."""

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        set_schema_to_public()
        hostname = routable_hostname(request)
        if not hostname:
            return _unknown_host(request)
        if hostname in public_hostnames() or request.path in HOST_INDEPENDENT_PATHS:
            request.tenant = connection_tenant()  # type: ignore[attr-defined]  # public placeholder
            self.setup_url_routing(request, force_public=True)
            return None
        tenant = tenant_for_hostname(hostname)
        if tenant is None or tenant.is_deleted:
            return _unknown_host(request)
        tenant.domain_url = hostname
        request.tenant = tenant  # type: ignore[attr-defined]
        set_tenant(tenant)
        self.setup_url_routing(request)
        return None


def routable_hostname(request: HttpRequest) -> str:
    """The lower-cased hostname without port and leading "www.", or "" if the Host header is malformed.

    This middleware is the host validator: only the platform's own hostnames and hostnames
    with a Domain row are ever routed, which is what lets production serve tenants' custom
    domains with ALLOWED_HOSTS = ["*"] without exposing Host-header poisoning.
    """
    # Django's raw-host reader (honours USE_X_FORWARDED_HOST) without its ALLOWED_HOSTS check.
    domain, _port = split_domain_port(request._get_raw_host())  # type: ignore[attr-defined]
    return remove_www(domain) if domain else ""


def _unknown_host(request: HttpRequest) -> HttpResponse:
    return render(request, "errors/unknown_host.html", {"platform_domain": settings.PLATFORM_DOMAIN}, status=404)


# Paths a suspended or cancelled tenant can still use: sign in/out and settle billing (in the portal,
# or through the API's reactivation, which pays what is owed or starts a cancelled subscription again).
LOCKED_TENANT_ALLOWED_PREFIXES = (
    "/billing/",
    "/accounts/",
    "/static/",
    "/healthz",
    "/readyz",
    "/i18n/",
    "/api/v1/subscription/reactivate",
)


class TenantStatusMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant = getattr(request, "tenant", None)
        status = getattr(tenant, "status", None)
        if status in (TenantStatus.SUSPENDED, TenantStatus.CANCELLED) and not request.path.startswith(
            LOCKED_TENANT_ALLOWED_PREFIXES
        ):
            return self._locked_response(request, status)
        return self.get_response(request)

    @staticmethod
    def _locked_response(request: HttpRequest, status: str) -> HttpResponse:
        error = TenantCancelled() if status == TenantStatus.CANCELLED else TenantSuspended()
        if request.path.startswith("/api/"):
            body = problem_body(status=error.status, code=error.code, title=error.title, detail=error.detail)
            return JsonResponse(body, status=error.status, content_type=PROBLEM_CONTENT_TYPE)
        return render(request, "portal/locked.html", {"tenant_status": status}, status=403)
