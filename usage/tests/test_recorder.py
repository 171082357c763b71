"""Recording and rolling up: exact counts with duplicates, concurrency and a Redis outage."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import redis
from django.test import override_settings
from django_tenants.utils import schema_context

from metering.models import OutboxPending
from usage import store
from usage.meters import Meter, UsagePeriod
from usage.models import ConversationUsage, RollupCursor, UsageDaily, UsageHourly, UsageOutboxEvent
from usage.recorder import usage_record
from usage.rollup import usage_rollup
from usage.tests.conftest import daily_total, hourly_total

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def _record(tenant, idempotency_id: str, quantity: int = 1, meter: str = Meter.API_CALLS, **extra) -> bool:  # type: ignore[no-untyped-def]
    return usage_record(tenant=tenant, meter=meter, quantity=quantity, idempotency_id=idempotency_id, **extra)


def test_usage_record_duplicates_count_once(tenant_a):
    assert _record(tenant_a.tenant, "evt-1", 5) is True
    assert _record(tenant_a.tenant, "evt-1", 5) is False
    assert _record(tenant_a.tenant, "evt-2", 7) is True

    result = usage_rollup(tenant=tenant_a.tenant)

    assert result.events == 2
    assert daily_total(tenant_a.schema, Meter.API_CALLS) == 12
    assert hourly_total(tenant_a.schema, Meter.API_CALLS) == 12
    # After the rollup the same id is still a duplicate (within USAGE_DEDUPE_SECONDS).
    assert _record(tenant_a.tenant, "evt-1", 5) is False


def test_usage_record_concurrent_threads_with_duplicates_are_exact(tenant_a):
    threads, per_thread = 16, 150
    barrier = threading.Barrier(threads)
    outcomes: list[bool] = []
    lock = threading.Lock()

    def work(worker: int) -> None:
        barrier.wait()
        mine = []
        for n in range(per_thread):
            # Every id is sent by two threads: 16 × 150 sends, 8 × 150 distinct events.
            mine.append(_record(tenant_a.tenant, f"evt-{worker // 2}-{n}", 3))
        with lock:
            outcomes.extend(mine)

    pool = [threading.Thread(target=work, args=(worker,)) for worker in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()

    assert outcomes.count(True) == threads // 2 * per_thread
    usage_rollup(tenant=tenant_a.tenant, batch_size=333)  # several batches
    assert daily_total(tenant_a.schema, Meter.API_CALLS) == threads // 2 * per_thread * 3
    period = UsagePeriod.of(datetime.now(UTC))
    live = store.counters_get(schema=tenant_a.schema, meters=[Meter.API_CALLS], period=period.key)
    assert live[Meter.API_CALLS] == threads // 2 * per_thread * 3


def test_usage_rollup_dimensions_gauges_and_conversations(tenant_a):
    at = datetime(2026, 3, 4, 10, 15, tzinfo=UTC)
    tenant = tenant_a.tenant
    _record(tenant, "a", 1, key_id="key_1", latency_ms=100, outcome="2xx", occurred_at=at)
    _record(tenant, "b", 1, key_id="key_1", latency_ms=300, outcome="5xx", occurred_at=at)
    _record(tenant, "c", 0, key_id="key_2", latency_ms=20, outcome="4xx", occurred_at=at)
    _record(
        tenant,
        "t1",
        1000,
        meter=Meter.TOKENS,
        agent_id="7",
        conversation_id="c1",
        model="openai/x",
        token_type="input",
        occurred_at=at,
    )
    _record(
        tenant,
        "t2",
        500,
        meter=Meter.TOKENS,
        agent_id="7",
        conversation_id="c1",
        model="openai/x",
        token_type="input",
        occurred_at=at.replace(hour=11),
    )
    _record(tenant, "g1", 300, meter=Meter.STORAGE_BYTES, occurred_at=at)
    _record(tenant, "g2", 200, meter=Meter.STORAGE_BYTES, occurred_at=at.replace(minute=50))

    usage_rollup(tenant=tenant)

    with schema_context(tenant_a.schema):
        key_1 = UsageDaily.objects.get(meter=Meter.API_CALLS, key_id="key_1")
        assert (key_1.quantity, key_1.events, key_1.latency_ms_sum, key_1.latency_count) == (2, 2, 400, 2)
        assert (key_1.success_count, key_1.client_error_count, key_1.server_error_count) == (1, 0, 1)
        key_2 = UsageDaily.objects.get(meter=Meter.API_CALLS, key_id="key_2")
        assert (key_2.quantity, key_2.events, key_2.client_error_count) == (0, 1, 1)
        hours = dict(UsageHourly.objects.filter(meter=Meter.TOKENS).values_list("hour", "quantity"))
        assert hours == {at.replace(minute=0): 1000, at.replace(hour=11, minute=0): 500}
        # Gauges keep the highest level of the bucket, not a sum.
        assert UsageHourly.objects.get(meter=Meter.STORAGE_BYTES).quantity == 300
        conversation = ConversationUsage.objects.get(conversation_id="c1")
        assert (conversation.quantity, conversation.events, conversation.agent_id) == (1500, 2, "7")
        assert (conversation.first_at, conversation.last_at) == (at, at.replace(hour=11))


def test_usage_rollup_rerun_after_commit_without_trim_counts_nothing_twice(
    tenant_a, django_capture_on_commit_callbacks
):
    for n in range(10):
        _record(tenant_a.tenant, f"e{n}")
    usage_rollup(tenant=tenant_a.tenant)  # the trim waits for a commit that never comes in a test
    assert len(store.stream_read(schema=tenant_a.schema, after="0-0", count=100)) == 10

    with django_capture_on_commit_callbacks(execute=True):
        again = usage_rollup(tenant=tenant_a.tenant)

    assert again.events == 0
    assert daily_total(tenant_a.schema, Meter.API_CALLS) == 10
    assert store.stream_read(schema=tenant_a.schema, after="0-0", count=100) == []  # trimmed now
    assert tenant_a.schema not in store.dirty_schemas()
    with schema_context(tenant_a.schema):
        assert RollupCursor.objects.get().events_total == 10


def test_usage_record_isolates_tenants(tenant_a, tenant_b):
    _record(tenant_a.tenant, "same-id", 4)
    assert _record(tenant_b.tenant, "same-id", 6) is True  # ids are per tenant

    usage_rollup(tenant=tenant_a.tenant)
    usage_rollup(tenant=tenant_b.tenant)

    assert daily_total(tenant_a.schema, Meter.API_CALLS) == 4
    assert daily_total(tenant_b.schema, Meter.API_CALLS) == 6


def test_usage_record_redis_down_goes_to_outbox_and_is_merged_once(tenant_a):
    tenant = tenant_a.tenant
    assert _record(tenant, "before-outage", 2) is True  # reached Redis
    with override_settings(USAGE_REDIS_URL=DEAD_REDIS):
        assert _record(tenant, "during-1", 3) is True
        assert _record(tenant, "during-1", 3) is False  # the outbox dedupes too
        assert _record(tenant, "during-2", 5) is True
        assert _record(tenant, "before-outage", 2) is True  # a retry: Redis cannot tell, yet
        with pytest.raises(redis.RedisError):  # the rollup needs Redis
            usage_rollup(tenant=tenant)
    with schema_context(tenant_a.schema):
        assert UsageOutboxEvent.objects.count() == 3
    assert OutboxPending.objects.filter(tenant_id=tenant.pk).exists()

    result = usage_rollup(tenant=tenant)

    assert result.outbox_duplicates == 1  # the retry of "before-outage"
    assert daily_total(tenant_a.schema, Meter.API_CALLS) == 2 + 3 + 5
    with schema_context(tenant_a.schema):
        assert not UsageOutboxEvent.objects.exists()
    assert not OutboxPending.objects.filter(tenant_id=tenant.pk).exists()
    period = UsagePeriod.of(datetime.now(UTC)).key
    assert store.counters_get(schema=tenant_a.schema, meters=[Meter.API_CALLS], period=period)[Meter.API_CALLS] == 10
    # Once merged, the outbox events' ids are known to Redis: a late retry is a duplicate.
    assert _record(tenant, "during-2", 5) is False


def test_usage_record_rejects_programming_mistakes(tenant_a):
    with pytest.raises(ValueError, match="unknown meter"):
        _record(tenant_a.tenant, "x", meter="bananas")
    with pytest.raises(ValueError, match="non-negative"):
        _record(tenant_a.tenant, "x", -1)
    with pytest.raises(ValueError, match="idempotency_id"):
        _record(tenant_a.tenant, "")
