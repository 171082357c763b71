"""Reads of a tenant's usage: totals, time series, breakdowns, performance and costs.

Every function takes the tenant and reads its schema (aggregates in PostgreSQL, live counters
in Redis); none accepts another tenant's ids.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import redis
from django.core.cache import caches
from django.db.models import Max, QuerySet, Sum
from django_tenants.utils import schema_context

from metering.selectors import Price, model_price_map
from usage import store
from usage.meters import COUNTERS, GAUGES, Meter, TokenType, UsagePeriod, is_gauge
from usage.models import ConversationUsage, UsageDaily, UsageHourly, UsageSettings

if TYPE_CHECKING:
    from tenants.models import Tenant

logger = logging.getLogger(__name__)

USAGE_SETTINGS_CACHE_SECONDS = 300
COST_QUANTUM = Decimal("0.0001")


def usage_settings_cache_key(*, tenant: Tenant) -> str:
    return f"usage:settings:v1:{tenant.schema_name}"


def usage_settings_get(*, tenant: Tenant) -> UsageSettings:
    """The workspace's settings (defaults if never saved); cached, dropped by usage_overage_set."""
    key = usage_settings_cache_key(tenant=tenant)
    try:
        cached = caches["routing"].get(key)
    except redis.RedisError:
        cached = None
    if cached is not None:
        return UsageSettings(pk=1, overage_opt_in=cached["overage_opt_in"])
    with schema_context(tenant.schema_name):
        row = UsageSettings.objects.filter(pk=1).first() or UsageSettings(pk=1)
    try:
        caches["routing"].set(key, {"overage_opt_in": row.overage_opt_in}, USAGE_SETTINGS_CACHE_SECONDS)
    except redis.RedisError:
        logger.error("Redis unavailable: usage settings of %s not cached", tenant.schema_name)
    return row


def _daily(period: UsagePeriod, meter: str | None = None) -> QuerySet[UsageDaily]:
    rows = UsageDaily.objects.filter(day__gte=period.first_day, day__lte=period.last_day)
    return rows.filter(meter=meter) if meter else rows


def usage_period_total(*, tenant: Tenant, meter: str, period: UsagePeriod) -> int:
    """What PostgreSQL has rolled up for `meter` in `period` (a sum; for gauges the peak)."""
    with schema_context(tenant.schema_name):
        aggregate = Max("quantity") if is_gauge(meter) else Sum("quantity")
        return int(_daily(period, meter).aggregate(total=aggregate)["total"] or 0)


def usage_period_totals(*, tenant: Tenant, period: UsagePeriod) -> dict[str, int]:
    """Every meter's rolled-up total for `period` (sums; peaks for gauges), zeros included."""
    totals = dict.fromkeys(Meter.values, 0)
    with schema_context(tenant.schema_name):
        for row in _daily(period).values("meter").annotate(total=Sum("quantity"), peak=Max("quantity")):
            totals[row["meter"]] = int(row["peak"] if is_gauge(row["meter"]) else row["total"])
    return totals


def usage_live_counters(*, tenant: Tenant, period: UsagePeriod) -> dict[str, int | None]:
    """The quota counters in Redis (None where missing or Redis is unreachable)."""
    try:
        return store.counters_get(schema=tenant.schema_name, meters=COUNTERS, period=period.key)
    except redis.RedisError:
        logger.error("Redis unavailable: live usage counters of %s not read", tenant.schema_name)
        return dict.fromkeys(COUNTERS)


def usage_gauges_current(*, tenant: Tenant) -> dict[str, int]:
    """The latest level of each gauge: Redis, else the last rolled-up hour."""
    schema = tenant.schema_name
    levels: dict[str, int] = {}
    try:
        values = store.usage_redis().mget([store.gauge_key(schema, meter) for meter in sorted(GAUGES)])
    except redis.RedisError:
        values = [None] * len(GAUGES)
    for meter, value in zip(sorted(GAUGES), values, strict=True):
        if value is None:
            with schema_context(schema):
                last = UsageHourly.objects.filter(meter=meter).order_by("-hour").first()
            levels[meter] = last.quantity if last else 0
        else:
            levels[meter] = int(value)
    return levels


@dataclass(frozen=True)
class SeriesPoint:
    start: datetime | date
    quantity: int
    events: int


def usage_series(*, tenant: Tenant, meter: str, granularity: str, start: datetime, end: datetime) -> list[SeriesPoint]:
    """`meter` per hour or per day over [start, end), every bucket present (zeros included).

    Hours come from the hourly aggregates; days from the daily ones (summed over dimensions,
    or for gauges the peak). Bounds are truncated to the bucket.
    """
    gauge = is_gauge(meter)
    values: dict[datetime | date, tuple[int, int]] = {}
    buckets: list[datetime | date] = []
    with schema_context(tenant.schema_name):
        if granularity == "hour":
            first = start.replace(minute=0, second=0, microsecond=0)
            hour = first
            while hour < end:
                buckets.append(hour)
                hour += timedelta(hours=1)
            for hourly in UsageHourly.objects.filter(meter=meter, hour__gte=first, hour__lt=end):
                values[hourly.hour] = (hourly.quantity, hourly.events)
        else:
            day = start.date()
            while datetime.combine(day, datetime.min.time(), tzinfo=start.tzinfo) < end:
                buckets.append(day)
                day += timedelta(days=1)
            rows = (
                UsageDaily.objects.filter(meter=meter, day__gte=buckets[0] if buckets else start.date())
                .filter(day__lte=buckets[-1] if buckets else start.date())
                .values("day")
                .annotate(total=Max("quantity") if gauge else Sum("quantity"), count=Sum("events"))
            )
            for row in rows:
                values[row["day"]] = (int(row["total"]), int(row["count"]))
    return [SeriesPoint(bucket, *values.get(bucket, (0, 0))) for bucket in buckets]


@dataclass(frozen=True)
class Performance:
    calls: int
    avg_response_time_ms: int | None
    success_rate: float | None  # percent of calls answered 2xx/3xx
    error_rate: float | None  # percent answered 4xx/5xx


def usage_api_performance(*, tenant: Tenant, period: UsagePeriod) -> Performance:
    with schema_context(tenant.schema_name):
        sums = _daily(period, Meter.API_CALLS).aggregate(
            latency=Sum("latency_ms_sum"),
            timed=Sum("latency_count"),
            ok=Sum("success_count"),
            client=Sum("client_error_count"),
            server=Sum("server_error_count"),
        )
    timed = int(sums["timed"] or 0)
    ok, failed = int(sums["ok"] or 0), int(sums["client"] or 0) + int(sums["server"] or 0)
    answered = ok + failed
    return Performance(
        calls=answered,
        avg_response_time_ms=round(int(sums["latency"] or 0) / timed) if timed else None,
        success_rate=round(100 * ok / answered, 1) if answered else None,
        error_rate=round(100 * failed / answered, 1) if answered else None,
    )


@dataclass(frozen=True)
class BreakdownRow:
    id: str  # "" for usage without this dimension (e.g. portal sessions have no key)
    quantity: int


def usage_breakdown(*, tenant: Tenant, meter: str, period: UsagePeriod, by: str) -> list[BreakdownRow]:
    """`meter` in `period` per `by` ("key_id", "agent_id" or "user_id"), largest first."""
    if by not in ("key_id", "agent_id", "user_id"):
        raise ValueError(by)
    with schema_context(tenant.schema_name):
        rows = _daily(period, meter).values(by).annotate(total=Sum("quantity")).order_by("-total", by)
        return [BreakdownRow(row[by], int(row["total"])) for row in rows]


def _cost(prices: dict[str, Price], model: str, token_type: str, tokens: int) -> Decimal | None:
    price = prices.get(model)
    if price is None:
        return None
    per_1k = price.output_per_1k if token_type == TokenType.OUTPUT else price.input_per_1k
    return (Decimal(tokens) * per_1k / 1000).quantize(COST_QUANTUM)


@dataclass
class CostLine:
    id: str
    tokens: int = 0
    cost: Decimal = Decimal(0)
    unpriced_tokens: int = 0  # tokens of models missing from the price table

    def add(self, prices: dict[str, Price], model: str, token_type: str, tokens: int) -> None:
        cost = _cost(prices, model, token_type, tokens)
        self.tokens += tokens
        if cost is None:
            self.unpriced_tokens += tokens
        else:
            self.cost += cost


@dataclass
class CostSummary:
    currency: str
    total: CostLine
    by_agent: list[CostLine] = field(default_factory=list)
    by_model: list[CostLine] = field(default_factory=list)
    by_conversation: list[CostLine] = field(default_factory=list)


def usage_costs(*, tenant: Tenant, period: UsagePeriod, conversations: int = 20) -> CostSummary:
    """Tokens × the model's price (metering.ModelPrice, today's prices) in `period`: the total,
    per agent, per model, and the `conversations` most expensive conversations active in it."""
    prices = model_price_map()
    total = CostLine("")
    agents: dict[str, CostLine] = {}
    models: dict[str, CostLine] = {}
    with schema_context(tenant.schema_name):
        rows = _daily(period, Meter.TOKENS).values("agent_id", "model", "token_type").annotate(total=Sum("quantity"))
        for row in rows:
            tokens = int(row["total"])
            for line in (
                total,
                agents.setdefault(row["agent_id"], CostLine(row["agent_id"])),
                models.setdefault(row["model"], CostLine(row["model"])),
            ):
                line.add(prices, row["model"], row["token_type"], tokens)
        by_conversation: dict[str, CostLine] = defaultdict(lambda: CostLine(""))
        touched = ConversationUsage.objects.filter(
            meter=Meter.TOKENS, last_at__gte=period.start, first_at__lt=period.end
        ).values_list("conversation_id", "model", "token_type", "quantity")
        for conversation_id, model, token_type, tokens in touched:
            line = by_conversation[conversation_id]
            line.id = conversation_id
            line.add(prices, model, token_type, tokens)

    def ranked(lines: dict[str, CostLine]) -> list[CostLine]:
        return sorted(lines.values(), key=lambda line: (-line.cost, -line.tokens, line.id))

    return CostSummary(
        currency="USD",
        total=total,
        by_agent=ranked(agents),
        by_model=ranked(models),
        by_conversation=ranked(by_conversation)[:conversations],
    )


def usage_daily_export(*, tenant: Tenant, period: UsagePeriod) -> Iterator[UsageDaily]:
    """Every daily aggregate row of `period`, for the CSV export."""
    with schema_context(tenant.schema_name):
        rows = list(_daily(period).order_by("day", "meter", "key_id", "user_id", "agent_id", "model", "token_type"))
    yield from rows
