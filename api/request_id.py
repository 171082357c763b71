"""X-Request-ID on every response, in every log line and audit record of the request."""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from config.client_ip import client_ip

_REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_CLIENT_IP: contextvars.ContextVar[str | None] = contextvars.ContextVar("client_ip", default=None)
_WELL_FORMED = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


def current_request_id() -> str:
    return _REQUEST_ID.get()


def current_client_ip() -> str | None:
    """The client IP of the request being handled (trusted-proxy aware), for audit records."""
    return _CLIENT_IP.get()


class RequestIdMiddleware:
    """Takes the caller's X-Request-ID if well-formed (8–128 of A–Z a–z 0–9 . _ : -), else makes one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        offered = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = offered if _WELL_FORMED.match(offered) else f"req_{uuid.uuid4().hex}"
        request.request_id = request_id  # type: ignore[attr-defined]
        # Not reset afterwards: Django logs 4xx/5xx (django.request) after the middleware chain has
        # returned, and those lines should carry the id too. The next request overwrites both.
        _REQUEST_ID.set(request_id)
        _CLIENT_IP.set(client_ip(request) or None)
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True
