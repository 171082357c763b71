"""Agent cost budgets are in USD — the currency of model prices, so of chat and task costs — in
every place they show, even in a workspace billed in another currency."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django_tenants.utils import schema_context
from drf_spectacular.generators import SchemaGenerator

from agents.budgets import agent_budget_check, agent_budget_consume, agent_spend_today
from agents.tests.factories import AgentFactory
from apikeys.tests.factories import IssuedApiKeyFactory, api_client
from config.errors import AgentBudgetExceeded
from conftest import TenantFixture, signed_in_client
from tenants.context import current_tenant
from tenants.models import Tenant


@pytest.fixture
def euro_tenant(tenant_a: TenantFixture) -> Iterator[TenantFixture]:
    """tenant_a billed in EUR; saved (not updated) so the routing cache forgets the old row,
    and saved back afterwards so no later test is routed to the EUR row."""
    tenant = Tenant.objects.get(pk=tenant_a.tenant.pk)
    tenant.currency = "EUR"
    tenant.save(update_fields=["currency"])
    yield tenant_a
    tenant.currency = "USD"
    tenant.save(update_fields=["currency"])


def test_budget_refusal_and_spend_are_in_usd_in_a_euro_workspace(euro_tenant):
    with schema_context(euro_tenant.schema):
        assert current_tenant().currency == "EUR"  # the workspace really is billed in EUR
        agent = AgentFactory.create(status="active", daily_cost_budget=Decimal("0.02"))
        agent_budget_consume(agent=agent, tokens=10, cost=Decimal("0.02"))

        with pytest.raises(AgentBudgetExceeded) as excinfo:
            agent_budget_check(agent=agent)
        spend = agent_spend_today(agent=agent)

    assert (excinfo.value.extra["limit"], excinfo.value.extra["currency"]) == ("daily_cost_budget", "USD")
    assert (spend["cost_budget"], spend["currency"]) == (Decimal("0.02"), "USD")


def test_budget_api_says_usd_in_a_euro_workspace(euro_tenant):
    client = api_client(euro_tenant.host, IssuedApiKeyFactory.create(tenant=euro_tenant.tenant).secret)
    assert json.loads(client.get("/api/v1/tenant").content)["currency"] == "EUR"

    response = client.post(
        "/api/v1/agents",
        json.dumps({"name": "Budgeted", "daily_cost_budget": "3.50"}),
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    body = json.loads(response.content)
    assert (body["daily_cost_budget"], body["budget_currency"]) == ("3.50", "USD")


def test_budget_schema_describes_the_cost_budget_in_usd():
    schema = json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), default=str))
    components = schema["components"]["schemas"]
    described = {
        name: component["properties"]["daily_cost_budget"].get("description", "")
        for name, component in components.items()
        if "daily_cost_budget" in component.get("properties", {})
    }

    assert described, "no schema component has daily_cost_budget"
    assert all("USD" in text for text in described.values()), described
    assert not any("billing currency" in text for text in described.values())
    currency = next(
        c["properties"]["budget_currency"] for c in components.values() if "budget_currency" in c.get("properties", {})
    )
    assert "Always `USD`" in currency["description"]


def test_budget_portal_form_and_page_label_the_budget_in_usd(euro_tenant):
    client = signed_in_client(euro_tenant)

    form_page = client.get("/agents/new/").content.decode()
    with schema_context(euro_tenant.schema):
        agent = AgentFactory.create(daily_cost_budget=Decimal("7.25"))
    agent_page = client.get(f"/agents/{agent.pk}/").content.decode()

    assert "Daily budget (USD)" in form_page
    assert "EUR" not in form_page
    assert "7.25 USD" in agent_page
    assert "Daily budget: 7.25 USD." in agent_page
    assert "0 USD in model costs" in agent_page
    assert "EUR" not in agent_page
