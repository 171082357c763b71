"""CORS for the chat endpoints, for websites that embed the widget.

- Preflight (`OPTIONS` with `Access-Control-Request-Method`): answered 204 only when the `Origin`
  is allowed by a live publishable key of this workspace (a preflight carries no key), else 403
  problem+json `origin_not_allowed`.
- Actual requests: `Access-Control-Allow-Origin` echoes the origin only once widget.access
  accepted it for the key used, so a page on another website cannot read any answer.
Other paths and requests without `Origin` pass untouched: the API is not open to browsers at large.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from apikeys.selectors import publishable_origins_of_tenant
from config.errors import OriginNotAllowed
from config.problems import PROBLEM_CONTENT_TYPE, problem_body
from widget.access import ACCEPTED_ORIGIN_ATTRIBUTE

CHAT_PATHS = frozenset({"/api/v1/chat", "/api/v1/chat/stream"})
ALLOWED_HEADERS = "Authorization, Content-Type, Accept, X-Request-ID"
EXPOSED_HEADERS = "X-Request-ID, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset"
PREFLIGHT_MAX_AGE_SECONDS = 600


def _refusal(origin: str) -> JsonResponse:
    body = problem_body(
        status=OriginNotAllowed.status,
        code=OriginNotAllowed.code,
        title=OriginNotAllowed.title,
        detail=f"No widget key of this workspace may be used from {origin}.",
        origin=origin,
    )
    return JsonResponse(body, status=OriginNotAllowed.status, content_type=PROBLEM_CONTENT_TYPE)


def _preflight(request: HttpRequest, origin: str) -> HttpResponse:
    tenant = getattr(request, "tenant", None)
    tenant_id = getattr(tenant, "pk", None)
    if tenant_id is None or origin not in publishable_origins_of_tenant(tenant_id=tenant_id):
        return _refusal(origin)
    response = HttpResponse(status=204)
    response["Access-Control-Allow-Origin"] = origin
    response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
    response["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE_SECONDS)
    response["Vary"] = "Origin"
    return response


class WidgetCorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        origin = request.headers.get("Origin")
        if origin is None or request.path not in CHAT_PATHS:
            return self.get_response(request)
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            return _preflight(request, origin)
        response = self.get_response(request)
        if getattr(request, ACCEPTED_ORIGIN_ATTRIBUTE, None) == origin:
            response["Access-Control-Allow-Origin"] = origin
            response["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        response["Vary"] = ", ".join(filter(None, [response.get("Vary"), "Origin"]))
        return response
