"""kill -9 of a process in the middle of a rollup loses nothing and counts nothing twice.

The rollup runs in a subprocess against the test database and Redis, on a committed tenant;
the test kills it with SIGKILL inside a batch's transaction, after a commit but before the
trim, and at random moments, then rolls up again and checks the totals to the unit.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tenants.models import Tenant
from testing.celery_worker import committed_tenant_purged_after
from usage import store
from usage.meters import Meter
from usage.recorder import usage_record
from usage.rollup import usage_rollup
from usage.tests.conftest import daily_total, hourly_total

SCRIPT = Path(__file__).with_name("rollup_process.py")


@pytest.fixture
def committed_tenant(django_db_setup: None, django_db_blocker) -> Iterator[Tenant]:  # type: ignore[no-untyped-def]
    with django_db_blocker.unblock(), committed_tenant_purged_after("rollup-kill") as tenant:
        yield tenant


def _environment() -> dict[str, str]:
    database = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "TEST_CACHE_URL": settings.USAGE_REDIS_URL,
    }


def _start(schema: str, mode: str, batch_size: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), schema, mode, str(batch_size)],
        env=_environment(),
        stdout=subprocess.PIPE,
        text=True,
    )


def _kill_when_paused(process: subprocess.Popen[str]) -> None:
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.strip() == "PAUSED", line
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def _record_events(tenant: Tenant, count: int) -> int:
    expected = 0
    for n in range(count):
        quantity = n % 3 + 1
        usage_record(tenant=tenant, meter=Meter.TOKENS, quantity=quantity, idempotency_id=f"evt-{n}")
        if n % 10 == 0:  # a retry: must count once
            usage_record(tenant=tenant, meter=Meter.TOKENS, quantity=quantity, idempotency_id=f"evt-{n}")
        expected += quantity
    return expected


def test_rollup_killed_inside_a_transaction_and_before_the_trim_loses_and_doubles_nothing(
    committed_tenant: Tenant, django_db_blocker
) -> None:  # type: ignore[no-untyped-def]
    schema = committed_tenant.schema_name
    expected = _record_events(committed_tenant, 1000)
    with django_db_blocker.unblock():
        first_batch = sum(n % 3 + 1 for n in range(300))

        _kill_when_paused(_start(schema, "pause-in-transaction", 300))
        assert daily_total(schema, Meter.TOKENS) == first_batch  # batch 1 committed, batch 2 rolled back

        _kill_when_paused(_start(schema, "pause-before-trim", 300))
        assert daily_total(schema, Meter.TOKENS) == first_batch + sum(n % 3 + 1 for n in range(300, 600))
        assert len(store.stream_read(schema=schema, after="0-0", count=2000)) == 700  # nothing trimmed

        finished = _start(schema, "run", 300)
        out, _ = finished.communicate(timeout=60)
        assert finished.returncode == 0, out

        assert daily_total(schema, Meter.TOKENS) == expected
        assert hourly_total(schema, Meter.TOKENS) == expected
        assert store.stream_read(schema=schema, after="0-0", count=10) == []


def test_rollup_killed_at_random_moments_ends_exact(committed_tenant: Tenant, django_db_blocker) -> None:  # type: ignore[no-untyped-def]
    schema = committed_tenant.schema_name
    expected = _record_events(committed_tenant, 3000)
    randomness = random.Random(6)
    with django_db_blocker.unblock():
        for _ in range(4):
            process = _start(schema, "run", 50)
            time.sleep(randomness.uniform(0.8, 2.0))  # Django's start-up takes most of a second
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        usage_rollup(tenant=committed_tenant)

        assert daily_total(schema, Meter.TOKENS) == expected
        assert hourly_total(schema, Meter.TOKENS) == expected
