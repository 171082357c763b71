"""Liveness and readiness probes. Answered on every host, before tenant routing."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.http import HttpRequest, JsonResponse
from kombu import Connection

logger = logging.getLogger(__name__)


class ReadinessProblem(Exception):
    """A failed check whose message is safe and useful to show on /readyz (no secrets, no internals)."""


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_redis() -> None:
    caches["routing"].set("readyz-probe", 1, 5)


def _check_broker() -> None:
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=2) as broker:
        broker.ensure_connection(max_retries=1)


def _check_rate_limiter() -> None:
    # When this fails the API still serves, limited per process (see api/ratelimit.py).
    from api.ratelimit import rate_limiter_ping

    rate_limiter_ping()


CHECKS = {
    "database": _check_database,
    "redis": _check_redis,
    "broker": _check_broker,
    "rate_limiter": _check_rate_limiter,
}


def _checks() -> dict[str, Callable[[], None]]:
    checks = dict(CHECKS)
    if settings.BILLING_BACKEND == "stripe":
        from stripe_billing.health import stripe_readiness_check

        checks["stripe"] = stripe_readiness_check
    return checks


def readyz(request: HttpRequest) -> JsonResponse:
    """200 when every dependency answers, else 503 naming what failed (no error details leak,
    except a `ReadinessProblem`'s message, written to be shown, e.g. "STRIPE_SECRET_KEY is not set.")."""
    results = {}
    for name, check in _checks().items():
        try:
            check()
            results[name] = "ok"
        except ReadinessProblem as problem:
            logger.error("readiness check failed: %s: %s", name, problem)
            results[name] = f"unavailable: {problem}"
        except Exception:
            logger.exception("readiness check failed: %s", name)
            results[name] = "unavailable"
    ready = all(value == "ok" for value in results.values())
    return JsonResponse({"status": "ready" if ready else "not_ready", "checks": results}, status=200 if ready else 503)
