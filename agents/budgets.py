"""Agents' daily budgets: tokens and money spent per agent per UTC day, kept in Redis.

Chat and the task runner call `agent_budget_check` before a completion and
`agent_budget_consume` after it. The counters are one Redis hash per schema, agent and UTC day:

    budget:{<schema>}:agent:<agent id>:<YYYY-MM-DD>   {"tokens": int, "cost_micros": int}

The schema is in every key (and is a Redis Cluster hash tag), so two workspaces whose agents
happen to share an id never share a counter. Money is in USD, like the model price table
(metering.ModelPrice) that chat and task costs come from, and is counted in millionths of a dollar
so concurrent increments stay exact integers (HINCRBY). A key expires two days after
its day began; a new day is a new key, which is the whole reset.

Redis being down must not stop every agent: the check then allows, the spend is not counted,
and both are logged as errors (the monthly quotas in PostgreSQL still bound the damage).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

import redis
from django.utils import timezone

from config.errors import AgentBudgetExceeded
from conversations.costs import COST_CURRENCY
from tenants.context import current_schema
from usage.store import usage_redis

if TYPE_CHECKING:
    from agents.models import Agent

logger = logging.getLogger(__name__)

BUDGET_CURRENCY = COST_CURRENCY  # USD: costs are priced with the platform's model price table
MICROS = Decimal("1000000")
KEY_TTL_SECONDS = 2 * 86400


@dataclass(frozen=True)
class DaySpend:
    tokens: int
    cost: Decimal


def budget_day(now: datetime | None = None) -> str:
    return (now or timezone.now()).astimezone(UTC).strftime("%Y-%m-%d")


def budget_resets_at(now: datetime | None = None) -> datetime:
    """The next UTC midnight: when today's counters stop counting."""
    today = (now or timezone.now()).astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=1)


def budget_key(*, schema: str, agent_id: str, day: str) -> str:
    return f"budget:{{{schema}}}:agent:{agent_id}:{day}"


def _cost_micros(cost: Decimal) -> int:
    return int((Decimal(cost) * MICROS).to_integral_value(rounding=ROUND_HALF_UP))


def _spend_read(*, agent_id: str) -> DaySpend:
    """Today's spend; raises redis.RedisError when Redis cannot be reached."""
    values = usage_redis().hmget(
        budget_key(schema=current_schema(), agent_id=agent_id, day=budget_day()), ["tokens", "cost_micros"]
    )
    tokens, micros = (int(value or 0) for value in values)  # type: ignore[union-attr]
    return DaySpend(tokens=tokens, cost=Decimal(micros) / MICROS)


def agent_budget_check(*, agent: Agent) -> None:
    """Raise `AgentBudgetExceeded` (429) when the agent has used up today's token or money budget.

    An agent without budgets is never refused. `extra`: `agent_id`, `limit`
    (`daily_token_budget` or `daily_cost_budget`), `budget` and `spent` (decimal strings: tokens,
    or money in `currency`, always USD), `resets_at` and `retry_after`. Allows (and logs) when Redis is down.
    """
    if agent.daily_token_budget is None and agent.daily_cost_budget is None:
        return
    try:
        spend = _spend_read(agent_id=agent.pk)
    except redis.RedisError:
        logger.error("Redis unreachable: budget of agent %s in %s not checked", agent.pk, current_schema())
        return
    if agent.daily_token_budget is not None and spend.tokens >= agent.daily_token_budget:
        _refuse(agent, limit="daily_token_budget", budget=str(agent.daily_token_budget), spent=str(spend.tokens))
    if agent.daily_cost_budget is not None and spend.cost >= agent.daily_cost_budget:
        _refuse(agent, limit="daily_cost_budget", budget=str(agent.daily_cost_budget), spent=str(spend.cost))


def _refuse(agent: Agent, *, limit: str, budget: str, spent: str) -> None:
    resets_at = budget_resets_at()
    what = "tokens" if limit == "daily_token_budget" else "money"
    raise AgentBudgetExceeded(
        f"The agent “{agent.name}” has used its daily {what} budget ({budget}). It resets at {resets_at.isoformat()}.",
        extra={
            "agent_id": agent.pk,
            "limit": limit,
            "budget": budget,
            "spent": spent,
            "currency": BUDGET_CURRENCY,
            "resets_at": resets_at.isoformat().replace("+00:00", "Z"),
            "retry_after": max(1, int((resets_at - timezone.now()).total_seconds())),
        },
    )


def agent_budget_consume(*, agent: Agent, tokens: int, cost: Decimal) -> None:
    """Add `tokens` and `cost` to the agent's spend today, atomically (one MULTI/EXEC).

    Never raises for Redis: when it is down the spend is logged and not counted.
    """
    if tokens < 0 or cost < 0:
        raise ValueError("tokens and cost must not be negative")
    key = budget_key(schema=current_schema(), agent_id=agent.pk, day=budget_day())
    try:
        pipe = usage_redis().pipeline(transaction=True)
        pipe.hincrby(key, "tokens", int(tokens))
        pipe.hincrby(key, "cost_micros", _cost_micros(cost))
        pipe.expire(key, KEY_TTL_SECONDS)
        pipe.execute()
    except redis.RedisError:
        logger.error(
            "Redis unreachable: %s tokens and %s spent by agent %s in %s not counted",
            tokens,
            cost,
            agent.pk,
            current_schema(),
        )


def agent_budget_remaining(*, agent: Agent) -> dict[str, Any]:
    """What the agent may still spend today: {"tokens": int | None, "cost": Decimal | None}
    (None: no budget). Treats an unreachable Redis as nothing spent."""
    spend = _spend_or_zero(agent)
    return {
        "tokens": None if agent.daily_token_budget is None else max(0, agent.daily_token_budget - spend.tokens),
        "cost": None if agent.daily_cost_budget is None else max(Decimal("0"), agent.daily_cost_budget - spend.cost),
    }


def _spend_or_zero(agent: Agent) -> DaySpend:
    try:
        return _spend_read(agent_id=agent.pk)
    except redis.RedisError:
        logger.error("Redis unreachable: spend of agent %s in %s read as zero", agent.pk, current_schema())
        return DaySpend(tokens=0, cost=Decimal("0"))


def agent_spend_today(*, agent: Agent) -> dict[str, Any]:
    """Today's spend and budgets: `tokens`, `cost`, `token_budget`, `cost_budget`, `currency`,
    `day` (UTC date) and `resets_at`. Reads zero when Redis is down (logged)."""
    spend = _spend_or_zero(agent)
    return {
        "day": budget_day(),
        "tokens": spend.tokens,
        "cost": spend.cost,
        "token_budget": agent.daily_token_budget,
        "cost_budget": agent.daily_cost_budget,
        "currency": BUDGET_CURRENCY,
        "resets_at": budget_resets_at(),
    }
