"""The one application error hierarchy and its single JSON shape (RFC 9457 problem+json).

Services raise `ApplicationError` subclasses; the API exception handler and the portal turn
them into responses. Every error body carries a stable machine-readable `code`.
"""

from __future__ import annotations

import logging
from typing import Any

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


class TenantSuspended(ApplicationError):
    code = "tenant_suspended"
    status = 403
    title = "This workspace is suspended."


class TenantCancelled(TenantSuspended):
    code = "tenant_cancelled"
    title = "This workspace's subscription is cancelled."


def problem_body(*, status: int, code: str, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": f"https://docs.agentry.dev/errors#{code}",
        "title": title,
        "status": status,
        "code": code,
        "detail": detail,
        **extra,
    }


def _drf_code(exc: drf_exceptions.APIException) -> str:
    codes = {
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
    return codes.get(type(exc), str(getattr(exc, "default_code", "error")))


def _problem_response(body: dict[str, Any], context: dict[str, Any]) -> Response:
    set_rollback()  # with ATOMIC_REQUESTS, a failed API request leaves no partial writes behind
    request = context.get("request")
    if request is not None:
        # Errors are JSON even from views that negotiated another format (e.g. the YAML schema).
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = PROBLEM_CONTENT_TYPE
    return Response(body, status=body["status"], content_type=PROBLEM_CONTENT_TYPE)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF exception handler: every error, expected or not, becomes problem+json with a stable `code`."""
    if isinstance(exc, ApplicationError):
        body = problem_body(status=exc.status, code=exc.code, title=exc.title, detail=exc.detail, **exc.extra)
        return _problem_response(body, context)
    if isinstance(exc, DjangoValidationError):
        exc = drf_exceptions.ValidationError(detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, drf_exceptions.APIException):
        logger.exception("unhandled error in API view", exc_info=exc)
        body = problem_body(
            status=500,
            code="internal_error",
            title="Internal server error.",
            detail="Something went wrong on our side. It has been logged; please retry later.",
        )
        return _problem_response(body, context)
    extra: dict[str, Any] = {}
    if isinstance(exc, drf_exceptions.ValidationError):
        detail = "The submitted data is not valid."
        extra["errors"] = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
    else:
        detail = str(exc.detail)
    body = problem_body(status=response.status_code, code=_drf_code(exc), title=detail, detail=detail, **extra)
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
