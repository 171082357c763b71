"""Quotas: atomic at request time, idempotent per id, overage for opted-in workspaces."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from django.db import connections
from django.test import override_settings
from django_tenants.utils import schema_context

from audit.services import Actor
from billing.entitlements import Entitlements, entitlements_for
from billing.models import Feature, Limit, OverageRecord
from billing.tests.factories import override_give
from config.errors import FeatureNotInPlan, QuotaExceeded
from usage import store
from usage.meters import Meter, UsagePeriod
from usage.models import OverageReport
from usage.quotas import quota_consume, quota_release
from usage.recorder import usage_record
from usage.rollup import usage_rollup
from usage.services import usage_overage_set

OWNER = Actor.system("tests")


def _with_limit(tenant, limit: int | None) -> Entitlements:  # type: ignore[no-untyped-def]
    base = entitlements_for(tenant=tenant)
    return Entitlements(
        plan=base.plan, features=base.features, limits={**base.limits, Limit.API_CALLS_PER_MONTH: limit}
    )


def _counter(schema: str) -> int | None:
    period = UsagePeriod.of(datetime.now(UTC)).key
    return store.counters_get(schema=schema, meters=[Meter.API_CALLS], period=period)[Meter.API_CALLS]


def test_quota_consume_300_concurrent_with_100_left_admits_exactly_100(tenant_a):
    tenant = tenant_a.tenant
    entitlements = _with_limit(tenant, 1000)
    period = UsagePeriod.of(datetime.now(UTC)).key
    store.usage_redis().set(store.counter_key(tenant.schema_name, Meter.API_CALLS, period), 900)
    barrier = threading.Barrier(300)
    admitted: list[int] = []
    refused: list[QuotaExceeded] = []
    lock = threading.Lock()

    def call(n: int) -> None:
        barrier.wait()
        try:
            quota_consume(
                tenant=tenant, meter=Meter.API_CALLS, quantity=1, idempotency_id=f"call-{n}", entitlements=entitlements
            )
        except QuotaExceeded as error:
            with lock:
                refused.append(error)
        else:
            with lock:
                admitted.append(n)
        finally:
            connections.close_all()  # this thread's own (announcing a crossing reads PostgreSQL)

    threads = [threading.Thread(target=call, args=(n,)) for n in range(300)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert (len(admitted), len(refused)) == (100, 200)
    assert _counter(tenant.schema_name) == 1000
    problem = refused[0]
    assert problem.extra["allowed"] == 1000 and problem.extra["current_usage"] == 1000
    assert problem.extra["limit"] == Limit.API_CALLS_PER_MONTH
    assert problem.extra["reset_at"] == UsagePeriod.of(datetime.now(UTC)).end.isoformat().replace("+00:00", "Z")
    assert problem.extra["retry_after"] > 0


def test_quota_consume_is_idempotent_and_the_record_does_not_count_twice(tenant_a):
    tenant = tenant_a.tenant
    entitlements = _with_limit(tenant, 10)
    for _ in range(3):
        quota_consume(
            tenant=tenant, meter=Meter.API_CALLS, quantity=2, idempotency_id="job-1", entitlements=entitlements
        )
    assert _counter(tenant.schema_name) == 2

    usage_record(tenant=tenant, meter=Meter.API_CALLS, quantity=2, idempotency_id="job-1")
    usage_record(tenant=tenant, meter=Meter.API_CALLS, quantity=4, idempotency_id="after-the-fact")

    assert _counter(tenant.schema_name) == 6  # the record of job-1 added nothing; the other one did
    with pytest.raises(QuotaExceeded):
        quota_consume(
            tenant=tenant, meter=Meter.API_CALLS, quantity=5, idempotency_id="job-2", entitlements=entitlements
        )
    assert _counter(tenant.schema_name) == 6  # a refusal consumes nothing


def test_quota_consume_seeds_a_missing_counter_from_postgresql(tenant_a):
    tenant = tenant_a.tenant
    for n in range(7):
        usage_record(tenant=tenant, meter=Meter.API_CALLS, quantity=1, idempotency_id=f"old-{n}")
    usage_rollup(tenant=tenant)
    store.usage_redis().flushdb()  # Redis lost everything

    with pytest.raises(QuotaExceeded) as refused:
        quota_consume(
            tenant=tenant, meter=Meter.API_CALLS, quantity=1, idempotency_id="new", entitlements=_with_limit(tenant, 7)
        )
    assert refused.value.extra["current_usage"] == 7


def test_quota_consume_unlimited_still_counts(tenant_a):
    decision = quota_consume(
        tenant=tenant_a.tenant,
        meter=Meter.API_CALLS,
        quantity=3,
        idempotency_id="x",
        entitlements=_with_limit(tenant_a.tenant, None),
    )
    assert (decision.used, decision.limit) == (3, None)


def test_quota_consume_redis_down_fails_open(tenant_a):
    with override_settings(USAGE_REDIS_URL="redis://127.0.0.1:1/0"):
        decision = quota_consume(
            tenant=tenant_a.tenant,
            meter=Meter.API_CALLS,
            quantity=1,
            idempotency_id="x",
            entitlements=_with_limit(tenant_a.tenant, 0),
        )
    assert decision.used is None


def test_overage_opt_in_needs_the_feature(tenant_b):
    with pytest.raises(FeatureNotInPlan):
        usage_overage_set(tenant=tenant_b.tenant, opt_in=True, actor=OWNER)


def test_overage_opted_in_is_not_stopped_and_is_reported_once_to_billing(tenant_a):
    tenant = tenant_a.tenant
    override_give(tenant, limits={Limit.API_CALLS_PER_MONTH: 5})
    assert entitlements_for(tenant=tenant).has_feature(Feature.OVERAGE_BILLING)
    usage_overage_set(tenant=tenant, opt_in=True, actor=OWNER)

    for n in range(8):
        decision = quota_consume(tenant=tenant, meter=Meter.API_CALLS, quantity=1, idempotency_id=f"c{n}")
        usage_record(tenant=tenant, meter=Meter.API_CALLS, quantity=1, idempotency_id=f"c{n}")
    assert decision.is_overage and decision.used == 8
    usage_rollup(tenant=tenant)
    for n in range(8, 10):
        usage_record(tenant=tenant, meter=Meter.API_CALLS, quantity=1, idempotency_id=f"c{n}")
    usage_rollup(tenant=tenant)
    usage_rollup(tenant=tenant)  # nothing new: nothing more reported

    with schema_context(tenant.schema_name):
        reports = list(OverageReport.objects.order_by("through").values_list("through", "quantity", "reported_at"))
    assert [(through, quantity) for through, quantity, _ in reports] == [(3, 3), (5, 2)]
    assert all(reported_at is not None for _, _, reported_at in reports)
    records = OverageRecord.objects.filter(tenant_id=tenant.pk).order_by("quantity")
    period = UsagePeriod.of(datetime.now(UTC)).key
    assert [(r.meter, r.quantity, r.identifier) for r in records] == [
        (Meter.API_CALLS, 2, f"{tenant.schema_name}:api_calls:{period}:5"),
        (Meter.API_CALLS, 3, f"{tenant.schema_name}:api_calls:{period}:3"),
    ]


def test_overage_not_opted_in_stops_at_the_limit(tenant_a):
    tenant = tenant_a.tenant
    override_give(tenant, limits={Limit.API_CALLS_PER_MONTH: 2})
    quota_consume(tenant=tenant, meter=Meter.API_CALLS, quantity=2, idempotency_id="a")
    with pytest.raises(QuotaExceeded):
        quota_consume(tenant=tenant, meter=Meter.API_CALLS, quantity=1, idempotency_id="b")


def test_quota_release_gives_back_a_unit_whose_action_failed_and_nothing_once_recorded(tenant_a):
    tenant = tenant_a.tenant
    entitlements = _with_limit(tenant, 1000)
    period = UsagePeriod.of(datetime.now(UTC))
    store.usage_redis().set(store.counter_key(tenant.schema_name, Meter.API_CALLS, period.key), 10)
    release = {"tenant": tenant, "meter": Meter.API_CALLS, "quantity": 1, "period": period}

    quota_consume(tenant=tenant, meter=Meter.API_CALLS, quantity=1, idempotency_id="failed", entitlements=entitlements)
    assert _counter(tenant.schema_name) == 11
    assert quota_release(idempotency_id="failed", **release) is True
    assert _counter(tenant.schema_name) == 10
    assert quota_release(idempotency_id="failed", **release) is False  # twice gives back once
    assert quota_release(idempotency_id="never-consumed", **release) is False
    assert _counter(tenant.schema_name) == 10

    quota_consume(tenant=tenant, meter=Meter.API_CALLS, quantity=1, idempotency_id="done", entitlements=entitlements)
    usage_record(tenant=tenant, meter=Meter.API_CALLS, quantity=1, idempotency_id="done")
    assert quota_release(idempotency_id="done", **release) is False  # recorded: it happened, it counts
    assert _counter(tenant.schema_name) == 11
