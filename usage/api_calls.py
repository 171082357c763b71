"""Metering tenant API calls: `api.base.TenantApi` starts an `ApiCall` once the caller is
identified, and `ApiCallMeteringMiddleware` records it when the response is ready, after the
request's transaction has ended (so an outbox row survives an error response's rollback)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from django.http import HttpRequest, HttpResponse

from usage.events import UsageEvent
from usage.meters import Meter, outcome_for_status
from usage.recorder import usage_event_build, usage_event_record


@dataclass
class ApiCall:
    key_id: str = ""
    user_id: str = ""
    # Server-made, never the caller's X-Request-ID: a caller repeating an id must not skip metering.
    idempotency_id: str = field(default_factory=lambda: f"api_{uuid.uuid4().hex}")
    # Counted against the monthly quota. Refused calls (rate limit, scopes, quota) are still
    # recorded, with quantity 0, for the latency and error-rate figures.
    admitted: bool = False

    def event(self, *, status_code: int, latency_ms: int) -> UsageEvent:
        return usage_event_build(
            meter=Meter.API_CALLS,
            quantity=1 if self.admitted else 0,
            idempotency_id=self.idempotency_id,
            key_id=self.key_id or None,
            user_id=self.user_id or None,
            latency_ms=latency_ms,
            outcome=outcome_for_status(status_code),
        )


API_CALL_ATTRIBUTE = "usage_api_call"


def api_call_start(request: HttpRequest, *, key_id: str = "", user_id: str = "") -> ApiCall:
    call = ApiCall(key_id=key_id, user_id=user_id)
    setattr(request, API_CALL_ATTRIBUTE, call)
    return call


class ApiCallMeteringMiddleware:
    """Records the API call a view started, with its latency and status class, once per request.

    Sits right after tenant routing: the latency covers everything after routing, and it runs
    outside ATOMIC_REQUESTS' transaction.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        call: ApiCall | None = getattr(request, API_CALL_ATTRIBUTE, None)
        if call is not None:
            latency_ms = round((time.perf_counter() - started) * 1000)
            tenant = request.tenant  # type: ignore[attr-defined]
            usage_event_record(tenant=tenant, event=call.event(status_code=response.status_code, latency_ms=latency_ms))
        return response
