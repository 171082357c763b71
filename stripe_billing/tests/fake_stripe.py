"""A fake Stripe at stripe-python's lowest seam: the HTTP client (`stripe.default_http_client`).

It answers `GET /v1/account` and `GET /v1/<collection>/<id>` from objects the test put in its
store (a 404 `resource_missing` otherwise), and any other request only through a handler the
test registered. Anything else is recorded as unexpected, raises, and fails the test at
teardown, even if the code under test swallowed the error. Nothing ever leaves the process.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import stripe

from stripe_billing.tests import stripe_objects

# A handler answers with the object, or with (HTTP status, error body) for a Stripe error.
Handler = Callable[[dict[str, str], re.Match[str]], dict[str, Any] | tuple[int, dict[str, Any]]]


class UnexpectedStripeRequest(AssertionError):
    pass


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    params: dict[str, str]
    idempotency_key: str = ""


@dataclass
class _Failure:
    method: str
    path: str
    status: int
    times: int


@dataclass
class FakeStripe(stripe.HTTPClient):
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    handlers: list[tuple[str, re.Pattern[str], Handler]] = field(default_factory=list)
    failures: list[_Failure] = field(default_factory=list)
    name = "fake-stripe"

    def __post_init__(self) -> None:
        super().__init__()
        self.put(stripe_objects.account())

    # --- what tests use ------------------------------------------------------------------------

    def put(self, *objects: dict[str, Any]) -> None:
        """Make objects Stripe's current state (what a GET of their id answers)."""
        for data in objects:
            self.objects[data["id"]] = data

    def on(self, method: str, path_pattern: str, handler: Handler) -> None:
        """Answer `method` requests whose path fully matches `path_pattern` with `handler(params, match)`."""
        self.handlers.append((method.upper(), re.compile(path_pattern), handler))

    def fail(self, method: str, path: str, *, status: int = 500, times: int = 1) -> None:
        """The next `times` requests to `path` answer `status` (a Stripe outage)."""
        self.failures.append(_Failure(method.upper(), path, status, times))

    def sent(self, method: str, path_pattern: str) -> list[Request]:
        pattern = re.compile(path_pattern)
        return [r for r in self.requests if r.method == method.upper() and pattern.fullmatch(r.path)]

    # --- the HTTPClient interface --------------------------------------------------------------

    def request(
        self, method: str, url: str, headers: Any, post_data: Any = None, *, _usage: Any = None
    ) -> tuple[str, int, dict[str, str]]:
        method = method.upper()
        parts = urlsplit(url)
        if parts.hostname not in ("api.stripe.com",):
            return self._unexpected(f"{method} {url} (not api.stripe.com)")
        query = parts.query if method in ("GET", "DELETE") else (post_data or "")  # as stripe-python sends them
        params = dict(parse_qsl(query, keep_blank_values=True))
        key = (headers or {}).get("Idempotency-Key", "")
        self.requests.append(Request(method, parts.path, params, key))
        for failure in self.failures:
            if failure.times and (failure.method, failure.path) == (method, parts.path):
                failure.times -= 1
                return self._error(failure.status, "api_error", "Injected failure.")
        for handler_method, pattern, handler in self.handlers:
            match = pattern.fullmatch(parts.path)
            if handler_method == method and match:
                answer = handler(params, match)
                if isinstance(answer, tuple):
                    return json.dumps(answer[1]), answer[0], {"Request-Id": f"req_fake{len(self.requests)}"}
                return self._ok(answer)
        if method == "GET":
            if parts.path == "/v1/account":
                return self._ok(self.objects["acct_agentrytest"])
            object_id = parts.path.rsplit("/", 1)[-1]
            if parts.path.startswith("/v1/") and object_id in self.objects:
                return self._ok(self.objects[object_id])
            if re.fullmatch(r"/v1/[a-z_/]+(/[A-Za-z0-9_]+)+", parts.path):
                return self._error(404, "invalid_request_error", f"No such object: '{object_id}'", "resource_missing")
        return self._unexpected(f"{method} {parts.path} {params}")

    def close(self) -> None:
        pass

    def _ok(self, body: dict[str, Any]) -> tuple[str, int, dict[str, str]]:
        return json.dumps(body), 200, {"Request-Id": f"req_fake{len(self.requests)}"}

    def _error(self, status: int, error_type: str, message: str, code: str = "") -> tuple[str, int, dict[str, str]]:
        body = {"error": {"type": error_type, "message": message, **({"code": code} if code else {})}}
        return json.dumps(body), status, {"Request-Id": f"req_fake{len(self.requests)}"}

    def _unexpected(self, what: str) -> tuple[str, int, dict[str, str]]:
        self.unexpected.append(what)
        raise UnexpectedStripeRequest(f"unexpected Stripe request: {what}")
