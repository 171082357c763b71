"""Benchmark 3: what routing a request to its tenant costs, Redis-cached vs django-tenants' DB lookup.

Two views of the same question:
- middleware only: the routing middleware called directly with a RequestFactory request;
- full request: GET /accounts/login/ on a tenant host through the whole middleware stack with
  the test Client (anonymous, no session: the page itself needs no database).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, cast

from django.conf import settings
from django.db import connection
from django.http import HttpResponse
from django.test import Client, RequestFactory, override_settings
from django_tenants.middleware.main import TenantMainMiddleware

from bench.provisioning import provision
from bench.report import fmt_ratio, fmt_seconds, percentile, ratio, table
from tenants.context import TenantHttpRequest
from tenants.middleware import TenantRoutingMiddleware
from tenants.models import Domain

ROUTING_MIDDLEWARE = "tenants.middleware.TenantRoutingMiddleware"
UNCACHED_MIDDLEWARE = "django_tenants.middleware.main.TenantMainMiddleware"
FULL_REQUEST_PATH = "/accounts/login/"
WARMUP = 100
ROUNDS = 10


def tenant_host() -> str:
    domain = Domain.objects.filter(tenant__slug__startswith="bench-").order_by("pk").first()
    if domain is None:
        provision("bench-routing")
        domain = Domain.objects.get(tenant__slug="bench-routing")
    return domain.domain


def statements_per_call(call: Callable[[], Any]) -> int:
    """SQL statements one call runs, SET search_path included (CaptureQueriesContext missed the
    ones issued inside a test-Client request here; an execute wrapper sees them all)."""
    statements: list[str] = []

    def record(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        statements.append(sql)
        return execute(sql, *args)

    with connection.execute_wrapper(record):
        call()
    return len(statements)


def interleaved_seconds(calls: dict[str, Callable[[], Any]], n: int, rounds: int = ROUNDS) -> dict[str, float]:
    """Median over `rounds` of the mean seconds per call, variants taking turns in every round so
    that background load on a shared machine hits them all alike."""
    for call in calls.values():
        for _ in range(WARMUP):
            call()
    per_round = max(1, n // rounds)
    means: dict[str, list[float]] = {key: [] for key in calls}
    for _ in range(rounds):
        for key, call in calls.items():
            started = time.perf_counter()
            for _ in range(per_round):
                call()
            means[key].append((time.perf_counter() - started) / per_round)
    return {key: percentile(values, 50) for key, values in means.items()}


def middleware_call(middleware_class: type[TenantMainMiddleware], host: str) -> Callable[[], Any]:
    middleware = middleware_class(lambda request: HttpResponse())
    # One request reused: the rows then time routing alone, not building WSGI requests.
    request = cast(TenantHttpRequest, RequestFactory().get(FULL_REQUEST_PATH, HTTP_HOST=host))

    def call() -> HttpResponse:
        vars(request).pop("tenant", None)
        response = middleware(request)
        assert response.status_code == 200 and request.tenant.domain_url == host
        return response

    return call


def full_request_call(routing_middleware: str, host: str) -> Callable[[], Any]:
    stack = [routing_middleware if m == ROUTING_MIDDLEWARE else m for m in settings.MIDDLEWARE]
    client = Client(HTTP_HOST=host)
    with override_settings(MIDDLEWARE=stack):
        client.handler.load_middleware()  # the client keeps this chain after the override ends

    def call() -> None:
        response = client.get(FULL_REQUEST_PATH)
        assert response.status_code == 200, response.status_code

    return call


def run(*, n: int = 2000) -> tuple[dict[str, Any], str]:
    host = tenant_host()
    measured = {
        "middleware_cached": (
            "middleware only: ours, Redis-cached hostname",
            middleware_call(TenantRoutingMiddleware, host),
        ),
        "middleware_uncached": (
            "middleware only: django-tenants, DB lookup",
            middleware_call(TenantMainMiddleware, host),
        ),
        "request_cached": (
            f"full GET {FULL_REQUEST_PATH}: ours, Redis-cached",
            full_request_call(ROUTING_MIDDLEWARE, host),
        ),
        "request_uncached": (
            f"full GET {FULL_REQUEST_PATH}: django-tenants, DB lookup",
            full_request_call(UNCACHED_MIDDLEWARE, host),
        ),
    }
    seconds = interleaved_seconds({key: call for key, (_, call) in measured.items()}, n)
    rows: dict[str, dict[str, Any]] = {
        key: {"label": label, "n": n, "per_request_s": seconds[key], "queries_per_request": statements_per_call(call)}
        for key, (label, call) in measured.items()
    }
    for scope in ("middleware", "request"):
        rows[f"{scope}_cached"]["uncached_over_cached"] = ratio(
            rows[f"{scope}_uncached"]["per_request_s"], rows[f"{scope}_cached"]["per_request_s"]
        )
    text = table(
        f"3. Request routing on tenant host {host}, per request (N={n} each, interleaved in {ROUNDS} rounds)",
        ["variant", "per request", "queries", "uncached / cached"],
        [
            [
                row["label"],
                fmt_seconds(row["per_request_s"]),
                row["queries_per_request"],
                fmt_ratio(row.get("uncached_over_cached")),
            ]
            for row in rows.values()
        ],
        notes=[
            "per request = median of the round means; queries = SQL statements per request after warm-up "
            "(SET search_path included)"
        ],
    )
    return {"host": host, "rows": rows}, text
