"""The base of every tenant API view: authentication, scopes, rate limits, idempotency, headers."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any, ClassVar

from django.conf import settings
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.authentication import ApiKeyAuthentication, PortalSessionAuthentication
from api.idempotency import idempotency_claim, idempotency_complete, idempotency_stored_body
from api.permissions import RequireScopes
from api.principal import ApiPrincipal
from api.ratelimit import RateDecision, RateLimit, rate_limit_hit
from billing.entitlements import Entitlements, entitlements_for
from billing.models import Limit
from config.errors import AgentBudgetExceeded, AuthenticationError, QuotaExceeded, RateLimited, ValidationFailed
from tenants.context import current_tenant
from usage.api_calls import ApiCall, api_call_start
from usage.meters import Meter
from usage.quotas import quota_consume
from widget.access import publishable_request_check


class IdempotentReplay(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def rate_limit_for(principal: ApiPrincipal, *, entitlements: Entitlements | None = None) -> RateLimit:
    """Per key override, else per tenant override, else the tenant's entitlements (plan, add-ons,
    staff overrides). The defaults are a last resort for a plan row written around validation."""
    if principal.key is None:
        return RateLimit(settings.SESSION_RATE_LIMIT_PER_MINUTE, settings.SESSION_RATE_LIMIT_BURST)
    tenant = current_tenant()
    limits = (entitlements or entitlements_for(tenant=tenant)).limits
    per_minute = (
        principal.key.rate_limit_per_minute
        or tenant.api_rate_limit_per_minute
        or limits[Limit.REQUESTS_PER_MINUTE]
        or settings.DEFAULT_RATE_LIMIT_PER_MINUTE
    )
    burst = (
        principal.key.rate_limit_burst
        or tenant.api_rate_limit_burst
        or limits[Limit.BURST]
        or settings.DEFAULT_RATE_LIMIT_BURST
    )
    return RateLimit(per_minute=int(per_minute), burst=int(burst))


def _serializable(data: Any) -> Any:
    from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

    if isinstance(data, ReturnDict):
        return dict(data)
    if isinstance(data, ReturnList):
        return list(data)
    return data


class TenantApi(APIView):
    """Declare `required_scopes`; the base does the rest (fails closed if the caller lacks one)."""

    authentication_classes = [ApiKeyAuthentication, PortalSessionAuthentication]
    permission_classes = [RequireScopes]
    required_scopes: ClassVar[tuple[str, ...]] = ()
    # Where one URL both reads and writes (GET /agents, POST /agents), per-method scopes:
    # {"POST": ("agents:write",)}. Methods not listed need `required_scopes`.
    method_scopes: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    # POSTs that create something honour Idempotency-Key.
    idempotent_post: ClassVar[bool] = False
    # List views set a cursor pagination class and answer with `self.paginated(...)`.
    pagination_class: ClassVar[type | None] = None

    @classmethod
    def scopes_for(cls, method: str) -> tuple[str, ...]:
        """The scopes a request with this HTTP method needs."""
        return tuple(cls.method_scopes.get(method.upper(), cls.required_scopes))

    @property
    def principal(self) -> ApiPrincipal:
        assert isinstance(self.request.user, ApiPrincipal)
        return self.request.user

    def paginated(self, queryset: Any, output_class: type) -> Response:
        """One cursor page of `queryset` rendered with `output_class` (the view's pagination_class)."""
        assert self.pagination_class is not None, "set pagination_class on list views"
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, self.request, view=self)
        return paginator.get_paginated_response(output_class(page, many=True).data)

    def validated(self, serializer_class: type, data: Any, **kwargs: Any) -> dict[str, Any]:
        serializer = serializer_class(data=data, **kwargs)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    @cached_property
    def entitlements(self) -> Entitlements:
        """The tenant's entitlements, read once per request (rate limit and quota both need them)."""
        return entitlements_for(tenant=current_tenant())

    def check_throttles(self, request: Request) -> None:
        if not isinstance(request.user, ApiPrincipal):
            return  # unauthenticated: RequireScopes answers 401 next
        limit = rate_limit_for(self.principal, entitlements=self.entitlements if self.principal.key else None)
        decision = rate_limit_hit(subject=self.principal.rate_limit_subject, limit=limit)
        request.rate_decision = decision  # type: ignore[attr-defined]
        if not decision.allowed:
            raise RateLimited(
                f"Rate limit of {decision.limit} requests per minute exceeded. Retry in {decision.retry_after_s} s.",
                extra={"retry_after": decision.retry_after_s},
            )

    def check_publishable_key(self, request: Request) -> None:
        """A website widget's key (`pk_live_…`) may only chat, from its origins, as its agent."""
        if isinstance(request.user, ApiPrincipal) and request.user.is_publishable:
            assert request.user.key is not None
            publishable_request_check(request=request, key=request.user.key, scopes=self.scopes_for(request.method))

    def start_metering(self, request: Request) -> ApiCall | None:
        """Every call of an identified caller is metered (usage.api_calls records it after the
        response, refusals included); off only with USAGE_METERING_ENABLED=false."""
        if not settings.USAGE_METERING_ENABLED or not isinstance(request.user, ApiPrincipal):
            return None
        principal = self.principal
        return api_call_start(
            request._request,
            key_id=principal.id if principal.kind == "api_key" else "",
            user_id=principal.id if principal.kind == "user" else "",
        )

    def check_quota(self, call: ApiCall | None) -> None:
        """Consume one API call of the month's quota, or raise `QuotaExceeded` (429)."""
        if call is None:
            return
        quota_consume(
            tenant=current_tenant(),
            meter=Meter.API_CALLS,
            quantity=1,
            idempotency_id=call.idempotency_id,
            entitlements=self.entitlements,
        )
        call.admitted = True

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # DRF's order is authenticate → permissions → throttles; limiting before the scope check
        # means every authenticated response, refusals included, carries the rate-limit headers.
        self.format_kwarg = self.get_format_suffix(**kwargs)
        request.accepted_renderer, request.accepted_media_type = self.perform_content_negotiation(request)
        request.version, request.versioning_scheme = self.determine_version(request, *args, **kwargs)
        self.perform_authentication(request)
        call = self.start_metering(request)
        self.check_publishable_key(request)
        self.check_throttles(request)
        self.check_permissions(request)
        self.check_quota(call)
        key = request.headers.get("Idempotency-Key")
        if request.method == "POST" and self.idempotent_post and key is not None:
            earlier = idempotency_claim(
                principal=self.principal.rate_limit_subject,
                key=key.strip(),
                method="POST",
                path=request.path,
                body=request.body,
            )
            request.idempotency_key = key.strip()  # type: ignore[attr-defined]
            if earlier is not None:
                replay = Response(idempotency_stored_body(earlier), status=earlier.status_code or 200)
                replay["Idempotent-Replayed"] = "true"
                raise IdempotentReplay(replay)

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, IdempotentReplay):
            return exc.response
        response = super().handle_exception(exc)
        if isinstance(exc, AuthenticationError):
            response["WWW-Authenticate"] = 'Bearer realm="agentry"'
        if isinstance(exc, QuotaExceeded | AgentBudgetExceeded):
            response["Retry-After"] = str(exc.extra["retry_after"])
        return response

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        decision: RateDecision | None = getattr(request, "rate_decision", None)
        if decision is not None:
            response["X-RateLimit-Limit"] = str(decision.limit)
            response["X-RateLimit-Remaining"] = str(decision.remaining)
            response["X-RateLimit-Reset"] = str(decision.reset_after_s)
            if not decision.allowed:
                response["Retry-After"] = str(decision.retry_after_s)
        key = getattr(request, "idempotency_key", None)
        # Only successes are stored: an error response has already rolled the request's
        # transaction back (config.errors), placeholder row included, so a retry runs afresh.
        if key and response.get("Idempotent-Replayed") is None and response.status_code < 400:
            idempotency_complete(
                principal=self.principal.rate_limit_subject,
                key=key,
                status_code=response.status_code,
                body=_serializable(response.data),
            )
        return response


def query_param_choice(request: Request, name: str, choices: tuple[str, ...]) -> str | None:
    value = request.query_params.get(name)
    if value is not None and value not in choices:
        raise ValidationFailed(
            f"`{name}` must be one of: {', '.join(choices)}.", errors={name: [f"One of: {', '.join(choices)}."]}
        )
    return value
