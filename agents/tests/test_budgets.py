"""Agents' daily budgets (agents.budgets): counting, refusing, per-tenant counters, the UTC day
rollover, and an unreachable Redis."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.test import override_settings
from django_tenants.utils import schema_context

from agents.budgets import agent_budget_check, agent_budget_consume, agent_budget_remaining, agent_spend_today
from agents.models import Agent
from agents.tests.factories import AgentFactory
from config.errors import AgentBudgetExceeded

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture
def alpha(tenant_a):
    with schema_context(tenant_a.schema):
        yield tenant_a


def _agent(**budgets: object) -> Agent:
    return AgentFactory.create(status="active", **budgets)


def test_agent_budget_check_never_refuses_an_agent_without_budgets(alpha):
    agent = _agent()
    agent_budget_consume(agent=agent, tokens=10**9, cost=Decimal("100000"))

    agent_budget_check(agent=agent)

    assert agent_spend_today(agent=agent)["tokens"] == 10**9


def test_agent_budget_check_refuses_once_the_token_budget_is_used(alpha):
    agent = _agent(daily_token_budget=1000)
    agent_budget_consume(agent=agent, tokens=999, cost=Decimal("0"))
    agent_budget_check(agent=agent)  # one token left: allowed

    agent_budget_consume(agent=agent, tokens=5, cost=Decimal("0"))
    with pytest.raises(AgentBudgetExceeded) as excinfo:
        agent_budget_check(agent=agent)

    extra = excinfo.value.extra
    assert (excinfo.value.status, excinfo.value.code) == (429, "agent_budget_exceeded")
    assert (extra["agent_id"], extra["limit"], extra["budget"], extra["spent"]) == (
        agent.pk,
        "daily_token_budget",
        "1000",
        "1004",
    )
    assert extra["resets_at"].endswith("T00:00:00Z") and extra["retry_after"] > 0


def test_agent_budget_check_refuses_once_the_money_budget_is_used(alpha):
    agent = _agent(daily_cost_budget=Decimal("0.05"))
    for _ in range(4):
        agent_budget_consume(agent=agent, tokens=10, cost=Decimal("0.0125"))
    with pytest.raises(AgentBudgetExceeded) as excinfo:
        agent_budget_check(agent=agent)

    assert (excinfo.value.extra["limit"], excinfo.value.extra["spent"]) == ("daily_cost_budget", "0.05")
    assert agent_budget_remaining(agent=agent) == {"tokens": None, "cost": Decimal("0")}


def test_agent_budget_counters_are_exact_decimals(alpha):
    agent = _agent()
    for _ in range(3):
        agent_budget_consume(agent=agent, tokens=1, cost=Decimal("0.000001"))

    spend = agent_spend_today(agent=agent)

    assert (spend["tokens"], spend["cost"], spend["currency"]) == (3, Decimal("0.000003"), "USD")


def test_agent_budget_counters_are_per_agent(alpha):
    spender, other = _agent(daily_token_budget=10), _agent(daily_token_budget=10)
    agent_budget_consume(agent=spender, tokens=10, cost=Decimal("0"))

    with pytest.raises(AgentBudgetExceeded):
        agent_budget_check(agent=spender)
    agent_budget_check(agent=other)


def test_agent_budget_counters_are_per_tenant_even_for_the_same_agent_id(tenant_a, tenant_b):
    with schema_context(tenant_a.schema):
        in_a = _agent(daily_token_budget=100)
    with schema_context(tenant_b.schema):
        in_b = _agent(daily_token_budget=100)
        Agent.objects.filter(pk=in_b.pk).update(id=in_a.pk)  # the same id in both schemas
        in_b = Agent.objects.get(pk=in_a.pk)

    with schema_context(tenant_a.schema):
        agent_budget_consume(agent=in_a, tokens=100, cost=Decimal("1"))
        with pytest.raises(AgentBudgetExceeded):
            agent_budget_check(agent=in_a)
    with schema_context(tenant_b.schema):
        agent_budget_check(agent=in_b)
        assert agent_spend_today(agent=in_b)["tokens"] == 0


def test_agent_budget_resets_at_the_utc_midnight(alpha):
    agent = _agent(daily_token_budget=100)
    with time_machine.travel(datetime(2026, 12, 7, 23, 59, 30, tzinfo=UTC), tick=False):
        agent_budget_consume(agent=agent, tokens=100, cost=Decimal("0"))
        with pytest.raises(AgentBudgetExceeded) as excinfo:
            agent_budget_check(agent=agent)
        assert excinfo.value.extra["resets_at"] == "2026-12-08T00:00:00Z"
        assert excinfo.value.extra["retry_after"] == 30

    with time_machine.travel(datetime(2026, 12, 8, 0, 0, 1, tzinfo=UTC), tick=False):
        agent_budget_check(agent=agent)
        spend = agent_spend_today(agent=agent)
        assert (spend["day"], spend["tokens"]) == ("2026-12-08", 0)


def test_agent_budget_allows_and_does_not_raise_when_redis_is_down(alpha, caplog):
    agent = _agent(daily_token_budget=1)
    agent_budget_consume(agent=agent, tokens=5, cost=Decimal("0"))
    with override_settings(USAGE_REDIS_URL=DEAD_REDIS):
        agent_budget_check(agent=agent)  # would be refused with Redis up
        agent_budget_consume(agent=agent, tokens=5, cost=Decimal("0"))
        assert agent_spend_today(agent=agent)["tokens"] == 0
    assert "Redis unreachable" in caplog.text
    assert agent_spend_today(agent=agent)["tokens"] == 5  # the outage's spend was not counted
