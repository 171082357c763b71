"""Metering end to end on a real Celery worker: API calls over the test client are metered,
the beat's dispatcher queues a rollup in each dirty tenant's schema, and the worker folds the
events into that tenant's aggregates (and no other's)."""

from __future__ import annotations

import pytest

from apikeys.tests.factories import IssuedApiKeyFactory, api_client
from testing.celery_worker import committed_tenant, purge_now, wait_until
from usage.meters import Meter
from usage.recorder import usage_record
from usage.tasks import usage_rollup_dispatch_task
from usage.tests.conftest import daily_total

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning"),
]


def test_worker_rolls_up_api_calls_per_tenant(worker: None) -> None:
    first, second = committed_tenant("usage-w1"), committed_tenant("usage-w2")
    try:
        key = IssuedApiKeyFactory.create(tenant=first, scopes=["usage:read"])
        client = api_client(f"{first.slug}.localhost", key.secret)
        for _ in range(5):
            assert client.get("/api/v1/me").status_code == 200
        usage_record(tenant=second, meter=Meter.CHAT_MESSAGES, quantity=3, idempotency_id="m-1")

        queued = usage_rollup_dispatch_task.delay().get(timeout=30)

        assert set(queued) == {first.schema_name, second.schema_name}
        wait_until(lambda: daily_total(first.schema_name, Meter.API_CALLS) == 5)
        wait_until(lambda: daily_total(second.schema_name, Meter.CHAT_MESSAGES) == 3)
        assert daily_total(first.schema_name, Meter.CHAT_MESSAGES) == 0
        assert daily_total(second.schema_name, Meter.API_CALLS) == 0
        body = client.get("/api/v1/subscription/usage").json()
        assert body["api_calls"]["total"] == 6  # five rolled up, plus this call, live
        assert body["performance"]["success_rate"] == 100.0
        wait_until(lambda: usage_rollup_dispatch_task.delay().get(timeout=30) == [first.schema_name])
    finally:
        purge_now(first)
        purge_now(second)
