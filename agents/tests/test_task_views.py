"""The portal's task pages through Django's test client: assigning from an agent's page (with
delegation), the list and its status filter, a task's chain, approval by owners and admins only,
and two tenants."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from accounts.models import Role
from agents.models import AgentTask
from agents.task_runner import agent_task_run
from agents.task_services import agent_task_create
from agents.tests.factories import TESTS, AgentFactory
from conftest import make_member, signed_in_client


@pytest.fixture
def org(tenant_a):
    with schema_context(tenant_a.schema):
        manager = AgentFactory.create(name="Boss", type="manager", status="active", tools=["delegate_task"])
        report = AgentFactory.create(name="Helper", status="active", manager_id=manager.pk)
        frugal = AgentFactory.create(name="Frugal", status="active", daily_token_budget=5)
    return {"manager": manager, "report": report, "frugal": frugal}


def test_agent_page_assign_form_offers_delegation_only_to_reachable_agents(tenant_a, org):
    owner = signed_in_client(tenant_a)

    boss_page = owner.get(f"/agents/{org['manager'].pk}/").content.decode()
    helper_page = owner.get(f"/agents/{org['report'].pk}/").content.decode()

    assert "Assign a task" in boss_page and "Hand it on to" in boss_page and "Helper" in boss_page
    assert "Frugal</label>" not in boss_page  # not in its line or team
    assert "Assign a task" in helper_page and "Hand it on to" not in helper_page  # no delegate_task tool


def test_assign_a_task_with_delegation_then_see_the_chain(tenant_a, org):
    owner = signed_in_client(tenant_a)

    response = owner.post(
        f"/agents/{org['manager'].pk}/tasks/",
        {"title": "Plan the launch", "text": "Split it.", "delegate_to": [org["report"].pk]},
    )

    with schema_context(tenant_a.schema):
        parent = AgentTask.objects.get(title="Plan the launch", parent=None)
        agent_task_run(task_id=parent.pk)
        child = AgentTask.objects.get(parent=parent)
    assert response.status_code == 302 and response["Location"] == f"/tasks/{parent.pk}/"
    assert parent.created_by_label == "owner@alpha.test"
    parent_page = owner.get(f"/tasks/{parent.pk}/").content.decode()
    child_page = owner.get(f"/tasks/{child.pk}/").content.decode()
    assert 'id="task-children"' in parent_page and f"/tasks/{child.pk}/" in parent_page
    assert 'id="task-ancestors"' in child_page and f"/tasks/{parent.pk}/" in child_page
    assert "Delegated by" in child_page and "Boss" in child_page


def test_assign_a_task_refused_shows_the_error_on_the_agent_page(tenant_a, org):
    owner = signed_in_client(tenant_a)

    response = owner.post(f"/agents/{org['manager'].pk}/tasks/", {"title": "   "})

    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    with schema_context(tenant_a.schema):
        assert not AgentTask.objects.exists()


def test_tasks_page_lists_and_filters_by_status(tenant_a, org):
    with schema_context(tenant_a.schema):
        agent_task_create(agent=org["report"], title="Routine", actor=TESTS)
        agent_task_create(agent=org["frugal"], title="Expensive", actor=TESTS)
    owner = signed_in_client(tenant_a)

    everything = owner.get("/tasks/").content.decode()
    waiting = owner.get("/tasks/?status=waiting_approval").content.decode()

    assert "Routine" in everything and "Expensive" in everything
    assert "Expensive" in waiting and "Routine" not in waiting
    assert owner.get("/tasks/?status=bogus").status_code == 400


def test_only_owners_and_admins_see_and_use_approve(tenant_a, org):
    with schema_context(tenant_a.schema):
        task = agent_task_create(agent=org["frugal"], title="Expensive", actor=TESTS)
    make_member(tenant_a, email="member@alpha.test", role=Role.MEMBER)
    member = signed_in_client(tenant_a, "member@alpha.test")
    owner = signed_in_client(tenant_a)

    member_page = member.get(f"/tasks/{task.pk}/").content.decode()
    assert "Approve</button>" not in member_page and "Ask an owner or admin to approve it." in member_page
    assert member.post(f"/tasks/{task.pk}/approve/").status_code == 403
    assert "Approve</button>" in owner.get(f"/tasks/{task.pk}/").content.decode()

    response = owner.post(f"/tasks/{task.pk}/approve/", follow=True)

    assert "is now queued" in response.content.decode()
    with schema_context(tenant_a.schema):
        assert AgentTask.objects.get(pk=task.pk).approved_by_label == "owner@alpha.test"


def test_viewers_cannot_assign_or_cancel(tenant_a, org):
    make_member(tenant_a, email="viewer@alpha.test", role=Role.VIEWER)
    viewer = signed_in_client(tenant_a, "viewer@alpha.test")
    with schema_context(tenant_a.schema):
        task = agent_task_create(agent=org["report"], title="Routine", actor=TESTS)

    assert "Assign a task" not in viewer.get(f"/agents/{org['report'].pk}/").content.decode()
    assert viewer.post(f"/agents/{org['report'].pk}/tasks/", {"title": "x"}).status_code == 403
    assert viewer.post(f"/tasks/{task.pk}/cancel/").status_code == 403
    with schema_context(tenant_a.schema):
        assert AgentTask.objects.get(pk=task.pk).status == "queued"


def test_task_pages_of_another_tenant_are_404(tenant_a, tenant_b, org):
    with schema_context(tenant_a.schema):
        task = agent_task_create(agent=org["frugal"], title="Alpha secret task", actor=TESTS)
    beta_owner = signed_in_client(tenant_b)

    assert "Alpha secret task" not in beta_owner.get("/tasks/").content.decode()
    assert beta_owner.get(f"/tasks/{task.pk}/").status_code == 404
    for action in ("approve", "reject", "cancel"):
        assert beta_owner.post(f"/tasks/{task.pk}/{action}/").status_code == 404
    assert beta_owner.post(f"/agents/{org['frugal'].pk}/tasks/", {"title": "Spy"}).status_code == 404
    with schema_context(tenant_a.schema):
        assert AgentTask.objects.get(pk=task.pk).status == "waiting_approval"
        assert AgentTask.objects.count() == 1
