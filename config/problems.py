"""Rendering errors as RFC 9457 `application/problem+json`: the one JSON error shape.

The DRF exception handler, the body builder shared with middleware, and the fallback views for
/api/ paths that match no endpoint. The error classes and codes live in config/errors.py.
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

from config.errors import ApplicationError, ValidationFailed

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"


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
