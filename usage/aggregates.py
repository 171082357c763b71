"""Folding usage events into the tenant's aggregate tables: one upsert per table and batch.

Each call adds a batch of events to the hourly, daily and per-conversation rows (INSERT … ON
CONFLICT DO UPDATE, quantity += or, for gauges, the higher level). The upsert itself is not
idempotent: the rollup makes each event reach it exactly once (usage.rollup).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from django.db import connection

from usage.events import UsageEvent
from usage.meters import GAUGES, UsagePeriod, is_gauge
from usage.models import ConversationUsage, UsageDaily, UsageHourly

_GAUGE_LIST = ", ".join(f"'{meter}'" for meter in sorted(GAUGES))


def _quantity_update(table: str) -> str:
    return (
        f"quantity = CASE WHEN EXCLUDED.meter IN ({_GAUGE_LIST}) "
        f"THEN GREATEST({table}.quantity, EXCLUDED.quantity) ELSE {table}.quantity + EXCLUDED.quantity END"
    )


# The SQL below is built from model table and column names only; values are always parameters.
_HOURLY = UsageHourly._meta.db_table
_DAILY = UsageDaily._meta.db_table
_CONVERSATION = ConversationUsage._meta.db_table

HOURLY_UPSERT = f"""
INSERT INTO {_HOURLY} (meter, hour, quantity, events) VALUES (%s, %s, %s, %s)
ON CONFLICT (meter, hour) DO UPDATE SET {_quantity_update(_HOURLY)}, events = {_HOURLY}.events + EXCLUDED.events
"""  # noqa: S608

_DAILY_SUMS = ("events", "latency_ms_sum", "latency_count", "success_count", "client_error_count", "server_error_count")
DAILY_UPSERT = f"""
INSERT INTO {_DAILY} (meter, day, key_id, user_id, agent_id, model, token_type, quantity, {", ".join(_DAILY_SUMS)})
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (meter, day, key_id, user_id, agent_id, model, token_type) DO UPDATE SET {_quantity_update(_DAILY)},
{", ".join(f"{name} = {_DAILY}.{name} + EXCLUDED.{name}" for name in _DAILY_SUMS)}
"""  # noqa: S608

CONVERSATION_UPSERT = f"""
INSERT INTO {_CONVERSATION} (conversation_id, meter, model, token_type, agent_id, quantity, events, first_at, last_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (conversation_id, meter, model, token_type) DO UPDATE SET {_quantity_update(_CONVERSATION)},
events = {_CONVERSATION}.events + EXCLUDED.events,
agent_id = COALESCE(NULLIF(EXCLUDED.agent_id, ''), {_CONVERSATION}.agent_id),
first_at = LEAST({_CONVERSATION}.first_at, EXCLUDED.first_at),
last_at = GREATEST({_CONVERSATION}.last_at, EXCLUDED.last_at)
"""  # noqa: S608


@dataclass
class Touched:
    """What a batch changed: the (meter, period) pairs whose totals moved."""

    periods: dict[str, set[str]] = field(default_factory=dict)  # period key → meters
    events: int = 0

    def add(self, meter: str, moment: datetime) -> None:
        self.periods.setdefault(UsagePeriod.of(moment).key, set()).add(meter)
        self.events += 1

    def merge(self, other: Touched) -> None:
        for period, meters in other.periods.items():
            self.periods.setdefault(period, set()).update(meters)
        self.events += other.events


def _combine(current: list[int] | None, quantity: int, gauge: bool) -> list[int]:
    if current is None:
        return [quantity, 1]
    current[0] = max(current[0], quantity) if gauge else current[0] + quantity
    current[1] += 1
    return current


def _outcome_counts(outcome: str) -> tuple[int, int, int]:
    if outcome in ("2xx", "3xx"):
        return 1, 0, 0
    if outcome == "4xx":
        return 0, 1, 0
    if outcome == "5xx":
        return 0, 0, 1
    return 0, 0, 0


def aggregates_add(events: Iterable[UsageEvent]) -> Touched:
    """Add `events` to the aggregates of the schema the connection is on (inside the caller's transaction)."""
    hourly: dict[tuple[str, datetime], list[int]] = {}
    daily: dict[tuple[str, date, str, str, str, str, str], list[int]] = {}
    conversations: dict[tuple[str, str, str, str], list] = {}  # type: ignore[type-arg]
    touched = Touched()
    for event in events:
        gauge = is_gauge(event.meter)
        moment = event.occurred_at.astimezone(UTC)
        touched.add(event.meter, moment)
        hour_key = (event.meter, moment.replace(minute=0, second=0, microsecond=0))
        hourly[hour_key] = _combine(hourly.get(hour_key), event.quantity, gauge)
        day_key = (
            event.meter,
            moment.date(),
            event.key_id,
            event.user_id,
            event.agent_id,
            event.model,
            event.token_type,
        )
        row = daily.get(day_key)
        if row is None:
            row = daily[day_key] = [0, 0, 0, 0, 0, 0, 0]
            row[0] = event.quantity
        else:
            row[0] = max(row[0], event.quantity) if gauge else row[0] + event.quantity
        row[1] += 1
        if event.latency_ms is not None:
            row[2] += event.latency_ms
            row[3] += 1
        ok, client, server = _outcome_counts(event.outcome)
        row[4] += ok
        row[5] += client
        row[6] += server
        if event.conversation_id:
            conversation_key = (event.conversation_id, event.meter, event.model, event.token_type)
            found = conversations.get(conversation_key)
            if found is None:
                conversations[conversation_key] = [event.agent_id, event.quantity, 1, moment, moment]
            else:
                found[0] = event.agent_id or found[0]
                found[1] = max(found[1], event.quantity) if gauge else found[1] + event.quantity
                found[2] += 1
                found[3], found[4] = min(found[3], moment), max(found[4], moment)
    with connection.cursor() as cursor:
        if hourly:
            cursor.executemany(HOURLY_UPSERT, [(*key, *values) for key, values in sorted(hourly.items())])
        if daily:
            cursor.executemany(DAILY_UPSERT, [(*key, *values) for key, values in sorted(daily.items())])
        if conversations:
            cursor.executemany(CONVERSATION_UPSERT, [(*key, *values) for key, values in sorted(conversations.items())])
    return touched
