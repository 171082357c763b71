"""Monthly quotas, enforced atomically at request time: `quota_consume`.

One Redis script checks and consumes (usage.store.CONSUME_SCRIPT), so with 100 units left and
300 concurrent requests exactly 100 succeed. The counter it checks is the one `usage_record`
bumps, so usage recorded without a quota check (tokens counted after a model call) counts
against the quota too. A workspace with overage billing that opted in is never stopped; the
rollup bills what goes past the limit.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import redis
from django.conf import settings
from django.utils import timezone
from kombu.exceptions import OperationalError

from billing.entitlements import Entitlements, entitlements_for
from billing.models import Feature
from config.errors import QuotaExceeded
from usage import store
from usage.meters import COUNTERS, METER_LIMITS, Meter, UsagePeriod

if TYPE_CHECKING:
    from tenants.models import Tenant

logger = logging.getLogger(__name__)

NOT_ENFORCED = -1


@dataclass(frozen=True)
class QuotaDecision:
    used: int | None  # after this consumption; None if Redis was unreachable (not enforced)
    limit: int | None  # None: unlimited
    period: UsagePeriod
    is_overage: bool = False  # past the limit, allowed because the workspace opted in to overage


def quota_consume(
    *,
    tenant: Tenant,
    meter: str,
    quantity: int,
    idempotency_id: str,
    entitlements: Entitlements | None = None,
    now: datetime | None = None,
) -> QuotaDecision:
    """Consume `quantity` of this month's `meter` quota, or raise `QuotaExceeded` (nothing consumed).
    A `quantity` of 0 checks that at least one unit is left (for an action whose size is only known
    afterwards, such as a model reply's tokens).

    Idempotent per `idempotency_id`: a retry is allowed without consuming again, and the
    `usage_record` with the same id does not count the units a second time. `entitlements`
    may be passed by a caller that already has them. If Redis is unreachable the request is
    allowed (logged; the events go to the outbox and still count once merged).
    """
    if meter not in COUNTERS:
        raise ValueError(f"{meter!r} has no monthly quota")
    period = UsagePeriod.of(now or timezone.now())
    entitlements = entitlements or entitlements_for(tenant=tenant)
    limit = entitlements.limits[METER_LIMITS[meter]]
    try:
        status, used = _consume(tenant, meter, quantity, idempotency_id, period, limit)
        if status == 1:
            _announce_crossing(tenant, meter, used - quantity, used, limit, period)
            return QuotaDecision(used=used, limit=limit, period=period)
        if overage_active(tenant=tenant, entitlements=entitlements):
            status, used = _consume(tenant, meter, quantity, idempotency_id, period, None)
            _announce_crossing(tenant, meter, used - quantity, used, limit, period)
            return QuotaDecision(used=used, limit=limit, period=period, is_overage=True)
    except redis.RedisError:
        logger.error("Redis unreachable: %s quota of %s not enforced", meter, tenant.schema_name)
        return QuotaDecision(used=None, limit=limit, period=period)
    assert limit is not None
    raise _exceeded(meter, limit, used, period)


def quota_release(*, tenant: Tenant, meter: str, quantity: int, idempotency_id: str, period: UsagePeriod) -> bool:
    """Give back what `quota_consume` took under `idempotency_id` in `period` when the action then
    failed before its `usage_record` (e.g. the model provider failed): the customer pays only for
    what happened. A no-op (False) once the id is recorded, or for an unknown id. Never raises for
    an unreachable Redis (logged: the unit then stays consumed until the month's counter is reseeded
    from PostgreSQL, which never saw it)."""
    schema = tenant.schema_name
    keys = [store.seen_key(schema, idempotency_id), store.counter_key(schema, meter, period.key)]
    try:
        return bool(store.scripts().release(keys=keys, args=[quantity]))
    except redis.RedisError:
        logger.error("Redis unreachable: %s quota of %s not released", meter, schema)
        return False


def _consume(
    tenant: Tenant, meter: str, quantity: int, idempotency_id: str, period: UsagePeriod, limit: int | None
) -> tuple[int, int]:
    schema = tenant.schema_name
    keys = [store.seen_key(schema, idempotency_id), store.counter_key(schema, meter, period.key)]
    args = [quantity, NOT_ENFORCED if limit is None else limit, settings.USAGE_DEDUPE_SECONDS, _counter_ttl(period)]
    status, used = store.scripts().consume(keys=keys, args=[*args, ""])
    if status == -1:  # first use this month, or Redis lost the counter: start from what PostgreSQL has
        from usage.selectors import usage_period_total

        seed = usage_period_total(tenant=tenant, meter=meter, period=period)
        status, used = store.scripts().consume(keys=keys, args=[*args, seed])
    return int(status), int(used)


def _counter_ttl(period: UsagePeriod) -> int:
    return max(store.COUNTER_TTL_SECONDS, int((period.end - timezone.now()).total_seconds()) + 35 * 86400)


def overage_active(*, tenant: Tenant, entitlements: Entitlements | None = None) -> bool:
    """The plan has overage billing and an owner or admin opted in on the usage page."""
    entitlements = entitlements or entitlements_for(tenant=tenant)
    if not entitlements.has_feature(Feature.OVERAGE_BILLING):
        return False
    from usage.selectors import usage_settings_get

    return usage_settings_get(tenant=tenant).overage_opt_in


def _exceeded(meter: str, limit: int, used: int, period: UsagePeriod) -> QuotaExceeded:
    retry_after = max(1, math.ceil((period.end - timezone.now()).total_seconds()))
    return QuotaExceeded(
        f"This workspace has used its {limit:,} {Meter(meter).label} for {period.key}. "
        f"The quota resets at {period.end.isoformat()}; upgrade the plan to continue now.",
        extra={
            "meter": meter,
            "limit": METER_LIMITS[meter],
            "allowed": limit,
            "current_usage": used,
            "reset_at": period.end.isoformat().replace("+00:00", "Z"),
            "retry_after": retry_after,
        },
    )


def _announce_crossing(
    tenant: Tenant, meter: str, before: int, after: int, limit: int | None, period: UsagePeriod
) -> None:
    """Queue the alert check when this consumption crossed a whole percent of the limit (alert
    thresholds are whole percents, per workspace); the request never waits for it."""
    if not limit or after == before or (100 * before) // limit == (100 * after) // limit:
        return
    from usage.tasks import usage_thresholds_evaluate_task

    try:
        usage_thresholds_evaluate_task.apply_async(
            kwargs={"meter": meter, "used": after, "limit": limit, "period": period.key},
            headers={"_schema_name": tenant.schema_name},
            retry=False,
        )
    except (OperationalError, redis.RedisError):  # a broker outage must not fail the request
        logger.error("broker unreachable: %s threshold check of %s left to the rollup", meter, tenant.schema_name)
