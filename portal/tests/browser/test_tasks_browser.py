"""Delegated tasks in Chromium: an owner assigns a manager a task handed on to its two reports, the
runner completes the chain, the owner follows it from parent to child; a task over an agent's
budget waits for approval, which a member cannot give and the owner rejects."""

from __future__ import annotations

import re

import pytest
from django_tenants.utils import schema_context
from playwright.sync_api import Browser, Page, expect

from agents.models import AgentTask
from agents.task_runner import agent_task_run
from agents.tests.factories import AgentFactory
from portal.tests.browser.conftest import LiveSite, add_member, new_visitor, provision_tenant, sign_in

pytestmark = pytest.mark.browser


def _run_queued(schema: str) -> None:
    """What the Celery worker does (tested on a real worker in agents/tests/test_tasks_worker.py)."""
    with schema_context(schema):
        while queued := list(AgentTask.objects.filter(status="queued").values_list("pk", flat=True)):
            for task_id in queued:
                agent_task_run(task_id=task_id)


def test_owner_delegates_a_task_through_a_manager_and_follows_the_chain(
    page: Page, site: LiveSite, chromium: Browser
) -> None:
    workspace = provision_tenant(name_prefix="tasks")
    schema = workspace.tenant.schema_name
    with schema_context(schema):
        boss = AgentFactory.create(name="Boss", type="manager", status="active", tools=["delegate_task"])
        for name in ("North", "South"):
            AgentFactory.create(name=name, status="active", manager_id=boss.pk)
        frugal = AgentFactory.create(name="Frugal", status="active", daily_token_budget=5)
    sign_in(page, site, slug=workspace.slug, email=workspace.owner_email)

    page.goto(site.tenant_url(workspace.slug, f"/agents/{boss.pk}/"))
    form = page.get_by_role("form", name="Assign a task")
    form.get_by_label("Title").fill("Quarterly numbers")
    form.get_by_label("Instructions").fill("Report your region's numbers.")
    form.get_by_label("North").check()
    form.get_by_label("South").check()
    form.get_by_role("button", name="Assign").click()
    expect(page.get_by_role("status")).to_contain_text("“Quarterly numbers” was assigned to Boss.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Queued")

    _run_queued(schema)
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Done")
    children = page.locator("#task-children li")
    expect(children).to_have_count(2)
    expect(children.first).to_contain_text("North: Quarterly numbers")
    expect(page.locator("#task-result")).to_contain_text("## North")
    expect(page.locator("#task-result")).to_contain_text("## South")
    page.screenshot(path="/tmp/agentry-task-chain.png", full_page=True)

    children.get_by_role("link", name=re.compile("^South")).click()
    expect(page.locator("#task-ancestors")).to_contain_text("Quarterly numbers (Boss)")
    expect(page.get_by_text("Delegated by")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Tasks").click()
    page.get_by_label("Status").select_option(label="Done")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("row")).to_have_count(4)  # the header, the parent and its two sub-tasks

    page.goto(site.tenant_url(workspace.slug, f"/agents/{frugal.pk}/"))
    form = page.get_by_role("form", name="Assign a task")
    form.get_by_label("Title").fill("Rewrite the handbook")
    form.get_by_role("button", name="Assign").click()
    expect(page.get_by_role("status")).to_contain_text("waits for an owner's or admin's approval")
    expect(page.locator("#task-approval")).to_contain_text("left of today's token budget")
    task_url = page.url

    member = new_visitor(chromium).new_page()
    sign_in(member, site, slug=workspace.slug, email=add_member(workspace, role="member"))
    member.goto(task_url)
    expect(member.locator("#task-approval")).to_contain_text("Ask an owner or admin to approve it.")
    expect(member.get_by_role("button", name="Approve")).to_have_count(0)
    member.context.close()

    page.get_by_label("Reason").fill("Too long for today")
    page.get_by_role("button", name="Reject").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Cancelled")
    expect(page.locator("#task-error")).to_contain_text("Too long for today")
    with schema_context(schema):
        rejected = AgentTask.objects.get(title="Rewrite the handbook")
        assert (rejected.status, rejected.rejected_by_label) == ("cancelled", workspace.owner_email)
