"""Recording usage: `usage_record`, the one entry point every metered action calls.

One Redis round trip per event (usage.store.RECORD_SCRIPT): drop it if its idempotency id was
seen, bump the tenant's live counter, append it to the tenant's stream. The rollup
(usage.rollup) folds the stream into PostgreSQL. If Redis is unreachable, the event is written
to the tenant's PostgreSQL outbox instead and merged by the next rollup once Redis is back.
"""

from __future__ import annotations

import logging
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


def usage_event_record(*, tenant: Tenant, event: UsageEvent) -> bool:
    """`usage_record` for an event built with `usage_event_build` (the API base builds it early)."""
    schema = tenant.schema_name
    gauge = is_gauge(event.meter)
    counter = (
        store.gauge_key(schema, event.meter)
        if gauge
        else store.counter_key(schema, event.meter, UsagePeriod.of(event.occurred_at).key)
    )
    try:
        recorded = store.scripts().record(
            keys=[store.seen_key(schema, event.idempotency_id), store.stream_key(schema), counter, store.DIRTY_KEY],
            args=[
                settings.USAGE_DEDUPE_SECONDS,
                schema,
                "1" if gauge else "0",
                event.quantity,
                store.COUNTER_TTL_SECONDS,
                *event.as_stream_fields(),
            ],
        )
    except redis.RedisError:
        logger.error("Redis unreachable: usage event %s of %s written to the outbox", event.meter, schema)
        return _outbox_write(tenant=tenant, event=event)
    return bool(recorded)


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
