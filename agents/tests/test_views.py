"""The portal's agent pages and org chart through Django's test client: roles, empty states,
form errors from the services, and two tenants."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from accounts.models import Role
from agents.models import Agent, Department, Team
from agents.tests.factories import AgentFactory, TeamFactory
from conftest import make_member, signed_in_client


def _form(**overrides: object) -> dict[str, object]:
    return {
        "name": "Greeter",
        "type": "support",
        "job_title": "",
        "description": "",
        "department": "",
        "team": "",
        "manager": "",
        "languages": "en, ar",
        "system_prompt": "Say hello.",
        "provider": "local",
        "model": "",
        "temperature": "0.5",
        "max_tokens": "800",
        "daily_token_budget": "",
        "daily_cost_budget": "",
        **overrides,
    }


@pytest.fixture
def viewer(tenant_a):
    make_member(tenant_a, email="viewer@alpha.test", role=Role.VIEWER)
    return signed_in_client(tenant_a, "viewer@alpha.test")


def test_agents_page_empty_state_invites_editors_to_create_one(tenant_a, viewer):
    owner_page = signed_in_client(tenant_a).get("/agents/").content.decode()
    viewer_page = viewer.get("/agents/").content.decode()

    assert "No agents yet." in owner_page and "Create your first agent" in owner_page
    assert "No agents yet." in viewer_page and "Create your first agent" not in viewer_page
    assert "New agent" not in viewer_page


def test_agent_new_creates_an_agent_and_shows_it(tenant_a):
    owner = signed_in_client(tenant_a)
    with schema_context(tenant_a.schema):
        team = TeamFactory(name="Tier 1")

    response = owner.post("/agents/new/", _form(team=team.pk, tools=["knowledge_search"], activate="on"))

    with schema_context(tenant_a.schema):
        agent = Agent.objects.get(name="Greeter")
    assert response.status_code == 302 and response["Location"] == f"/agents/{agent.pk}/"
    assert (agent.status, agent.team_id, agent.department_id) == ("active", team.pk, team.department_id)
    assert agent.config == {"provider": "local", "model": "agentry-local", "temperature": 0.5, "max_tokens": 800}
    assert (agent.languages, agent.tools, agent.created_by_label) == (
        ["en", "ar"],
        ["knowledge_search"],
        tenant_a.owner_email,
    )
    page = owner.get(response["Location"]).content.decode()
    assert "Greeter" in page and "Tier 1" in page and "Say hello." in page


def test_agent_new_shows_service_errors_on_the_form(tenant_a):
    owner = signed_in_client(tenant_a)

    response = owner.post("/agents/new/", _form(languages="english please"))

    assert response.status_code == 400
    assert "is not a language code" in response.content.decode()
    with schema_context(tenant_a.schema):
        assert not Agent.objects.exists()


def test_agent_new_beyond_the_plan_says_so(tenant_b):
    with schema_context(tenant_b.schema):
        for _ in range(5):
            AgentFactory(status="active")
    owner = signed_in_client(tenant_b)

    response = owner.post("/agents/new/", _form(activate="on"))

    assert response.status_code == 403
    assert "limit of 5 agents is reached" in response.content.decode()


def test_agent_edit_and_status_buttons(tenant_a):
    owner = signed_in_client(tenant_a)
    with schema_context(tenant_a.schema):
        agent = AgentFactory(name="Draft", config={"provider": "openai", "model": "my-model"})

    edited = owner.post(f"/agents/{agent.pk}/edit/", _form(name="Renamed", provider="openai", model=""))
    activated = owner.post(f"/agents/{agent.pk}/status/", {"status": "active"})
    archived = owner.post(f"/agents/{agent.pk}/archive/")

    assert (edited.status_code, activated.status_code, archived.status_code) == (302, 302, 302)
    with schema_context(tenant_a.schema):
        agent.refresh_from_db()
    assert (agent.name, agent.status, agent.config["model"]) == ("Renamed", "archived", "my-model")
    assert "Restore as draft" in owner.get(f"/agents/{agent.pk}/").content.decode()


def test_agent_pages_are_read_only_for_viewers(tenant_a, viewer):
    with schema_context(tenant_a.schema):
        agent = AgentFactory(name="Look only")

    page = viewer.get(f"/agents/{agent.pk}/").content.decode()
    refused = [
        viewer.get("/agents/new/").status_code,
        viewer.post("/agents/new/", _form()).status_code,
        viewer.post(f"/agents/{agent.pk}/edit/", _form()).status_code,
        viewer.post(f"/agents/{agent.pk}/status/", {"status": "active"}).status_code,
        viewer.post(f"/agents/{agent.pk}/archive/").status_code,
        viewer.post("/org-chart/departments/", {"name": "Sneaky"}).status_code,
    ]

    assert "Look only" in page and "Archive" not in page and "Edit" not in page
    assert refused == [403] * 6
    with schema_context(tenant_a.schema):
        agent.refresh_from_db()
        assert (agent.status, Department.objects.count()) == ("draft", 0)


def test_org_chart_page_adds_departments_and_teams_and_draws_the_tree(tenant_a, viewer):
    owner = signed_in_client(tenant_a)
    assert "Nothing to show yet." in owner.get("/org-chart/").content.decode()

    owner.post("/org-chart/departments/", {"name": "Support"})
    with schema_context(tenant_a.schema):
        department = Department.objects.get()
    owner.post("/org-chart/teams/", {"name": "Tier 1", "department": department.pk})
    duplicate = owner.post("/org-chart/teams/", {"name": "tier 1", "department": department.pk})
    with schema_context(tenant_a.schema):
        team = Team.objects.get()
        lead = AgentFactory(name="Lead", department_id=department.pk)
        AgentFactory(name="Worker", team_id=team.pk, manager_id=lead.pk)

    page = viewer.get("/org-chart/").content.decode()

    assert duplicate.status_code == 400 and "already has a team called" in duplicate.content.decode()
    assert page.index("Support") < page.index("Tier 1") < page.index("Worker")
    reporting = page[page.index("Reporting lines") :]
    assert reporting.index("Lead") < reporting.index("Worker")
    assert "Add a department" not in page


def test_org_chart_delete_refuses_a_team_with_agents(tenant_a):
    owner = signed_in_client(tenant_a)
    with schema_context(tenant_a.schema):
        team = TeamFactory(name="Busy")
        AgentFactory(team_id=team.pk)

    response = owner.post(f"/org-chart/teams/{team.pk}/delete/", follow=True)

    assert "still has 1 agent(s)" in response.content.decode()
    with schema_context(tenant_a.schema):
        assert Team.objects.filter(pk=team.pk).exists()


def test_agent_pages_of_another_tenant_are_not_found(tenant_a, tenant_b):
    with schema_context(tenant_a.schema):
        agent = AgentFactory(name="Alpha only")
        team = TeamFactory(name="Alpha team")
    beta = signed_in_client(tenant_b)

    assert beta.get(f"/agents/{agent.pk}/").status_code == 404
    assert beta.post(f"/agents/{agent.pk}/archive/").status_code == 404
    assert beta.post(f"/org-chart/teams/{team.pk}/delete/").status_code == 404
    assert "Alpha" not in beta.get("/agents/").content.decode()
    assert "Alpha" not in beta.get("/org-chart/").content.decode()
