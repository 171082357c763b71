"""Benchmark 8b's ingest process (spawned): records usage events as fast as it can.

No Django import at module level: a spawned child unpickles the target by importing this
module before Django is set up.
"""

from __future__ import annotations

import time
from typing import Any


def ingest_worker(tenant_id: int, seconds: float, worker: int, queue: Any) -> None:
    """`usage_record` in a loop for `seconds` (API-call events with key, latency and outcome); puts the count."""
    import django

    django.setup()
    from tenants.models import Tenant
    from usage.meters import Meter
    from usage.recorder import usage_record

    tenant = Tenant.objects.get(pk=tenant_id)
    count, stop = 0, time.perf_counter() + seconds
    while time.perf_counter() < stop:
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
    queue.put(count)
