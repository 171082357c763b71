"""The OpenAPI document: what every `TenantApi` operation shares, described once.

drf-spectacular builds the schema from the views, which describe only their own input and
output. `AgentryAutoSchema` (REST_FRAMEWORK's DEFAULT_SCHEMA_CLASS) adds what `api.base.TenantApi`
does for every endpoint:

- the error responses the operation can produce, as `application/problem+json` with the
  `Problem` schema, their codes, and an example per code;
- response headers: `X-Request-ID` on every response, `X-RateLimit-*` once the caller is
  identified, `Retry-After` on 429, `WWW-Authenticate` on 401, `Idempotent-Replayed` on
  idempotent POSTs;
- request headers: `Idempotency-Key` (POSTs of views with `idempotent_post`), the signature
  headers, `X-Request-ID`;
- the scopes the view requires (in the description and as `x-required-scopes`);
- the security schemes, through the authentication extensions below.

A view method that raises a service error beyond those (a `Conflict`, say) declares it with
`@error_responses(Conflict)`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, TypeVar

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.permissions import SAFE_METHODS

from api.base import TenantApi
from api.problem_schema import (
    AUTHENTICATION_CODES,
    HEADERS,
    IDEMPOTENCY_KEY_PARAMETER,
    REQUEST_ID_PARAMETER,
    SIGNATURE_PARAMETERS,
    ProblemSerializer,
    problem_example,
)
from config.errors import ERROR_CODES, ApplicationError
from config.problems import PROBLEM_CONTENT_TYPE

F = TypeVar("F", bound=Callable[..., Any])

_DECLARED_ERRORS: dict[Callable[..., Any], tuple[type[ApplicationError], ...]] = {}


def error_responses(*errors: type[ApplicationError]) -> Callable[[F], F]:
    """Document the service errors a view method raises beyond the ones every endpoint has
    (validation, authentication, scopes, limits, internal errors)."""

    def declare(method: F) -> F:
        _DECLARED_ERRORS[method] = errors
        return method

    return declare


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """`Authorization: Bearer <key>` or `X-API-Key: <key>`: either header, not both."""

    target_class = "api.authentication.ApiKeyAuthentication"
    name = ["ApiKeyBearer", "ApiKeyHeader"]

    def get_security_requirement(self, auto_schema: AutoSchema) -> list[dict[str, list[Any]]]:
        return [{"ApiKeyBearer": []}, {"ApiKeyHeader": []}]

    def get_security_definition(self, auto_schema: AutoSchema) -> list[dict[str, Any]]:
        return [
            {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "agk_live_…",
                "description": "An API key as `Authorization: Bearer agk_live_…`.",
            },
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-API-Key",
                "description": "The same API key in the `X-API-Key` header, for clients that cannot set Authorization.",
            },
        ]


class PortalSessionScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.PortalSessionAuthentication"
    name = "PortalSession"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": settings.SESSION_COOKIE_NAME,
            "description": (
                "A signed-in portal user, on the workspace's own host, with the scopes of their role. "
                "POST requests also need the CSRF token in the `X-CSRFToken` header."
            ),
        }


class AgentryAutoSchema(AutoSchema):
    def get_serializer_name(self, serializer: serializers.Serializer, direction: Any) -> str:
        # Views nest their `InputSerializer` (STYLE.md §3): ApiKeyRotateApi.InputSerializer → ApiKeyRotateInput.
        owner, _, nested = type(serializer).__qualname__.rpartition(".")
        if owner:
            return owner.removesuffix("Api") + nested.removesuffix("Serializer")
        return super().get_serializer_name(serializer, direction)

    def get_description(self) -> str:  # type: ignore[override]
        # Only the view's own docstring: inherited ones (TenantApi's) are for developers.
        method_doc = getattr(getattr(self.view, self.method.lower(), None), "__doc__", None)
        own_doc = type(self.view).__dict__.get("__doc__")
        return _cleaned(method_doc or own_doc or "")

    def get_override_parameters(self) -> list[Any]:
        parameters: list[Any] = list(super().get_override_parameters())
        if not isinstance(self.view, TenantApi):
            return parameters
        ours: list[OpenApiParameter] = [*SIGNATURE_PARAMETERS, REQUEST_ID_PARAMETER]
        if self._is_idempotent_post():
            ours.insert(0, IDEMPOTENCY_KEY_PARAMETER)
        return ours + parameters  # the view's own declarations win

    def get_operation(
        self, path: str, path_regex: str, path_prefix: str, method: str, registry: Any
    ) -> dict[str, Any] | None:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None or not isinstance(self.view, TenantApi):
            return operation
        scopes = self._required_scopes()
        operation["x-required-scopes"] = scopes
        scope_text = (
            "**Scopes:** " + ", ".join(f"`{scope}`" for scope in scopes)
            if scopes
            else "**Scopes:** none; any valid key or signed-in user of the workspace."
        )
        operation["description"] = "\n\n".join(filter(None, [operation.get("description"), scope_text]))
        for status_code, response in operation["responses"].items():
            if status_code.startswith("2"):
                response["description"] = response.get("description") or HTTPStatus(int(status_code)).phrase
                response["headers"] = {**self._header_refs(int(status_code)), **response.get("headers", {})}
        for status, codes in sorted(self._error_codes(operation).items()):
            operation["responses"][str(status)] = self._problem_response(status, codes)
        self._describe_pagination(operation)
        return operation

    def _required_scopes(self) -> list[str]:
        scopes_for = getattr(self.view, "scopes_for", None)
        scopes = scopes_for(self.method) if scopes_for else getattr(self.view, "required_scopes", ())
        return [str(scope) for scope in scopes]

    def _is_idempotent_post(self) -> bool:
        return self.method == "POST" and bool(getattr(self.view, "idempotent_post", False))

    def _error_codes(self, operation: dict[str, Any]) -> dict[int, list[str]]:
        """status → the codes this operation can answer with. (405 and 406, for a method or an Accept
        header the endpoint does not support, are documented once in docs/errors.md.)"""
        parameters = operation.get("parameters", [])
        has_body = "requestBody" in operation
        has_query = any(p.get("in") == "query" for p in parameters)
        has_path_variable = any(p.get("in") == "path" for p in parameters)
        paginated = self._is_list_view() and self._get_paginator() is not None
        codes: dict[int, list[str]] = {
            401: list(AUTHENTICATION_CODES),
            403: ["ip_not_allowed", "tenant_suspended", "tenant_cancelled"],
            429: ["rate_limited", "quota_exceeded"],
            500: ["internal_error"],
        }
        if has_body:
            codes[400] = ["validation_error", "malformed_request"]
            codes[415] = ["unsupported_media_type"]
        elif has_query or self._is_idempotent_post():
            codes[400] = ["validation_error"]
        if self._required_scopes():
            codes[403].insert(0, "insufficient_scope")
        if self.method not in SAFE_METHODS:
            codes[403].append("permission_denied")  # the portal session's CSRF check
        if set(self._required_scopes()) == {"chat"}:
            codes[403].append("origin_not_allowed")  # a publishable (widget) key outside its websites
        if has_path_variable or paginated:
            codes[404] = ["not_found"]
        if self._is_idempotent_post():
            codes[422] = ["idempotency_key_reused"]
        view_method = getattr(type(self.view), self.method.lower(), None)
        for error in _DECLARED_ERRORS.get(view_method, ()) if view_method else ():
            listed = codes.setdefault(error.status, [])
            if error.code not in listed:
                listed.append(error.code)
        return codes

    def _problem_response(self, status: int, codes: list[str]) -> dict[str, Any]:
        problem = self.resolve_serializer(ProblemSerializer, "response")
        examples = {code: self._example(code) for code in codes}
        return {
            "description": f"{HTTPStatus(status).phrase}. `code`: " + ", ".join(f"`{code}`" for code in codes) + ".",
            "headers": self._header_refs(status),
            "content": {PROBLEM_CONTENT_TYPE: {"schema": problem.ref, "examples": examples}},
        }

    def _example(self, code: str) -> dict[str, Any]:
        """A reference to the shared example of `code`; insufficient_scope names this endpoint's scopes."""
        if code == "insufficient_scope":
            scopes = self._required_scopes()
            detail = f"This endpoint needs the scope(s): {', '.join(scopes)}."
            value = problem_example(code, detail=detail, required_scopes=scopes, missing_scopes=scopes)
            return {"summary": ERROR_CODES[code].description, "value": value}
        component = ResolvedComponent(
            name=code,
            type=ResolvedComponent.EXAMPLE,
            schema={"summary": ERROR_CODES[code].description, "value": problem_example(code)},
            object=f"problem-example-{code}",
        )
        self.registry.register_on_missing(component)
        return component.ref

    def _header_refs(self, status: int) -> dict[str, Any]:
        names = ["X-Request-ID"]
        if status == 401:
            names.append("WWW-Authenticate")
        else:  # the limiter runs once the caller is identified
            names += ["X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"]
        if status == 429:
            names.append("Retry-After")
        if 200 <= status < 300 and self._is_idempotent_post():
            names.append("Idempotent-Replayed")
        refs = {}
        for name in names:
            component = ResolvedComponent(name=name, type=ResolvedComponent.HEADER, schema=HEADERS[name], object=name)
            self.registry.register_on_missing(component)
            refs[name] = component.ref
        return refs

    def _describe_pagination(self, operation: dict[str, Any]) -> None:
        paginator = self._get_paginator() if self._is_list_view() else None
        if paginator is None:
            return
        for parameter in operation.get("parameters", []):
            if parameter["in"] != "query":
                continue
            if parameter["name"] == paginator.cursor_query_param:
                parameter["description"] = (
                    "Opaque cursor: pass the `cursor` of the `next` or `previous` URL of the page before. "
                    "An invalid cursor gets 404 `not_found`."
                )
            elif parameter["name"] == paginator.page_size_query_param:
                parameter["description"] = (
                    f"Page size, {paginator.page_size} by default; larger values are capped at "
                    f"{paginator.max_page_size}."
                )
                parameter["schema"] = {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": paginator.max_page_size,
                    "default": paginator.page_size,
                }


def _cleaned(doc: str) -> str:
    return inspect.cleandoc(doc) if doc else ""
