"""/api/v1/agents/{id}/tasks and /api/v1/tasks/{id}[/approve|/reject|/cancel] over HTTP.
(Two-tenant isolation and scopes of every endpoint: api/tests/test_cross_tenant.py.)"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from accounts.models import Role
from agents.models import Agent, AgentTask
from agents.task_runner import agent_task_run
from agents.task_services import agent_task_create
from agents.tests.factories import TESTS, AgentFactory, TeamFactory
from apikeys.tests.factories import IssuedApiKeyFactory, api_client
from conftest import make_member, signed_in_client


def _json(response: Any) -> Any:
    return json.loads(response.content)


def _post(client: Client, path: str, body: dict | None = None) -> Any:
    return client.post(path, data=json.dumps(body or {}), content_type="application/json")


@pytest.fixture
def alpha_api(tenant_a) -> Client:
    return api_client(tenant_a.host, IssuedApiKeyFactory.create(tenant=tenant_a.tenant).secret)


@pytest.fixture
def org(tenant_a) -> dict[str, str]:
    with schema_context(tenant_a.schema):
        team = TeamFactory.create()
        manager = AgentFactory.create(name="Lead", type="manager", status="active", tools=["delegate_task"])
        first = AgentFactory.create(name="First", status="active", manager_id=manager.pk)
        second = AgentFactory.create(name="Second", status="active", team_id=team.pk)
        outsider = AgentFactory.create(name="Outsider", status="active")
        frugal = AgentFactory.create(name="Frugal", status="active", daily_token_budget=10)
    return {"manager": manager.pk, "first": first.pk, "second": second.pk, "outsider": outsider.pk, "frugal": frugal.pk}


def test_agent_tasks_create_then_read_the_whole_chain(tenant_a, alpha_api, org):
    created = _post(
        alpha_api,
        f"/api/v1/agents/{org['manager']}/tasks",
        {"title": "Weekly summary", "text": "Summarise.", "delegate_to": [org["first"]]},
    )

    assert created.status_code == 201, created.content
    body = _json(created)
    assert body["id"].startswith("task_")
    assert (body["status"], body["agent"]["name"], body["input"]) == (
        "queued",
        "Lead",
        {"text": "Summarise.", "delegate_to": [org["first"]]},
    )
    assert body["created_by"]["type"] == "api_key" and body["delegated_by"] is None
    with schema_context(tenant_a.schema):
        agent_task_run(task_id=body["id"])
        child = AgentTask.objects.get(parent_id=body["id"])
        agent_task_run(task_id=child.pk)

    parent = _json(alpha_api.get(f"/api/v1/tasks/{body['id']}"))
    assert (parent["status"], parent["ancestors"]) == ("done", [])
    assert parent["children"] == [
        {"id": child.pk, "title": "Weekly summary", "status": "done", "agent": {"id": org["first"], "name": "First"}}
    ]
    assert parent["result"].startswith("## First\n")
    sub = _json(alpha_api.get(f"/api/v1/tasks/{child.pk}"))
    assert (sub["parent_id"], sub["delegated_by"], sub["created_by"]["type"]) == (
        body["id"],
        {"id": org["manager"], "name": "Lead"},
        "agent",
    )
    assert sub["ancestors"] == [
        {"id": body["id"], "title": "Weekly summary", "status": "done", "agent": {"id": org["manager"], "name": "Lead"}}
    ]
    assert sub["usage"]["total_tokens"] == sub["usage"]["prompt_tokens"] + sub["usage"]["completion_tokens"] > 0


def test_agent_tasks_list_filters_by_status_and_only_shows_that_agents(tenant_a, alpha_api, org):
    _post(alpha_api, f"/api/v1/agents/{org['outsider']}/tasks", {"title": "One"})
    _post(alpha_api, f"/api/v1/agents/{org['frugal']}/tasks", {"title": "Over budget"})
    second = _json(_post(alpha_api, f"/api/v1/agents/{org['outsider']}/tasks", {"title": "Two"}))
    _post(alpha_api, f"/api/v1/tasks/{second['id']}/cancel")

    listed = _json(alpha_api.get(f"/api/v1/agents/{org['outsider']}/tasks"))
    cancelled = _json(alpha_api.get(f"/api/v1/agents/{org['outsider']}/tasks?status=cancelled"))
    waiting = _json(alpha_api.get(f"/api/v1/agents/{org['frugal']}/tasks?status=waiting_approval"))

    assert [t["title"] for t in listed["results"]] == ["Two", "One"]
    assert [t["title"] for t in cancelled["results"]] == ["Two"]
    assert [t["title"] for t in waiting["results"]] == ["Over budget"]
    assert alpha_api.get(f"/api/v1/agents/{org['outsider']}/tasks?status=nope").status_code == 400


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x", "delegate_to": ["{outsider}"]}, "delegate_to"),  # not the manager's report or team-mate
        ({"title": "x", "delegated_by": "{first}"}, "delegate_to"),  # a report cannot delegate upwards
        ({"title": "x", "delegated_by": "agt_nope"}, "delegated_by"),
    ],
)
def test_agent_tasks_create_refusals_are_validation_errors(alpha_api, org, body, field):
    body = {k: ([x.format(**org) for x in v] if isinstance(v, list) else v.format(**org)) for k, v in body.items()}

    response = _post(alpha_api, f"/api/v1/agents/{org['manager']}/tasks", body)

    assert response.status_code == 400, response.content
    problem = _json(response)
    assert problem["code"] == "validation_error"
    assert {error["field"] for error in problem["errors"]} == {field}


def test_agent_tasks_create_for_a_draft_agent_is_refused(tenant_a, alpha_api):
    with schema_context(tenant_a.schema):
        draft = AgentFactory.create(name="Draft")

    response = _post(alpha_api, f"/api/v1/agents/{draft.pk}/tasks", {"title": "Work"})

    assert response.status_code == 400
    assert _json(response)["errors"][0]["message"] == "“Draft” is draft: only an active agent can take tasks."


def test_tasks_approve_and_reject_need_an_owner_or_admin(tenant_a, org):
    member = signed_in_client(tenant_a, make_member(tenant_a, email="m@alpha.test", role=Role.MEMBER).email)
    owner = signed_in_client(tenant_a)
    waiting = _json(_post(member, f"/api/v1/agents/{org['frugal']}/tasks", {"title": "Big"}))
    assert (waiting["status"], waiting["approval"]["reason"]) == (
        "waiting_approval",
        "Estimated 1,026 tokens; 10 left of today's token budget.",
    )

    refused = _post(member, f"/api/v1/tasks/{waiting['id']}/approve")
    assert (refused.status_code, _json(refused)["code"]) == (403, "insufficient_scope")

    approved = _json(_post(owner, f"/api/v1/tasks/{waiting['id']}/approve"))
    assert (approved["status"], approved["approval"]["approved_by"]) == ("queued", "owner@alpha.test")
    again = _post(owner, f"/api/v1/tasks/{waiting['id']}/approve")
    assert (again.status_code, _json(again)["code"]) == (409, "invalid_transition")
    assert (_json(again)["from_status"], _json(again)["to_status"]) == ("queued", "queued")

    other = _json(_post(member, f"/api/v1/agents/{org['frugal']}/tasks", {"title": "Bigger"}))
    rejected = _json(_post(owner, f"/api/v1/tasks/{other['id']}/reject", {"reason": "Too costly"}))
    assert (rejected["status"], rejected["approval"]["rejection_reason"]) == ("cancelled", "Too costly")


def test_tasks_cancel_twice_is_a_conflict_and_unknown_tasks_are_404(alpha_api, org):
    task = _json(_post(alpha_api, f"/api/v1/agents/{org['outsider']}/tasks", {"title": "Job"}))

    assert _json(_post(alpha_api, f"/api/v1/tasks/{task['id']}/cancel"))["status"] == "cancelled"
    assert _post(alpha_api, f"/api/v1/tasks/{task['id']}/cancel").status_code == 409
    for path in ("/api/v1/tasks/task_nope", "/api/v1/agents/agt_nope/tasks", "/api/v1/tasks/%00"):
        response = alpha_api.get(path)
        assert (response.status_code, _json(response)["code"]) == (404, "not_found")


def test_agent_tasks_list_query_count_does_not_grow_with_the_page(tenant_a, alpha_api, org):
    def create(count: int) -> None:
        with schema_context(tenant_a.schema):
            agent = Agent.objects.get(pk=org["outsider"])
            for n in range(count):
                agent_task_create(agent=agent, title=f"Task {n}", actor=TESTS)

    create(2)
    alpha_api.get(f"/api/v1/agents/{org['outsider']}/tasks")  # warms the key and entitlement caches
    with CaptureQueriesContext(connection) as few:
        assert alpha_api.get(f"/api/v1/agents/{org['outsider']}/tasks").status_code == 200
    create(20)
    with CaptureQueriesContext(connection) as many:
        assert len(_json(alpha_api.get(f"/api/v1/agents/{org['outsider']}/tasks"))["results"]) == 22
    assert len(many) == len(few)
