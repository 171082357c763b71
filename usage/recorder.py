"""Recording usage: `usage_record`, the one entry point every metered action calls.

One Redis round trip per event (usage.store.RECORD_SCRIPT), or per batch with
`usage_record_many` (the same script per event, pipelined): drop it if its idempotency id was
seen, bump the tenant's live counter, append it to the tenant's stream. The rollup
(usage.rollup) folds the stream into PostgreSQL. If Redis is unreachable, the event is written
to the tenant's PostgreSQL outbox instead and merged by the next rollup once Redis is back.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import redis
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from usage import store
from usage.events import UsageEvent
from usage.meters import Meter, Outcome, TokenType, UsagePeriod, is_gauge

if TYPE_CHECKING:
    from tenants.models import Tenant

logger = logging.getLogger(__name__)

MAX_IDEMPOTENCY_ID_LENGTH = 200


def _text(value: object | None) -> str:
    return "" if value is None else str(value)


def usage_event_build(
    *,
    meter: str,
    quantity: int,
    idempotency_id: str,
    occurred_at: datetime | None = None,
    key_id: str | None = None,
    user_id: str | int | None = None,
    agent_id: str | int | None = None,
    conversation_id: str | int | None = None,
    latency_ms: int | None = None,
    outcome: str | None = None,
    model: str | None = None,
    token_type: str | None = None,
) -> UsageEvent:
    """A validated event. Raises ValueError for a programming mistake (unknown meter, negative
    quantity, empty or overlong idempotency id, unknown outcome or token type)."""
    if meter not in Meter.values:
        raise ValueError(f"unknown meter {meter!r}")
    if not isinstance(quantity, int) or quantity < 0:
        raise ValueError(f"quantity must be a non-negative int, not {quantity!r}")
    if not idempotency_id or len(idempotency_id) > MAX_IDEMPOTENCY_ID_LENGTH:
        raise ValueError("idempotency_id must be 1 to 200 characters")
    if outcome is not None and outcome not in Outcome.values:
        raise ValueError(f"unknown outcome {outcome!r}")
    if token_type is not None and token_type not in TokenType.values:
        raise ValueError(f"unknown token type {token_type!r}")
    return UsageEvent(
        meter=meter,
        quantity=quantity,
        idempotency_id=idempotency_id,
        occurred_at=occurred_at or timezone.now(),
        key_id=_text(key_id),
        user_id=_text(user_id),
        agent_id=_text(agent_id),
        conversation_id=_text(conversation_id),
        model=_text(model),
        token_type=_text(token_type),
        latency_ms=None if latency_ms is None else max(0, int(latency_ms)),
        outcome=_text(outcome),
    )


def usage_record(
    *,
    tenant: Tenant,
    meter: str,
    quantity: int,
    idempotency_id: str,
    occurred_at: datetime | None = None,
    key_id: str | None = None,
    user_id: str | int | None = None,
    agent_id: str | int | None = None,
    conversation_id: str | int | None = None,
    latency_ms: int | None = None,
    outcome: str | None = None,
    model: str | None = None,
    token_type: str | None = None,
) -> bool:
    """Record `quantity` of `meter` for `tenant`, once per `idempotency_id`.

    For gauges (`storage_bytes`, `active_agents`) `quantity` is the current level, not an
    increment. `model` (`<provider>/<model>`, as in the price table) and `token_type`
    (`input`/`output`) price `tokens`. Returns False when the id was already recorded (within
    USAGE_DEDUPE_SECONDS), True otherwise. Never raises for an unreachable Redis: the event
    then goes to the PostgreSQL outbox, inside the caller's transaction if there is one.
    """
    event = usage_event_build(
        meter=meter,
        quantity=quantity,
        idempotency_id=idempotency_id,
        occurred_at=occurred_at,
        key_id=key_id,
        user_id=user_id,
        agent_id=agent_id,
        conversation_id=conversation_id,
        latency_ms=latency_ms,
        outcome=outcome,
        model=model,
        token_type=token_type,
    )
    return usage_event_record(tenant=tenant, event=event)


def _record_call(*, schema: str, event: UsageEvent) -> tuple[list[str], list[store.RedisArg]]:
    """KEYS and ARGV of RECORD_SCRIPT for `event`."""
    gauge = is_gauge(event.meter)
    counter = (
        store.gauge_key(schema, event.meter)
        if gauge
        else store.counter_key(schema, event.meter, UsagePeriod.of(event.occurred_at).key)
    )
    keys = [store.seen_key(schema, event.idempotency_id), store.stream_key(schema), counter, store.DIRTY_KEY]
    args: list[store.RedisArg] = [
        settings.USAGE_DEDUPE_SECONDS,
        schema,
        "1" if gauge else "0",
        event.quantity,
        store.COUNTER_TTL_SECONDS,
        *event.as_stream_fields(),
    ]
    return keys, args


def usage_event_record(*, tenant: Tenant, event: UsageEvent) -> bool:
    """`usage_record` for an event built with `usage_event_build` (the API base builds it early)."""
    keys, args = _record_call(schema=tenant.schema_name, event=event)
    try:
        recorded = store.scripts().record(keys=keys, args=args)
    except redis.RedisError:
        logger.error("Redis unreachable: usage event %s of %s written to the outbox", event.meter, tenant.schema_name)
        return _outbox_write(tenant=tenant, event=event)
    return bool(recorded)


def usage_record_many(*, tenant: Tenant, events: Sequence[UsageEvent]) -> list[bool]:
    """Record many events of `tenant` (built with `usage_event_build`) in one Redis round trip.

    The same script as `usage_record`, once per event, pipelined: Redis runs them one after
    another, so an idempotency id repeated within the batch, or already seen in an earlier
    batch or by `usage_record`, counts once. Returns, per event in order, whether it was
    recorded (False: a duplicate). If Redis fails, the whole batch goes to the PostgreSQL outbox;
    events the pipeline did record before the failure are then skipped by the outbox merge,
    which checks the same idempotency keys, so nothing counts twice.
    """
    if not events:
        return []
    schema = tenant.schema_name
    try:
        results = store.record_many([_record_call(schema=schema, event=event) for event in events])
    except redis.RedisError:
        logger.error("Redis unreachable: %d usage events of %s written to the outbox", len(events), schema)
        return [_outbox_write(tenant=tenant, event=event) for event in events]
    return [bool(result) for result in results]


def _outbox_write(*, tenant: Tenant, event: UsageEvent) -> bool:
    from metering.services import outbox_pending_mark

    with schema_context(tenant.schema_name):
        try:
            with transaction.atomic():
                event.as_outbox_row().save(force_insert=True)
        except IntegrityError:
            return False  # this idempotency id is already in the outbox
    outbox_pending_mark(tenant=tenant)
    return True
