"""/api/v1/agents, /teams, /departments and /org-chart over HTTP, with keys of two tenants."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import Role
from agents.models import Agent
from agents.tests.factories import AgentFactory, DepartmentFactory, TeamFactory
from apikeys.tests.factories import IssuedApiKeyFactory, api_client
from conftest import make_member, signed_in_client

SDK_EXAMPLE = {"name": "Customer Support Agent", "type": "nlp", "config": {"model": "gpt-4", "temperature": 0.7}}


def _json(response: Any) -> Any:
    return json.loads(response.content)


def _post(client: Client, path: str, body: dict, **headers: Any) -> Any:
    return client.post(path, data=json.dumps(body), content_type="application/json", **headers)


def _patch(client: Client, path: str, body: dict) -> Any:
    return client.patch(path, data=json.dumps(body), content_type="application/json")


@pytest.fixture
def alpha_api(tenant_a) -> Client:
    return api_client(tenant_a.host, IssuedApiKeyFactory.create(tenant=tenant_a.tenant).secret)


@pytest.fixture
def beta_api(tenant_b) -> Client:
    return api_client(tenant_b.host, IssuedApiKeyFactory.create(tenant=tenant_b.tenant).secret)


def test_agents_create_the_published_sdk_example_works_as_written(tenant_a, alpha_api):
    response = _post(alpha_api, "/api/v1/agents", SDK_EXAMPLE)

    assert response.status_code == 201, response.content
    body = _json(response)
    assert body["id"].startswith("agt_")
    assert (body["name"], body["type"], body["status"]) == ("Customer Support Agent", "assistant", "draft")
    assert body["config"] == {"provider": "local", "model": "gpt-4", "temperature": 0.7, "max_tokens": 1024}
    assert body["created_by"]["type"] == "api_key"
    assert (body["team"], body["department"], body["manager"], body["budget_currency"]) == (None, None, None, "USD")
    with schema_context(tenant_a.schema):
        assert Agent.objects.get(pk=body["id"]).type == "assistant"


def test_agents_create_with_everything(tenant_a, alpha_api):
    with schema_context(tenant_a.schema):
        team = TeamFactory(name="Tier 1")
        boss = AgentFactory(name="Support Lead")
    body = {
        "name": "Support",
        "type": "support",
        "job_title": "Tier 1 support",
        "status": "active",
        "team": team.pk,
        "manager": boss.pk,
        "languages": ["en", "ar"],
        "system_prompt": "Be kind.",
        "config": {"provider": "openai", "model": "gpt-4o", "temperature": 0.2, "max_tokens": 500},
        "tools": ["lead_capture", "knowledge_search"],
        "daily_token_budget": 1000,
        "daily_cost_budget": "2.50",
    }

    created = _json(_post(alpha_api, "/api/v1/agents", body))

    assert created["team"] == {"id": team.pk, "name": "Tier 1"}
    assert created["department"] == {"id": team.department_id, "name": team.department.name}
    assert created["manager"] == {"id": boss.pk, "name": "Support Lead"}
    assert (created["status"], created["tools"]) == ("active", ["knowledge_search", "lead_capture"])
    assert (created["daily_token_budget"], created["daily_cost_budget"]) == (1000, "2.50")
    assert created["config"]["provider"] == "openai"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "support"}, "name"),
        ({**SDK_EXAMPLE, "config": {"temperature": 3}}, "config.temperature"),
        ({**SDK_EXAMPLE, "config": {"temprature": 0.3}}, "config.temprature"),
        ({**SDK_EXAMPLE, "config": {"provider": "anthropic"}}, "config.provider"),
        ({**SDK_EXAMPLE, "config": {"max_tokens": 100000}}, "config.max_tokens"),
        ({**SDK_EXAMPLE, "status": "paused"}, "status"),
        ({**SDK_EXAMPLE, "tools": ["rm -rf"]}, "tools.0"),
        ({**SDK_EXAMPLE, "team": "team_of_someone_else"}, "team"),
        ({**SDK_EXAMPLE, "languages": ["klingon!"]}, "languages"),
    ],
)
def test_agents_create_bad_input_is_a_validation_problem(alpha_api, body, field):
    response = _post(alpha_api, "/api/v1/agents", body)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = _json(response)
    assert problem["code"] == "validation_error"
    assert field in {error["field"] for error in problem["errors"]}, problem


def test_agents_create_is_idempotent(tenant_a, alpha_api):
    first = _post(alpha_api, "/api/v1/agents", SDK_EXAMPLE, HTTP_IDEMPOTENCY_KEY="create-1")
    again = _post(alpha_api, "/api/v1/agents", SDK_EXAMPLE, HTTP_IDEMPOTENCY_KEY="create-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert _json(again)["id"] == _json(first)["id"]
    with schema_context(tenant_a.schema):
        assert Agent.objects.count() == 1


def test_agents_create_active_beyond_the_plan_is_plan_limit_reached(tenant_b, beta_api):
    with schema_context(tenant_b.schema):
        for _ in range(5):
            AgentFactory(status="active")

    response = _post(beta_api, "/api/v1/agents", {**SDK_EXAMPLE, "status": "active"})

    assert response.status_code == 403
    problem = _json(response)
    assert (problem["code"], problem["limit"], problem["allowed"], problem["current_usage"]) == (
        "plan_limit_reached",
        "agents",
        5,
        5,
    )
    assert _post(beta_api, "/api/v1/agents", SDK_EXAMPLE).status_code == 201  # a draft still fits


def test_agents_list_filters_and_hides_archived(tenant_a, alpha_api):
    with schema_context(tenant_a.schema):
        team = TeamFactory()
        in_team = AgentFactory(name="In team", team_id=team.pk, status="active")
        sales = AgentFactory(name="Seller", type="sales")
        gone = AgentFactory(name="Gone")
    assert alpha_api.delete(f"/api/v1/agents/{gone.pk}").status_code == 200

    def names(query: str) -> list[str]:
        response = alpha_api.get(f"/api/v1/agents{query}")
        assert response.status_code == 200, response.content
        return [agent["name"] for agent in _json(response)["results"]]

    assert names("") == ["Seller", "In team"]
    assert names("?status=archived") == ["Gone"]
    assert names("?status=active") == ["In team"]
    assert names("?type=sales") == [sales.name]
    assert names(f"?team={team.pk}") == [in_team.name]
    assert names(f"?department={team.department_id}") == [in_team.name]
    assert names("?team=team_unknown") == []
    bad = alpha_api.get("/api/v1/agents?type=nlp")
    assert (bad.status_code, _json(bad)["code"]) == (400, "validation_error")


def test_agents_list_is_cursor_paginated_with_a_fixed_number_of_queries(
    tenant_a, alpha_api, django_assert_max_num_queries
):
    with schema_context(tenant_a.schema):
        team = TeamFactory()
        boss = AgentFactory()
        for _ in range(6):
            AgentFactory(team_id=team.pk, manager_id=boss.pk)

    with django_assert_max_num_queries(12):
        first = _json(alpha_api.get("/api/v1/agents?limit=4"))
    second = _json(
        Client(HTTP_HOST=tenant_a.host).get(first["next"], HTTP_AUTHORIZATION=alpha_api.defaults["HTTP_AUTHORIZATION"])
    )

    assert len(first["results"]) == 4 and len(second["results"]) == 3
    assert not {a["id"] for a in first["results"]} & {a["id"] for a in second["results"]}


def test_agent_patch_changes_only_what_is_sent(tenant_a, alpha_api):
    with schema_context(tenant_a.schema):
        agent = AgentFactory(name="Helper", config={"provider": "local", "temperature": 0.9}, tools=["lead_capture"])

    response = _patch(alpha_api, f"/api/v1/agents/{agent.pk}", {"config": {"temperature": 0.1}, "status": "active"})

    body = _json(response)
    assert response.status_code == 200, body
    assert body["config"] == {"provider": "local", "model": "agentry-local", "temperature": 0.1, "max_tokens": 1024}
    assert (body["name"], body["tools"], body["status"]) == ("Helper", ["lead_capture"], "active")


def test_agent_patch_refuses_a_cycle_and_a_bad_transition(tenant_a, alpha_api):
    with schema_context(tenant_a.schema):
        boss = AgentFactory()
        report = AgentFactory(manager_id=boss.pk)

    cycle = _patch(alpha_api, f"/api/v1/agents/{boss.pk}", {"manager": report.pk})
    paused = _patch(alpha_api, f"/api/v1/agents/{boss.pk}", {"status": "paused"})

    assert (cycle.status_code, _json(cycle)["errors"][0]["field"]) == (400, "manager")
    assert paused.status_code == 409
    assert _json(paused) | {"request_id": None, "detail": None} == {
        "type": "https://docs.agentry.dev/errors#invalid_transition",
        "title": "That status change is not allowed.",
        "status": 409,
        "code": "invalid_transition",
        "detail": None,
        "request_id": None,
        "from_status": "draft",
        "to_status": "paused",
    }


def test_agent_delete_archives_and_keeps_the_agent_readable(tenant_a, alpha_api):
    with schema_context(tenant_a.schema):
        agent = AgentFactory(status="active")

    deleted = alpha_api.delete(f"/api/v1/agents/{agent.pk}")
    again = alpha_api.delete(f"/api/v1/agents/{agent.pk}")
    read = alpha_api.get(f"/api/v1/agents/{agent.pk}")
    edit = _patch(alpha_api, f"/api/v1/agents/{agent.pk}", {"name": "Zombie"})
    restore = _patch(alpha_api, f"/api/v1/agents/{agent.pk}", {"status": "draft"})

    assert (deleted.status_code, _json(deleted)["status"]) == (200, "archived")
    assert (again.status_code, read.status_code) == (200, 200)
    assert _json(read)["archived_at"] is not None
    assert (edit.status_code, _json(edit)["code"]) == (409, "conflict")
    assert (restore.status_code, _json(restore)["status"]) == (200, "draft")


def test_agents_of_another_tenant_do_not_exist_here(tenant_a, tenant_b, alpha_api, beta_api):
    with schema_context(tenant_a.schema):
        secret_team = TeamFactory(name="Alpha secret team")
        alpha_agent = AgentFactory(name="Alpha secret agent", team_id=secret_team.pk)

    assert beta_api.get(f"/api/v1/agents/{alpha_agent.pk}").status_code == 404
    assert _patch(beta_api, f"/api/v1/agents/{alpha_agent.pk}", {"name": "Pwned"}).status_code == 404
    assert beta_api.delete(f"/api/v1/agents/{alpha_agent.pk}").status_code == 404
    as_manager = _post(beta_api, "/api/v1/agents", {"name": "Spy", "manager": alpha_agent.pk})
    in_team = _post(beta_api, "/api/v1/agents", {"name": "Spy", "team": secret_team.pk})
    assert (as_manager.status_code, in_team.status_code) == (400, 400)
    chart = beta_api.get("/api/v1/org-chart").content.decode()
    assert "Alpha secret" not in chart and alpha_agent.pk not in chart
    with schema_context(tenant_a.schema):
        alpha_agent.refresh_from_db()
        assert (alpha_agent.name, alpha_agent.status) == ("Alpha secret agent", "draft")


# --- Teams and departments -------------------------------------------------------------------


def test_departments_and_teams_crud(tenant_a, alpha_api):
    department = _json(_post(alpha_api, "/api/v1/departments", {"name": "Customer Service"}))
    duplicate = _post(alpha_api, "/api/v1/departments", {"name": "customer service"})
    team = _json(_post(alpha_api, "/api/v1/teams", {"name": "Tier 1", "department": department["id"]}))
    agent = _json(_post(alpha_api, "/api/v1/agents", {"name": "A", "team": team["id"]}))

    assert duplicate.status_code == 400 and _json(duplicate)["errors"][0]["field"] == "name"
    assert team["department"] == {"id": department["id"], "name": "Customer Service"}
    assert agent["department"]["id"] == department["id"]
    assert _json(alpha_api.get(f"/api/v1/teams/{team['id']}"))["agent_count"] == 1
    listed = _json(alpha_api.get("/api/v1/departments"))["results"]
    assert [(d["name"], d["team_count"], d["agent_count"]) for d in listed] == [("Customer Service", 1, 1)]

    blocked = alpha_api.delete(f"/api/v1/teams/{team['id']}")
    assert (blocked.status_code, _json(blocked)["code"]) == (409, "conflict")
    renamed = _patch(alpha_api, f"/api/v1/teams/{team['id']}", {"name": "Tier 2"})
    assert _json(renamed)["name"] == "Tier 2"

    alpha_api.delete(f"/api/v1/agents/{agent['id']}")
    assert alpha_api.delete(f"/api/v1/teams/{team['id']}").status_code == 204
    assert alpha_api.delete(f"/api/v1/departments/{department['id']}").status_code == 204
    assert alpha_api.get(f"/api/v1/departments/{department['id']}").status_code == 404
    assert _json(alpha_api.get(f"/api/v1/agents/{agent['id']}?"))["team"] is None


def test_team_move_to_another_department_moves_its_agents(tenant_a, alpha_api):
    with schema_context(tenant_a.schema):
        team = TeamFactory()
        agent = AgentFactory(team_id=team.pk)
        other = DepartmentFactory(name="Sales")

    moved = _patch(alpha_api, f"/api/v1/teams/{team.pk}", {"department": other.pk})

    assert _json(moved)["department"]["id"] == other.pk
    assert _json(alpha_api.get(f"/api/v1/agents/{agent.pk}"))["department"] == {"id": other.pk, "name": "Sales"}


def test_org_chart_is_a_tree_of_departments_teams_and_reporting_lines(tenant_a, alpha_api):
    with schema_context(tenant_a.schema):
        team = TeamFactory(name="Tier 1")
        lead = AgentFactory(name="Lead", department_id=team.department_id)
        worker = AgentFactory(name="Worker", team_id=team.pk, manager_id=lead.pk)
        AgentFactory(name="Loner")
        gone = AgentFactory(name="Gone", manager_id=lead.pk)
    alpha_api.delete(f"/api/v1/agents/{gone.pk}")

    chart = _json(alpha_api.get("/api/v1/org-chart"))

    (department,) = chart["departments"]
    assert [a["name"] for a in department["agents"]] == ["Lead"]
    assert [(t["name"], [a["name"] for a in t["agents"]]) for t in department["teams"]] == [("Tier 1", ["Worker"])]
    assert [a["name"] for a in chart["unassigned"]] == ["Loner"]
    lines = {node["agent"]["name"]: node for node in chart["reporting_lines"]}
    assert set(lines) == {"Lead", "Loner"}
    assert [(r["agent"]["id"], r["reports"]) for r in lines["Lead"]["reports"]] == [(worker.pk, [])]
    assert chart["agent_count"] == 3


# --- Portal sessions: the role's scopes ------------------------------------------------------


def test_agents_api_for_portal_viewers_is_read_only(tenant_a):
    make_member(tenant_a, email="viewer-api@alpha.test", role=Role.VIEWER)
    viewer = signed_in_client(tenant_a, "viewer-api@alpha.test")

    assert viewer.get("/api/v1/agents").status_code == 200
    refused = _post(viewer, "/api/v1/agents", SDK_EXAMPLE)
    assert (refused.status_code, _json(refused)["code"]) == (403, "insufficient_scope")


def test_agents_knowledge_bases_only_of_this_tenant(tenant_a, tenant_b, alpha_api, beta_api):
    from knowledge.tests.factories import KnowledgeBaseFactory

    with schema_context(tenant_a.schema):
        alpha_kb = KnowledgeBaseFactory(name="Alpha handbook")

    mine = _post(alpha_api, "/api/v1/agents", {"name": "Reader", "knowledge_bases": [alpha_kb.pk]})
    theirs = _post(beta_api, "/api/v1/agents", {"name": "Thief", "knowledge_bases": [alpha_kb.pk]})

    assert _json(mine)["knowledge_bases"] == [{"id": alpha_kb.pk, "name": "Alpha handbook"}]
    assert theirs.status_code == 400
    assert _json(theirs)["errors"][0]["field"] == "knowledge_bases"
