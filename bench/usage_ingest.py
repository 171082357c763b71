"""Benchmark 8b's ingest process (spawned): records usage events as fast as it can.

No Django import at module level: a spawned child unpickles the target by importing this
module before Django is set up.
"""

from __future__ import annotations

import time
from typing import Any


def ingest_worker(tenant_id: int, seconds: float, worker: int, queue: Any, batch: int = 1) -> None:
    """Record API-call events (key, latency, outcome) for `seconds`; puts the count.

    `batch` 1: `usage_record`, one Redis round trip per event (the baseline). More: events are
    built one by one and sent `batch` at a time with `usage_record_many`, one round trip each.
    """
    import django

    django.setup()
    from tenants.models import Tenant
    from usage.meters import Meter
    from usage.recorder import usage_event_build, usage_record, usage_record_many

    tenant = Tenant.objects.get(pk=tenant_id)
    count, stop = 0, time.perf_counter() + seconds
    while time.perf_counter() < stop:
        if batch <= 1:
            for _ in range(100):
                usage_record(
                    tenant=tenant,
                    meter=Meter.API_CALLS,
                    quantity=1,
                    idempotency_id=f"w{worker}-{count}",
                    key_id="key_bench",
                    latency_ms=12,
                    outcome="2xx",
                )
                count += 1
            continue
        events = [
            usage_event_build(
                meter=Meter.API_CALLS,
                quantity=1,
                idempotency_id=f"w{worker}-{count + n}",
                key_id="key_bench",
                latency_ms=12,
                outcome="2xx",
            )
            for n in range(batch)
        ]
        usage_record_many(tenant=tenant, events=events)
        count += batch
    queue.put(count)
