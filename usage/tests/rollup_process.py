"""A rollup in its own process, for the kill -9 tests (usage/tests/test_rollup_kill.py).

    python usage/tests/rollup_process.py <schema> <mode> <batch size>

Modes: `run` (roll up everything), `pause-in-transaction` (stop forever inside the second
batch's transaction, after its upserts, before its commit) and `pause-before-trim` (stop after
the first batch committed, before the stream is trimmed). It prints PAUSED when it stops, so
the test can SIGKILL it at exactly that point.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django

django.setup()

from usage import rollup, store  # noqa: E402
from usage.aggregates import aggregates_add  # noqa: E402


def _pause() -> None:
    print("PAUSED", flush=True)
    while True:
        time.sleep(60)


def main(schema: str, mode: str, batch_size: int) -> None:
    from tenants.models import Tenant

    tenant = Tenant.objects.get(schema_name=schema)
    batches = 0

    def add_then_maybe_pause(events):  # type: ignore[no-untyped-def]
        nonlocal batches
        touched = aggregates_add(events)
        batches += 1
        if mode == "pause-in-transaction" and batches == 2:
            _pause()
        return touched

    def trim_never(**kwargs):  # type: ignore[no-untyped-def]
        _pause()

    rollup.aggregates_add = add_then_maybe_pause  # type: ignore[assignment]
    if mode == "pause-before-trim":
        store.stream_trim = trim_never  # type: ignore[assignment]
    result = rollup.usage_rollup(tenant=tenant, batch_size=batch_size)
    print(f"DONE {result.events}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
