"""Agents through their services: fields, the SDK's type, model configuration, placement,
reporting lines without cycles, the status machine, the plan's agents limit, audit and webhooks."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from agents.models import Agent
from agents.selectors import agent_count_active
from agents.services import agent_archive, agent_create, agent_update
from agents.tests.factories import TESTS, AgentFactory, DepartmentFactory, TeamFactory
from audit.models import AuditEvent
from config.errors import Conflict, InvalidTransition, PlanLimitReached, ValidationFailed
from webhooks.models import WebhookEvent


@pytest.fixture
def alpha(tenant_a):
    with schema_context(tenant_a.schema):
        yield tenant_a


@pytest.fixture
def beta(tenant_b):
    """Starter: 5 agents."""
    with schema_context(tenant_b.schema):
        yield tenant_b


def _errors(excinfo: pytest.ExceptionInfo[ValidationFailed]) -> set[str]:
    return set(excinfo.value.errors)


# --- Creating -------------------------------------------------------------------------------------


def test_agent_create_with_the_sdk_example_maps_nlp_to_assistant_and_keeps_the_model(alpha):
    agent = agent_create(
        name="Customer Support Agent", type="nlp", config={"model": "gpt-4", "temperature": 0.7}, actor=TESTS
    )

    agent.refresh_from_db()
    assert (agent.type, agent.status, agent.languages) == ("assistant", "draft", ["en"])
    assert agent.config == {"provider": "local", "model": "gpt-4", "temperature": 0.7, "max_tokens": 1024}
    event = AuditEvent.objects.get(action="agent.created", target_id=agent.pk)
    assert event.data == {"type": "assistant", "status": "draft", "type_requested": "nlp"}


def test_agent_create_defaults_the_model_by_provider(alpha):
    local = agent_create(name="Local", actor=TESTS)
    remote = agent_create(name="Remote", config={"provider": "openai"}, actor=TESTS)

    assert local.config["model"] == "agentry-local"
    assert remote.config == {"provider": "openai", "model": "gpt-4o-mini", "temperature": 0.7, "max_tokens": 1024}


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"provider": "anthropic"}, "config.provider"),
        ({"temperature": 2.01}, "config.temperature"),
        ({"temperature": -0.1}, "config.temperature"),
        ({"temperature": float("nan")}, "config.temperature"),
        ({"temperature": True}, "config.temperature"),
        ({"max_tokens": 0}, "config.max_tokens"),
        ({"max_tokens": 32769}, "config.max_tokens"),
        ({"max_tokens": 12.5}, "config.max_tokens"),
        ({"model": ""}, "config.model"),
        ({"model": "gpt 4; drop"}, "config.model"),
        ({"temprature": 0.5}, "config"),
    ],
)
def test_agent_create_refuses_bad_model_configuration(alpha, config, field):
    with pytest.raises(ValidationFailed) as excinfo:
        agent_create(name="X", config=config, actor=TESTS)

    assert _errors(excinfo) == {field}
    assert not Agent.objects.exists()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "   "}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"type": "not a word!"}, "type"),
        ({"languages": []}, "languages"),
        ({"languages": ["english"]}, "languages"),
        ({"languages": ["en"] * 11}, "languages"),
        ({"tools": ["shell"]}, "tools"),
        ({"daily_token_budget": 0}, "daily_token_budget"),
        ({"daily_cost_budget": Decimal("0")}, "daily_cost_budget"),
        ({"daily_cost_budget": "lots"}, "daily_cost_budget"),
        ({"status": "paused"}, "status"),
        ({"team_id": "team_nope"}, "team"),
        ({"manager_id": "agt_nope"}, "manager"),
    ],
)
def test_agent_create_refuses_bad_fields(alpha, kwargs, field):
    with pytest.raises(ValidationFailed) as excinfo:
        agent_create(**{"name": "Agent", "actor": TESTS, **kwargs})

    assert _errors(excinfo) == {field}


def test_agent_create_normalises_languages_tools_and_budgets(alpha):
    agent = agent_create(
        name="  Polyglot  ",
        languages=["EN", "ar", "pt-BR", "en"],
        tools=["lead_capture", "knowledge_search", "lead_capture"],
        daily_token_budget=50_000,
        daily_cost_budget=Decimal("12.5"),
        actor=TESTS,
    )

    agent.refresh_from_db()
    assert agent.name == "Polyglot"
    assert agent.languages == ["en", "ar", "pt-BR"]
    assert agent.tools == ["knowledge_search", "lead_capture"]
    assert (agent.daily_token_budget, agent.daily_cost_budget) == (50_000, Decimal("12.50"))


def test_agent_create_in_a_team_joins_its_department(alpha):
    team = TeamFactory()

    agent = AgentFactory(team_id=team.pk)

    assert (agent.team, agent.department) == (team, team.department)


def test_agent_create_refuses_a_department_the_team_is_not_in(alpha):
    team = TeamFactory()
    other = DepartmentFactory()

    with pytest.raises(ValidationFailed) as excinfo:
        AgentFactory(team_id=team.pk, department_id=other.pk)

    assert _errors(excinfo) == {"department"}


# --- Reporting lines --------------------------------------------------------------------------


def test_agent_update_refuses_itself_as_manager(alpha):
    agent = AgentFactory()

    with pytest.raises(ValidationFailed, match="cannot manage itself"):
        agent_update(agent=agent, actor=TESTS, changes={"manager_id": agent.pk})


def test_agent_update_refuses_cycles_in_the_reporting_line(alpha):
    top = AgentFactory(name="Top")
    middle = AgentFactory(name="Middle", manager_id=top.pk)
    bottom = AgentFactory(name="Bottom", manager_id=middle.pk)

    for report in (middle, bottom):
        with pytest.raises(ValidationFailed) as excinfo:
            agent_update(agent=top, actor=TESTS, changes={"manager_id": report.pk})
        assert _errors(excinfo) == {"manager"}
        assert "would make a cycle" in excinfo.value.detail

    top.refresh_from_db()
    assert top.manager_id is None
    agent_update(agent=bottom, actor=TESTS, changes={"manager_id": top.pk})  # a shortcut up is no cycle
    bottom.refresh_from_db()
    assert bottom.manager_id == top.pk


def test_agent_update_refuses_an_archived_manager(alpha):
    boss = AgentFactory()
    agent_archive(agent=boss, actor=TESTS)

    with pytest.raises(ValidationFailed, match="archived"):
        AgentFactory(manager_id=boss.pk)


def test_agent_archive_moves_direct_reports_up_to_its_manager(alpha):
    top = AgentFactory(name="Top")
    lead = AgentFactory(name="Lead", manager_id=top.pk)
    worker = AgentFactory(name="Worker", manager_id=lead.pk)

    agent_archive(agent=lead, actor=TESTS)

    worker.refresh_from_db()
    lead.refresh_from_db()
    assert worker.manager_id == top.pk
    assert (lead.status, lead.manager_id) == ("archived", top.pk)
    assert lead.archived_at is not None
    moved = AuditEvent.objects.get(action="agent.updated", target_id=worker.pk)
    assert moved.data == {"manager": {"from": lead.pk, "to": top.pk}}


# --- Status and the plan's agents limit ------------------------------------------------------


def test_agent_status_transitions_follow_the_state_machine(alpha):
    agent = AgentFactory()
    for status in ("active", "paused", "active", "archived", "draft"):
        agent = agent_update(agent=agent, actor=TESTS, changes={"status": status})
        assert agent.status == status

    with pytest.raises(InvalidTransition) as excinfo:
        agent_update(agent=agent, actor=TESTS, changes={"status": "paused"})
    assert excinfo.value.extra == {"from_status": "draft", "to_status": "paused"}


def test_agent_update_of_an_archived_agent_is_refused_until_restored(alpha):
    agent = agent_archive(agent=AgentFactory(), actor=TESTS)

    with pytest.raises(Conflict, match="Restore it"):
        agent_update(agent=agent, actor=TESTS, changes={"name": "Renamed"})

    restored = agent_update(agent=agent, actor=TESTS, changes={"status": "draft", "name": "Renamed"})
    assert (restored.status, restored.name, restored.archived_at) == ("draft", "Renamed", None)


def test_agent_limit_counts_active_and_paused_agents_and_archiving_frees_a_slot(beta):
    agents = [AgentFactory(status="active") for _ in range(4)]
    agent_update(agent=agents[0], actor=TESTS, changes={"status": "paused"})
    fifth = AgentFactory(status="active")
    draft = AgentFactory()  # drafts hold no slot
    assert agent_count_active() == 5

    with pytest.raises(PlanLimitReached) as excinfo:
        AgentFactory(status="active")
    extra = excinfo.value.extra
    assert (extra["limit"], extra["allowed"], extra["current_usage"], extra["requested"]) == ("agents", 5, 5, 1)
    assert extra["upgrade_plan"]["code"] == "professional"
    with pytest.raises(PlanLimitReached):
        agent_update(agent=draft, actor=TESTS, changes={"status": "active"})
    agent_update(agent=agents[0], actor=TESTS, changes={"status": "active"})  # paused → active: already counted

    agent_archive(agent=fifth, actor=TESTS)

    assert agent_update(agent=draft, actor=TESTS, changes={"status": "active"}).status == "active"
    assert agent_count_active() == 5


def test_agent_count_active_is_one_query(alpha):
    AgentFactory(status="active")
    with CaptureQueriesContext(connection) as queries:
        assert agent_count_active() == 1
    assert len(queries) == 1


# --- Audit and webhooks -----------------------------------------------------------------------


def test_agent_writes_are_audited_without_copying_the_prompt(alpha):
    agent = AgentFactory(system_prompt="Secret sauce")
    agent_update(agent=agent, actor=TESTS, changes={"system_prompt": "New sauce", "config": {"temperature": 0.2}})
    agent_archive(agent=agent, actor=TESTS)

    events = list(AuditEvent.objects.filter(target_id=agent.pk).order_by("id"))
    assert [event.action for event in events] == ["agent.created", "agent.updated", "agent.archived"]
    assert events[1].data["system_prompt"] == "changed"
    assert events[1].data["config"]["to"]["temperature"] == 0.2
    assert "sauce" not in str([event.data for event in events])
    assert events[2].data == {"from_status": "draft"}


def test_agent_update_without_a_change_records_nothing(alpha):
    agent = AgentFactory(name="Same")

    agent_update(agent=agent, actor=TESTS, changes={"name": "Same", "tools": []})

    assert not AuditEvent.objects.filter(action="agent.updated").exists()
    assert not WebhookEvent.objects.filter(type="agent.updated").exists()


def test_agent_writes_publish_webhook_events(alpha):
    agent = AgentFactory(name="Hooked")
    agent_update(agent=agent, actor=TESTS, changes={"job_title": "Greeter"})
    agent_archive(agent=agent, actor=TESTS)

    events = {event.type: event.data for event in WebhookEvent.objects.filter(type__startswith="agent.")}
    assert set(events) == {"agent.created", "agent.updated", "agent.deleted"}
    assert events["agent.created"]["agent"]["name"] == "Hooked"
    assert events["agent.updated"]["changed"] == ["job_title"]
    assert events["agent.updated"]["agent"]["job_title"] == "Greeter"
    assert events["agent.deleted"]["agent"] == {
        **events["agent.deleted"]["agent"],
        "id": agent.pk,
        "status": "archived",
    }


def test_agent_webhooks_are_delivered_only_to_endpoints_subscribed_to_them(alpha):
    from webhooks.models import WebhookDelivery
    from webhooks.tests.factories import endpoint_give

    agents_hook = endpoint_give(alpha.tenant, event_types=["agent.created", "agent.updated", "agent.deleted"])
    leads_hook = endpoint_give(alpha.tenant, event_types=["lead.created"])
    agent = AgentFactory(name="Delivered")
    agent_update(agent=agent, actor=TESTS, changes={"job_title": "Greeter"})
    agent_archive(agent=agent, actor=TESTS)

    delivered = WebhookDelivery.objects.filter(endpoint=agents_hook.endpoint).select_related("event")
    assert sorted(d.event.type for d in delivered) == ["agent.created", "agent.deleted", "agent.updated"]
    assert all(d.event.data["agent"]["id"] == agent.pk for d in delivered)
    assert not WebhookDelivery.objects.filter(endpoint=leads_hook.endpoint).exists()


def test_agent_create_refused_publishes_and_records_nothing(beta):
    for _ in range(5):
        AgentFactory(status="active")
    before = (WebhookEvent.objects.count(), AuditEvent.objects.count())

    with pytest.raises(PlanLimitReached):
        AgentFactory(status="active")

    assert (WebhookEvent.objects.count(), AuditEvent.objects.count()) == before
    assert Agent.objects.count() == 5


# --- Knowledge bases ----------------------------------------------------------------------------


def test_agent_knowledge_bases_are_set_checked_and_audited(alpha):
    from knowledge.tests.factories import KnowledgeBaseFactory

    handbook, faq = KnowledgeBaseFactory(name="Handbook"), KnowledgeBaseFactory(name="FAQ")
    agent = AgentFactory(knowledge_base_ids=[handbook.pk])
    assert list(agent.knowledge_bases.all()) == [handbook]

    agent_update(agent=agent, actor=TESTS, changes={"knowledge_base_ids": [faq.pk, handbook.pk, faq.pk]})
    with pytest.raises(ValidationFailed) as excinfo:
        agent_update(agent=agent, actor=TESTS, changes={"knowledge_base_ids": ["kb_elsewhere"]})

    assert _errors(excinfo) == {"knowledge_bases"}
    assert sorted(kb.name for kb in agent.knowledge_bases.all()) == ["FAQ", "Handbook"]
    event = AuditEvent.objects.get(action="agent.updated", target_id=agent.pk)
    assert event.data == {"knowledge_bases": {"from": [handbook.pk], "to": sorted([handbook.pk, faq.pk])}}
