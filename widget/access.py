"""What a publishable key (`pk_live_…`, embedded in a website by the widget) may do, checked on
every request it authenticates (called by api.base.TenantApi):

- only endpoints that need exactly the `chat` scope (not even the scope-free ones, which
  describe the workspace);
- only from a browser page on one of the key's `allowed_origins` (the `Origin` header);
- only with the key's own agent;
- at most WIDGET_RATE_LIMIT_PER_MINUTE requests per visitor (client IP + widget session), on top
  of the key's own limit, so one visitor cannot use up the website's share.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.request import Request

from api.ratelimit import RateLimit, rate_limit_hit
from apikeys.cache import KeyRecord
from apikeys.scopes import Scope
from config.client_ip import client_ip
from config.errors import OriginNotAllowed, PermissionDeniedError, RateLimited
from tenants.context import current_schema

# Set on the Django request once a publishable key's origin is accepted; widget.cors echoes it.
ACCEPTED_ORIGIN_ATTRIBUTE = "widget_accepted_origin"


def _visitor_limit() -> RateLimit:
    return RateLimit(per_minute=settings.WIDGET_RATE_LIMIT_PER_MINUTE, burst=settings.WIDGET_RATE_LIMIT_BURST)


def _body_value(request: Request, name: str) -> str:
    data: Any = request.data
    value = data.get(name) if isinstance(data, dict) else None
    return value if isinstance(value, str) else ""


def publishable_request_check(*, request: Request, key: KeyRecord, scopes: tuple[str, ...]) -> None:
    """Raise PermissionDeniedError, OriginNotAllowed or RateLimited unless a publishable key may
    make this request (see the module docstring)."""
    if set(scopes) != {Scope.CHAT}:
        raise PermissionDeniedError(
            "A publishable key (pk_live_…) can only chat through the website widget; use a secret key for the API."
        )
    origin = request.headers.get("Origin")
    if origin not in key.allowed_origins:
        detail = f"This key may not be used from {origin}." if origin else "This key is only for the website widget."
        raise OriginNotAllowed(detail, extra={"origin": origin})
    setattr(request._request, ACCEPTED_ORIGIN_ATTRIBUTE, origin)
    if _body_value(request, "agent") != key.agent_id:
        raise PermissionDeniedError("This publishable key belongs to another agent.")
    visitor = f"{current_schema()}:widget:{key.id}:{client_ip(request._request)}:{_body_value(request, 'session_id')}"
    decision = rate_limit_hit(subject=visitor, limit=_visitor_limit())
    if not decision.allowed:
        request.rate_decision = decision  # type: ignore[attr-defined]
        raise RateLimited(
            f"Too many messages: wait {decision.retry_after_s} s before sending another.",
            extra={"retry_after": decision.retry_after_s},
        )
