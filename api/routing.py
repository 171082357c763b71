"""The API on the public host: the API key alone says which tenant a request is for."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import set_urlconf

from api.authentication import key_record_for_raw, raw_key_from_headers
from config.errors import ApplicationError
from config.problems import PROBLEM_CONTENT_TYPE, problem_body
from tenants.context import is_public_schema, set_tenant
from tenants.routing import tenant_by_id

API_PREFIX = "/api/v1/"


class PublicHostApiRoutingMiddleware:
    """On the public host, route `/api/v1/…` calls carrying a key to the key's tenant.

    Runs right after tenant routing; from here on the request is exactly as if it had been
    sent to the tenant's own host (same URLconf, same status checks, same authentication).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(API_PREFIX) and is_public_schema():
            try:
                self._route_to_key_tenant(request)
            except ApplicationError as error:
                body = problem_body(status=error.status, code=error.code, title=error.title, detail=error.detail)
                response = JsonResponse(body, status=error.status, content_type=PROBLEM_CONTENT_TYPE)
                response["WWW-Authenticate"] = 'Bearer realm="agentry"'
                return response
        return self.get_response(request)

    @staticmethod
    def _route_to_key_tenant(request: HttpRequest) -> None:
        raw = raw_key_from_headers(request)
        if raw is None:
            return  # the public URLconf answers with not_authenticated
        record = key_record_for_raw(raw)
        tenant = tenant_by_id(record.tenant_id)
        if tenant is None or tenant.is_deleted:
            from config.errors import AuthenticationError

            raise AuthenticationError("Unknown API key.", code="invalid_api_key")
        request.tenant = tenant  # type: ignore[attr-defined]
        set_tenant(tenant)
        request.urlconf = settings.ROOT_URLCONF  # type: ignore[attr-defined]
        set_urlconf(settings.ROOT_URLCONF)
