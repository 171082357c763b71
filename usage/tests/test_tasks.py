"""Metering end to end on a real Celery worker: API calls over the test client are metered,
the beat's dispatcher queues a rollup in each dirty tenant's schema, and the worker folds the
events into that tenant's aggregates (and no other's)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from celery.contrib.testing.worker import start_worker

from apikeys.tests.factories import IssuedApiKeyFactory, api_client
from audit.services import Actor
from config.celery import app as celery_app
from tenants.models import Tenant
from tenants.services import tenant_provision
from tenants.tests.test_tasks import _purge_now
from usage.meters import Meter
from usage.recorder import usage_record
from usage.tasks import usage_rollup_dispatch_task
from usage.tests.conftest import daily_total

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning"),
]


@pytest.fixture(scope="module")
def worker(django_db_setup: None, django_db_blocker) -> Iterator[None]:  # type: ignore[no-untyped-def]
    hijack_root_logger = celery_app.conf.worker_hijack_root_logger
    celery_app.conf.worker_hijack_root_logger = False
    try:
        with django_db_blocker.unblock():
            celery_app.control.purge()
            with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
                yield
    finally:
        celery_app.conf.worker_hijack_root_logger = hijack_root_logger


def _committed(prefix: str) -> Tenant:
    slug = f"{prefix}-{uuid.uuid4().hex[:8]}"
    return tenant_provision(
        slug=slug,
        name=slug,
        owner_email=f"owner@{slug}.test",
        owner_password=None,
        plan_code="starter",
        actor=Actor.system("worker-tests"),
    ).tenant


def _eventually(check, timeout: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the worker did not roll up in time"
        time.sleep(0.2)


def test_worker_rolls_up_api_calls_per_tenant(worker: None) -> None:
    first, second = _committed("usage-w1"), _committed("usage-w2")
    try:
        key = IssuedApiKeyFactory.create(tenant=first, scopes=["usage:read"])
        client = api_client(f"{first.slug}.localhost", key.secret)
        for _ in range(5):
            assert client.get("/api/v1/me").status_code == 200
        usage_record(tenant=second, meter=Meter.CHAT_MESSAGES, quantity=3, idempotency_id="m-1")

        queued = usage_rollup_dispatch_task.delay().get(timeout=30)

        assert set(queued) == {first.schema_name, second.schema_name}
        _eventually(lambda: daily_total(first.schema_name, Meter.API_CALLS) == 5)
        _eventually(lambda: daily_total(second.schema_name, Meter.CHAT_MESSAGES) == 3)
        assert daily_total(first.schema_name, Meter.CHAT_MESSAGES) == 0
        assert daily_total(second.schema_name, Meter.API_CALLS) == 0
        body = client.get("/api/v1/subscription/usage").json()
        assert body["api_calls"]["total"] == 6  # five rolled up, plus this call, live
        assert body["performance"]["success_rate"] == 100.0
        _eventually(lambda: usage_rollup_dispatch_task.delay().get(timeout=30) == [first.schema_name])
    finally:
        _purge_now(first)
        _purge_now(second)
