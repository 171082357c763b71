"""The usage API: every call metered, quotas answered with 429 quota_exceeded, the summary and
time series for the caller's workspace only, and every parameter validated."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from django_tenants.utils import schema_context

from apikeys.tests.factories import IssuedApiKeyFactory, api_client
from billing.models import Limit
from billing.tests.factories import override_give
from metering.models import ModelPrice
from usage import store
from usage.meters import Meter, UsagePeriod
from usage.models import UsageDaily
from usage.recorder import usage_record
from usage.rollup import usage_rollup


@pytest.fixture
def a_client(tenant_a):  # type: ignore[no-untyped-def]
    key = IssuedApiKeyFactory(tenant=tenant_a.tenant, scopes=["usage:read"])
    client = api_client(tenant_a.host, key.secret)
    client.key_id = key.key.pk  # type: ignore[attr-defined]
    return client


def _body(response) -> dict:  # type: ignore[no-untyped-def]
    return json.loads(response.content)


def test_api_calls_are_metered_with_key_latency_and_outcome(tenant_a, a_client):
    assert a_client.get("/api/v1/me").status_code == 200
    assert a_client.get("/api/v1/usage?meter=nope").status_code == 400
    assert a_client.get("/api/v1/audit-log").status_code == 403  # lacks audit:read: refused, not counted

    usage_rollup(tenant=tenant_a.tenant)

    with schema_context(tenant_a.schema):
        row = UsageDaily.objects.get(meter=Meter.API_CALLS)
    assert row.key_id == a_client.key_id
    assert (row.quantity, row.events, row.latency_count) == (2, 3, 3)
    assert (row.success_count, row.client_error_count, row.server_error_count) == (1, 2, 0)


def test_api_metering_off_records_nothing(tenant_a, a_client):
    with override_settings(USAGE_METERING_ENABLED=False):
        assert a_client.get("/api/v1/me").status_code == 200
    assert store.dirty_schemas() == set()


def test_api_quota_exceeded_is_429_with_reset_time(tenant_a, a_client):
    override_give(tenant_a.tenant, limits={Limit.API_CALLS_PER_MONTH: 2})
    assert a_client.get("/api/v1/me").status_code == 200
    assert a_client.get("/api/v1/me").status_code == 200

    response = a_client.get("/api/v1/me")

    assert response.status_code == 429
    assert response["Content-Type"] == "application/problem+json"
    problem = _body(response)
    period = UsagePeriod.of(datetime.now(UTC))
    assert problem["code"] == "quota_exceeded"
    assert (problem["meter"], problem["limit"], problem["allowed"], problem["current_usage"]) == (
        "api_calls",
        "api_calls_per_month",
        2,
        2,
    )
    assert problem["reset_at"] == period.end.isoformat().replace("+00:00", "Z")
    assert int(response["Retry-After"]) == problem["retry_after"] > 0


def test_subscription_usage_has_the_published_shape(tenant_a, a_client):
    tenant = tenant_a.tenant
    ModelPrice.objects.create(
        provider="openai", model="gpt-test", input_price_per_1k=Decimal("0.5"), output_price_per_1k=Decimal("1.5")
    )
    usage_record(
        tenant=tenant,
        meter=Meter.TOKENS,
        quantity=2000,
        idempotency_id="t1",
        model="openai/gpt-test",
        token_type="input",
        agent_id="9",
    )
    usage_record(
        tenant=tenant,
        meter=Meter.TOKENS,
        quantity=1000,
        idempotency_id="t2",
        model="openai/gpt-test",
        token_type="output",
        agent_id="9",
        conversation_id="conv-1",
    )
    usage_record(tenant=tenant, meter=Meter.ACTIVE_AGENTS, quantity=3, idempotency_id="g1")
    usage_rollup(tenant=tenant)

    body = _body(a_client.get("/api/v1/subscription/usage"))

    assert body["tenant_id"] == "alpha"
    assert body["usage_period"] == UsagePeriod.of(datetime.now(UTC)).key
    assert body["api_calls"]["limit"] == 100_000
    assert body["api_calls"]["total"] == 1  # this call, live from the quota counter
    assert body["api_calls"]["remaining"] == 99_999
    assert body["api_calls"]["overage"] == 0
    assert body["tokens"]["total"] == 3000
    assert body["agents"] == {"active": 3, "limit": 25}
    assert set(body["performance"]) == {"avg_response_time", "success_rate", "error_rate"}
    assert body["cost"] == {"currency": "USD", "total": "2.5000", "tokens": 3000, "unpriced_tokens": 0}

    costs = _body(a_client.get("/api/v1/usage/costs"))
    assert costs["agents"] == [{"id": "9", "tokens": 3000, "cost": "2.5000", "unpriced_tokens": 0}]
    assert costs["conversations"] == [{"id": "conv-1", "tokens": 1000, "cost": "1.5000", "unpriced_tokens": 0}]


def test_usage_series_per_hour_and_day_with_zeros(tenant_a, a_client):
    at = datetime(2026, 3, 4, 10, 30, tzinfo=UTC)
    usage_record(tenant=tenant_a.tenant, meter=Meter.CHAT_MESSAGES, quantity=4, idempotency_id="m1", occurred_at=at)
    usage_rollup(tenant=tenant_a.tenant)

    hourly = _body(
        a_client.get(
            "/api/v1/usage?meter=chat_messages&granularity=hour&from=2026-03-04T09:00:00Z&to=2026-03-04T12:00:00Z"
        )
    )
    daily = _body(a_client.get("/api/v1/usage?meter=chat_messages&from=2026-03-03&to=2026-03-06"))

    assert [(p["start"], p["quantity"]) for p in hourly["points"]] == [
        ("2026-03-04T09:00:00Z", 0),
        ("2026-03-04T10:00:00Z", 4),
        ("2026-03-04T11:00:00Z", 0),
    ]
    assert [(p["start"], p["quantity"]) for p in daily["points"]] == [
        ("2026-03-03", 0),
        ("2026-03-04", 4),
        ("2026-03-05", 0),
    ]
    assert (daily["unit"], daily["is_gauge"], daily["granularity"]) == ("messages", False, "day")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "meter"),
        ("meter=bananas", "meter"),
        ("meter=tokens&granularity=minute", "granularity"),
        ("meter=tokens&from=yesterday", "from"),
        ("meter=tokens&from=2026-03-05&to=2026-03-04", "from"),
        ("meter=tokens&granularity=hour&from=2026-01-01&to=2026-03-01", "to"),
        ("meter=tokens&from=2020-01-01&to=2026-03-01", "to"),
    ],
)
def test_usage_series_rejects_bad_parameters(a_client, query, field):
    response = a_client.get(f"/api/v1/usage?{query}")

    assert response.status_code == 400
    problem = _body(response)
    assert problem["code"] == "validation_error"
    assert field in {error["field"] for error in problem["errors"]}


@pytest.mark.parametrize("period", ["2026-13", "nope", (datetime.now(UTC) + timedelta(days=40)).strftime("%Y-%m")])
def test_subscription_usage_rejects_a_bad_period(a_client, period):
    response = a_client.get(f"/api/v1/subscription/usage?period={period}")

    assert response.status_code == 400
    assert _body(response)["errors"][0]["field"] == "period"


def test_usage_api_shows_only_the_callers_workspace(tenant_a, tenant_b):
    usage_record(tenant=tenant_a.tenant, meter=Meter.TOKENS, quantity=999, idempotency_id="a-secret")
    usage_rollup(tenant=tenant_a.tenant)
    b_key = IssuedApiKeyFactory(tenant=tenant_b.tenant, scopes=["usage:read"])
    b_client = api_client(tenant_b.host, b_key.secret)

    summary = _body(b_client.get("/api/v1/subscription/usage"))
    series = _body(b_client.get("/api/v1/usage?meter=tokens"))

    assert summary["tenant_id"] == "beta" and summary["tokens"]["total"] == 0
    assert sum(point["quantity"] for point in series["points"]) == 0
