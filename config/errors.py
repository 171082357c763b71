"""The one application error hierarchy and its single JSON shape (RFC 9457 problem+json).

Services raise `ApplicationError` subclasses; the API exception handler and the portal turn
them into responses. Every error body carries a stable machine-readable `code`.
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions as drf_exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"


class ErrorCode(NamedTuple):
    status: int  # the usual HTTP status for the code
    description: str


# Every `code` an API error body can carry: the OpenAPI `Problem.code` enum (api/schema.py) and
# the table in docs/errors.md are both checked against this list (api/tests/test_schema.py).
ERROR_CODES: dict[str, ErrorCode] = {
    "validation_error": ErrorCode(400, "The submitted data (body, query parameter or header) is not valid."),
    "malformed_request": ErrorCode(400, "The request body is not valid JSON."),
    "application_error": ErrorCode(400, "An application error without a more specific code."),
    "not_authenticated": ErrorCode(401, "No credentials were sent."),
    "malformed_credentials": ErrorCode(401, "The Authorization header or the key is not in the expected format."),
    "authentication_failed": ErrorCode(401, "Credentials were sent but are not valid."),
    "invalid_api_key": ErrorCode(401, "Unknown API key, or a key of another workspace."),
    "api_key_revoked": ErrorCode(401, "The API key has been revoked."),
    "api_key_expired": ErrorCode(401, "The API key, or its previous secret after a rotation, has expired."),
    "signature_required": ErrorCode(401, "The key requires signed requests and the signature headers are missing."),
    "signature_invalid": ErrorCode(401, "The request signature or its timestamp is not valid."),
    "signature_expired": ErrorCode(401, "The signature timestamp is more than 5 minutes away from the server's clock."),
    "signature_replayed": ErrorCode(401, "This signed request was already received once."),
    "permission_denied": ErrorCode(403, "Authenticated, but not allowed to do this (including a failed CSRF check)."),
    "insufficient_scope": ErrorCode(403, "The credentials lack a scope this endpoint requires."),
    "ip_not_allowed": ErrorCode(403, "The API key may not be used from the client's IP address."),
    "tenant_suspended": ErrorCode(403, "The workspace is suspended."),
    "tenant_cancelled": ErrorCode(403, "The workspace's subscription is cancelled."),
    "feature_not_in_plan": ErrorCode(403, "The workspace's plan and add-ons do not include this feature."),
    "plan_limit_reached": ErrorCode(403, "The workspace has reached a limit of its plan."),
    "not_found": ErrorCode(404, "No such resource in this workspace, no such endpoint, or an invalid cursor."),
    "method_not_allowed": ErrorCode(405, "The HTTP method is not supported by this endpoint."),
    "not_acceptable": ErrorCode(406, "The Accept header asks for a format the endpoint cannot render."),
    "conflict": ErrorCode(409, "The request conflicts with the current state of the resource."),
    "invalid_transition": ErrorCode(409, "A status change that the state machine does not allow."),
    "unsupported_media_type": ErrorCode(415, "The request body is not application/json."),
    "idempotency_key_reused": ErrorCode(422, "The Idempotency-Key was already used with a different request."),
    "rate_limited": ErrorCode(429, "Too many requests: wait for Retry-After seconds."),
    "internal_error": ErrorCode(500, "An unexpected error on the server; quote the request_id to support."),
    "no_tenant_active": ErrorCode(500, "A server bug (workspace data touched outside a workspace): as internal_error."),
}


class ApplicationError(Exception):
    code = "application_error"
    status = 400
    title = "The request could not be completed."

    def __init__(self, detail: str | None = None, *, extra: dict[str, Any] | None = None) -> None:
        self.detail = detail or self.title
        self.extra = extra or {}
        super().__init__(self.detail)


class ValidationFailed(ApplicationError):
    code = "validation_error"
    status = 400
    title = "The submitted data is not valid."

    def __init__(self, detail: str | None = None, *, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail, extra={"errors": errors or {}})
        self.errors = errors or {}


class NotFound(ApplicationError):
    code = "not_found"
    status = 404
    title = "Not found."


class PermissionDeniedError(ApplicationError):
    code = "permission_denied"
    status = 403
    title = "You do not have permission to do this."


class Conflict(ApplicationError):
    code = "conflict"
    status = 409
    title = "The request conflicts with the current state."


class InvalidTransition(Conflict):
    code = "invalid_transition"
    title = "That status change is not allowed."


class AuthenticationError(ApplicationError):
    """The credentials are missing, malformed, unknown, revoked, expired or for another tenant."""

    code = "authentication_failed"
    status = 401
    title = "Authentication failed."

    def __init__(self, detail: str | None = None, *, code: str | None = None) -> None:
        super().__init__(detail)
        if code:
            self.code = code


class IpNotAllowed(ApplicationError):
    code = "ip_not_allowed"
    status = 403
    title = "This API key may not be used from your IP address."


class ScopeMissing(ApplicationError):
    code = "insufficient_scope"
    status = 403
    title = "The credentials lack a scope this endpoint requires."


class RateLimited(ApplicationError):
    code = "rate_limited"
    status = 429
    title = "Too many requests."


class IdempotencyKeyReused(ApplicationError):
    code = "idempotency_key_reused"
    status = 422
    title = "This Idempotency-Key was already used with a different request."


class TenantSuspended(ApplicationError):
    code = "tenant_suspended"
    status = 403
    title = "This workspace is suspended."


class TenantCancelled(TenantSuspended):
    code = "tenant_cancelled"
    title = "This workspace's subscription is cancelled."


class FeatureNotInPlan(ApplicationError):
    """`extra`: `feature`, and `upgrade_plan`/`upgrade_add_on` hints (`{"code", "name"}` or None)."""

    code = "feature_not_in_plan"
    status = 403
    title = "Your plan does not include this feature."


class PlanLimitReached(ApplicationError):
    """`extra`: `limit`, `allowed`, `current_usage`, `requested`, and the same upgrade hints."""

    code = "plan_limit_reached"
    status = 403
    title = "Your plan's limit is reached."


def problem_body(*, status: int, code: str, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    from api.request_id import current_request_id

    return {
        "type": f"https://docs.agentry.dev/errors#{code}",
        "title": title,
        "status": status,
        "code": code,
        "detail": detail,
        "request_id": current_request_id(),
        **extra,
    }


def field_errors(detail: Any, prefix: str = "") -> list[dict[str, str]]:
    """Flatten DRF/ours validation details into `[{"field", "code", "message"}]` (nested fields dotted)."""
    if isinstance(detail, dict):
        return [item for key, value in detail.items() for item in field_errors(value, f"{prefix}{key}.")]
    if isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            field = prefix.rstrip(".") or "non_field_errors"
            return [
                {"field": field, "code": str(getattr(item, "code", "invalid")), "message": str(item)} for item in detail
            ]
        return [item for index, value in enumerate(detail) for item in field_errors(value, f"{prefix}{index}.")]
    return [
        {
            "field": prefix.rstrip(".") or "non_field_errors",
            "code": str(getattr(detail, "code", "invalid")),
            "message": str(detail),
        }
    ]


_DRF_CODES: dict[type, str] = {
    drf_exceptions.ValidationError: "validation_error",
    drf_exceptions.ParseError: "malformed_request",
    drf_exceptions.NotAuthenticated: "not_authenticated",
    drf_exceptions.AuthenticationFailed: "authentication_failed",
    drf_exceptions.PermissionDenied: "permission_denied",
    drf_exceptions.NotFound: "not_found",
    drf_exceptions.MethodNotAllowed: "method_not_allowed",
    drf_exceptions.NotAcceptable: "not_acceptable",
    drf_exceptions.UnsupportedMediaType: "unsupported_media_type",
    drf_exceptions.Throttled: "rate_limited",
}


def _problem_response(body: dict[str, Any], context: dict[str, Any]) -> Response:
    set_rollback()  # with ATOMIC_REQUESTS, a failed API request leaves no partial writes behind
    request = context.get("request")
    if request is not None:
        # Errors are JSON even from views that negotiated another format (e.g. the YAML schema).
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = PROBLEM_CONTENT_TYPE
    return Response(body, status=body["status"], content_type=PROBLEM_CONTENT_TYPE)


def _application_problem(exc: ApplicationError) -> dict[str, Any]:
    extra = dict(exc.extra)
    if isinstance(exc, ValidationFailed):
        extra["errors"] = field_errors(exc.errors)
    return problem_body(status=exc.status, code=exc.code, title=exc.title, detail=exc.detail, **extra)


def _as_drf_exception(exc: Exception) -> Exception:
    if isinstance(exc, DjangoValidationError):
        return drf_exceptions.ValidationError(detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if isinstance(exc, Http404):
        return drf_exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        return drf_exceptions.PermissionDenied()
    return exc


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF exception handler: every error, expected or not, becomes problem+json with a stable `code`."""
    if isinstance(exc, ApplicationError):
        return _problem_response(_application_problem(exc), context)
    exc = _as_drf_exception(exc)
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, drf_exceptions.APIException):
        logger.exception("unhandled error in API view", exc_info=exc)
        body = problem_body(
            status=500,
            code="internal_error",
            title="Internal server error.",
            detail="Something went wrong on our side. Quote the request_id when contacting support.",
        )
        return _problem_response(body, context)
    extra: dict[str, Any] = {}
    if isinstance(exc, drf_exceptions.ValidationError):
        detail = "The submitted data is not valid."
        extra["errors"] = field_errors(exc.detail)
    else:
        detail = str(exc.detail)
    body = problem_body(
        status=response.status_code,
        code=_DRF_CODES.get(type(exc), str(exc.default_code)),
        title=detail,
        detail=detail,
        **extra,
    )
    problem = _problem_response(body, context)
    for header, value in response.items():  # keep Allow, Retry-After, WWW-Authenticate
        problem[header] = value
    problem.content_type = PROBLEM_CONTENT_TYPE
    return problem


@csrf_exempt  # answers 404 to every method; without this a POST would get the HTML CSRF page
def api_route_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Unknown paths under /api/ answer in the API's error shape, not with an HTML page."""
    body = problem_body(
        status=404,
        code="not_found",
        title="Not found.",
        detail=f"No API endpoint at {request.path}. See /api/docs/ for the endpoints.",
    )
    return JsonResponse(body, status=404, content_type=PROBLEM_CONTENT_TYPE)


@csrf_exempt
def api_key_required(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """/api/v1/ on the public host without a key: the key is what names the workspace."""
    body = problem_body(
        status=401,
        code="not_authenticated",
        title="Authentication required.",
        detail="Send your API key as `Authorization: Bearer agk_live_…` or `X-API-Key`.",
    )
    response = JsonResponse(body, status=401, content_type=PROBLEM_CONTENT_TYPE)
    response["WWW-Authenticate"] = 'Bearer realm="agentry"'
    return response
