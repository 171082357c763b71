"""Rate limits: GCRA in one atomic Redis script, headers on every response, key → tenant → plan
precedence, exactness under concurrency, and a per-process fallback when Redis is down.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from api import ratelimit
from api.ratelimit import RateLimit, rate_limit_hit
from apikeys.tests.factories import IssuedApiKeyFactory, api_client
from conftest import client_for
from tenants.models import Tenant

RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


def _subject() -> str:
    return f"test:{uuid.uuid4().hex}"


@pytest.fixture
def key_a(tenant_a):  # type: ignore[no-untyped-def]
    return IssuedApiKeyFactory(tenant=tenant_a.tenant)


@pytest.fixture
def limiter_redis_down(settings):  # type: ignore[no-untyped-def]
    """The limiter's Redis is unreachable (the cache's Redis, used for key lookups, still works)."""
    ratelimit._redis.cache_clear()
    ratelimit._script.cache_clear()
    settings.RATE_LIMIT_REDIS_URL = UNREACHABLE_REDIS
    yield
    ratelimit._redis.cache_clear()
    ratelimit._script.cache_clear()


# --- Headers and 429 ------------------------------------------------------------------------


def test_ratelimit_headers_on_every_authenticated_response(tenant_a, key_a):
    weak = IssuedApiKeyFactory(tenant=tenant_a.tenant, scopes=["agents:read"])
    client, weak_client = api_client(tenant_a.host, key_a.secret), api_client(tenant_a.host, weak.secret)
    responses = {
        "ok": client.get("/api/v1/me"),
        "created": client.post("/api/v1/api-keys", {"name": "n", "scopes": ["chat"]}, content_type="application/json"),
        "invalid": client.post("/api/v1/api-keys", {"name": ""}, content_type="application/json"),
        "not found": client.get("/api/v1/api-keys/key_doesnotexist0000"),
        "method": client.delete("/api/v1/tenant"),
        "scope": weak_client.get("/api/v1/api-keys"),
    }

    assert {name: r.status_code for name, r in responses.items()} == {
        "ok": 200, "created": 201, "invalid": 400, "not found": 404, "method": 405, "scope": 403,
    }  # fmt: skip
    for name, response in responses.items():
        for header in RATE_HEADERS:
            assert response[header].isdigit(), (name, header)


def test_ratelimit_headers_count_down(tenant_a):
    issued = IssuedApiKeyFactory(tenant=tenant_a.tenant, rate_limit_per_minute=60, rate_limit_burst=10)
    client = api_client(tenant_a.host, issued.secret)

    first, second = client.get("/api/v1/me"), client.get("/api/v1/me")

    assert first["X-RateLimit-Limit"] == "60"
    assert int(first["X-RateLimit-Remaining"]) == 9
    assert int(second["X-RateLimit-Remaining"]) == 8
    assert 1 <= int(second["X-RateLimit-Reset"]) <= 3


def test_ratelimit_exhausted_burst_gets_429_with_retry_after(tenant_a):
    issued = IssuedApiKeyFactory(tenant=tenant_a.tenant, rate_limit_per_minute=1, rate_limit_burst=2)
    client = api_client(tenant_a.host, issued.secret)

    assert [client.get("/api/v1/me").status_code for _ in range(2)] == [200, 200]
    limited = client.get("/api/v1/me")

    assert limited.status_code == 429
    assert limited["Content-Type"] == "application/problem+json"
    body = json.loads(limited.content)
    assert (body["code"], body["status"]) == ("rate_limited", 429)
    assert 0 < int(limited["Retry-After"]) <= 60
    assert body["retry_after"] == int(limited["Retry-After"])
    assert limited["X-RateLimit-Remaining"] == "0"


def test_ratelimit_is_per_key(tenant_a):
    tight = IssuedApiKeyFactory(tenant=tenant_a.tenant, rate_limit_per_minute=1, rate_limit_burst=1)
    other = IssuedApiKeyFactory(tenant=tenant_a.tenant, rate_limit_per_minute=1, rate_limit_burst=1)

    assert api_client(tenant_a.host, tight.secret).get("/api/v1/me").status_code == 200
    assert api_client(tenant_a.host, tight.secret).get("/api/v1/me").status_code == 429
    assert api_client(tenant_a.host, other.secret).get("/api/v1/me").status_code == 200


def test_ratelimit_unauthenticated_requests_carry_no_rate_headers(tenant_a):
    response = client_for(tenant_a.host).get("/api/v1/me")

    assert response.status_code == 401
    assert "X-RateLimit-Limit" not in response


# --- Where the limit comes from -------------------------------------------------------------


def _limit_header(tenant_fixture, **key_overrides) -> int:  # type: ignore[no-untyped-def]
    issued = IssuedApiKeyFactory.create(tenant=tenant_fixture.tenant, **key_overrides)
    return int(api_client(tenant_fixture.host, issued.secret).get("/api/v1/me")["X-RateLimit-Limit"])


def test_ratelimit_plan_limit_applies_by_default(tenant_a, tenant_b):
    assert _limit_header(tenant_a) == tenant_a.tenant.plan.limits["requests_per_minute"]
    assert _limit_header(tenant_b) == tenant_b.tenant.plan.limits["requests_per_minute"]
    assert _limit_header(tenant_a) != _limit_header(tenant_b)  # professional vs starter


def test_ratelimit_tenant_override_beats_the_plan(tenant_a):
    Tenant.objects.filter(pk=tenant_a.tenant.pk).update(api_rate_limit_per_minute=42, api_rate_limit_burst=5)

    assert _limit_header(tenant_a) == 42


def test_ratelimit_key_override_beats_tenant_override_and_plan(tenant_a):
    Tenant.objects.filter(pk=tenant_a.tenant.pk).update(api_rate_limit_per_minute=42, api_rate_limit_burst=5)

    assert _limit_header(tenant_a, rate_limit_per_minute=7, rate_limit_burst=3) == 7


def test_ratelimit_tenant_burst_override_is_enforced(tenant_a):
    Tenant.objects.filter(pk=tenant_a.tenant.pk).update(api_rate_limit_per_minute=1, api_rate_limit_burst=1)
    client = api_client(tenant_a.host, IssuedApiKeyFactory(tenant=tenant_a.tenant).secret)

    assert [client.get("/api/v1/me").status_code for _ in range(2)] == [200, 429]


# --- Exact under concurrency ----------------------------------------------------------------


def test_ratelimit_admits_exactly_the_burst_under_concurrency(db):
    limit = RateLimit(per_minute=1, burst=100)
    subject = _subject()
    threads = 200
    barrier = threading.Barrier(threads)

    def hit(_: int):  # type: ignore[no-untyped-def]
        barrier.wait()
        return rate_limit_hit(subject=subject, limit=limit)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        decisions = list(pool.map(hit, range(threads)))

    assert sum(decision.allowed for decision in decisions) == 100
    assert not any(decision.degraded for decision in decisions)
    assert sorted(d.remaining for d in decisions if d.allowed) == list(range(100))
    assert all(d.retry_after_s > 0 for d in decisions if not d.allowed)


def test_ratelimit_gcra_refills_at_the_per_minute_rate():
    limit = RateLimit(per_minute=600, burst=1)  # one request per 100 ms
    subject = _subject()

    assert rate_limit_hit(subject=subject, limit=limit).allowed
    refused = rate_limit_hit(subject=subject, limit=limit)
    assert not refused.allowed and refused.retry_after_s == 1
    time.sleep(0.12)
    assert rate_limit_hit(subject=subject, limit=limit).allowed


# --- Redis failure --------------------------------------------------------------------------


def test_ratelimit_redis_down_falls_back_and_logs_loudly(limiter_redis_down, caplog):
    limit = RateLimit(per_minute=1, burst=2)
    subject = _subject()

    with caplog.at_level(logging.ERROR, logger="api.ratelimit"):
        decisions = [rate_limit_hit(subject=subject, limit=limit) for _ in range(3)]

    assert [d.allowed for d in decisions] == [True, True, False]  # still limited, per process
    assert all(d.degraded for d in decisions)
    errors = [r for r in caplog.records if r.name == "api.ratelimit" and r.levelno == logging.ERROR]
    assert errors and "fallback" in errors[0].getMessage()


def test_ratelimit_redis_down_api_keeps_serving(tenant_a, key_a, limiter_redis_down, caplog):
    client = api_client(tenant_a.host, key_a.secret)

    with caplog.at_level(logging.ERROR):
        responses = [client.get("/api/v1/me") for _ in range(3)]

    assert [r.status_code for r in responses] == [200, 200, 200]
    assert all(r["X-RateLimit-Limit"].isdigit() for r in responses)
    assert any(r.name == "api.ratelimit" and r.levelno == logging.ERROR for r in caplog.records)


def test_ratelimit_redis_down_readyz_reports_the_limiter(public_client, limiter_redis_down):
    response = public_client.get("/readyz")

    assert response.status_code == 503
    body = json.loads(response.content)
    assert body["status"] == "not_ready"
    assert body["checks"]["rate_limiter"] == "unavailable"
    assert body["checks"]["database"] == "ok"


def test_ratelimit_readyz_reports_the_limiter_ok_when_redis_answers(public_client):
    body = json.loads(public_client.get("/readyz").content)

    assert body["checks"]["rate_limiter"] == "ok"
