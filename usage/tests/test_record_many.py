"""`usage_record_many`: the pipelined batch path counts exactly as `usage_record` does —
duplicates within a batch, across batches, against single records, from concurrent threads,
and through the outbox when Redis is down."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from django.test import override_settings
from django_tenants.utils import schema_context

from usage import store
from usage.meters import Meter, UsagePeriod
from usage.models import UsageOutboxEvent
from usage.recorder import usage_event_build, usage_record, usage_record_many
from usage.rollup import usage_rollup
from usage.tests.conftest import daily_total

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def _events(ids: list[str], quantity: int = 1, meter: str = Meter.API_CALLS):  # type: ignore[no-untyped-def]
    return [usage_event_build(meter=meter, quantity=quantity, idempotency_id=i, key_id="key_1") for i in ids]


def _live(schema: str) -> int | None:
    period = UsagePeriod.of(datetime.now(UTC)).key
    return store.counters_get(schema=schema, meters=[Meter.API_CALLS], period=period)[Meter.API_CALLS]


def test_record_many_counts_duplicates_within_and_across_batches_once(tenant_a):
    tenant = tenant_a.tenant
    first = usage_record_many(tenant=tenant, events=_events(["a", "b", "a", "c", "b"], quantity=2))
    second = usage_record_many(tenant=tenant, events=_events(["c", "d", "d", "e"], quantity=2))

    assert first == [True, True, False, True, False]
    assert second == [False, True, False, True]
    # The batch path and the single path share the idempotency keys.
    assert usage_record(tenant=tenant, meter=Meter.API_CALLS, quantity=2, idempotency_id="e") is False
    assert usage_record_many(tenant=tenant, events=[]) == []

    result = usage_rollup(tenant=tenant)

    assert result.events == 5
    assert daily_total(tenant_a.schema, Meter.API_CALLS) == 10
    assert _live(tenant_a.schema) == 10


def test_record_many_from_concurrent_threads_with_overlapping_batches_is_exact(tenant_a):
    threads, batches, per_batch = 8, 10, 50
    barrier = threading.Barrier(threads)
    outcomes: list[bool] = []
    lock = threading.Lock()

    def work(worker: int) -> None:
        barrier.wait()
        mine: list[bool] = []
        for batch in range(batches):
            # Pairs of threads send the same ids, in batches that overlap by half with the previous one.
            ids = [f"evt-{worker // 2}-{batch * per_batch // 2 + n}" for n in range(per_batch)]
            mine += usage_record_many(tenant=tenant_a.tenant, events=_events(ids, quantity=3))
        with lock:
            outcomes.extend(mine)

    pool = [threading.Thread(target=work, args=(worker,)) for worker in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()

    distinct = threads // 2 * ((batches - 1) * per_batch // 2 + per_batch)
    assert outcomes.count(True) == distinct
    usage_rollup(tenant=tenant_a.tenant, batch_size=97)
    assert daily_total(tenant_a.schema, Meter.API_CALLS) == distinct * 3
    assert _live(tenant_a.schema) == distinct * 3


def test_record_many_isolates_tenants(tenant_a, tenant_b):
    assert usage_record_many(tenant=tenant_a.tenant, events=_events(["same"], quantity=4)) == [True]
    assert usage_record_many(tenant=tenant_b.tenant, events=_events(["same"], quantity=6)) == [True]

    usage_rollup(tenant=tenant_a.tenant)
    usage_rollup(tenant=tenant_b.tenant)

    assert daily_total(tenant_a.schema, Meter.API_CALLS) == 4
    assert daily_total(tenant_b.schema, Meter.API_CALLS) == 6


def test_record_many_redis_down_goes_to_the_outbox_and_is_merged_once(tenant_a):
    tenant = tenant_a.tenant
    assert usage_record_many(tenant=tenant, events=_events(["before"], quantity=2)) == [True]
    with override_settings(USAGE_REDIS_URL=DEAD_REDIS):
        outcome = usage_record_many(tenant=tenant, events=_events(["x", "x", "y", "before"], quantity=2))
    # The outbox dedupes within the batch; "before" (already in Redis) is caught at the merge.
    assert outcome == [True, False, True, True]
    with schema_context(tenant_a.schema):
        assert UsageOutboxEvent.objects.count() == 3

    result = usage_rollup(tenant=tenant)

    assert result.outbox_duplicates == 1
    assert daily_total(tenant_a.schema, Meter.API_CALLS) == 6
    assert _live(tenant_a.schema) == 6


def test_record_many_reloads_the_script_after_a_script_cache_flush(tenant_a):
    store.usage_redis(bulk=True).script_flush()

    assert usage_record_many(tenant=tenant_a.tenant, events=_events(["p", "q", "p"])) == [True, True, False]

    usage_rollup(tenant=tenant_a.tenant)
    assert daily_total(tenant_a.schema, Meter.API_CALLS) == 2
