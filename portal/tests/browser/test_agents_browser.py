"""Agents and the org chart in Chromium: build a small organisation, create agents in it, see the
reporting lines, pause one; a viewer sees everything and can change nothing."""

from __future__ import annotations

import re

import pytest
from django_tenants.utils import schema_context
from playwright.sync_api import Browser, Page, expect

from agents.models import Agent
from portal.tests.browser.conftest import LiveSite, add_member, new_visitor, provision_tenant, sign_in

pytestmark = pytest.mark.browser


def _create_agent(page: Page, *, name: str, type_label: str, team: str, reports_to: str = "", activate: bool) -> None:
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Type", exact=True).select_option(label=type_label)
    page.get_by_label("Team", exact=True).select_option(label=team)
    if reports_to:
        page.get_by_label("Reports to").select_option(label=reports_to)
    page.get_by_label("System prompt").fill(f"You are {name}. Answer from the help centre only.")
    page.get_by_label("Search the knowledge bases it may use").check()
    if activate:
        page.get_by_label("Activate now").check()
    page.get_by_role("button", name="Create agent").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)


def test_owner_builds_an_organisation_of_agents(page: Page, site: LiveSite, chromium: Browser) -> None:
    workspace = provision_tenant(name_prefix="agents")
    sign_in(page, site, slug=workspace.slug, email=workspace.owner_email)
    nav = page.get_by_role("navigation", name="Main")

    nav.get_by_role("link", name="Agents").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Agents")
    expect(page.get_by_text("No agents yet.")).to_be_visible()
    expect(page.locator("#agent-slots")).to_contain_text("0 of 25 agent slots in use")

    nav.get_by_role("link", name="Org chart").click()
    expect(page.get_by_text("Nothing to show yet.")).to_be_visible()
    expect(page.get_by_text("add a department first")).to_be_visible()
    page.get_by_label("Department name").fill("Customer Service")
    page.get_by_role("button", name="Add department").click()
    expect(page.get_by_role("status")).to_contain_text("Department “Customer Service” was added.")
    page.get_by_label("Team name").fill("Tier 1")
    page.get_by_role("button", name="Add team").click()
    expect(page.get_by_role("status")).to_contain_text("Team “Tier 1” was added.")

    nav.get_by_role("link", name="Agents").click()
    page.get_by_role("link", name="Create your first agent").click()
    _create_agent(page, name="Support Lead", type_label="Manager", team="Tier 1 (Customer Service)", activate=True)
    expect(page.get_by_role("status")).to_contain_text("“Support Lead” was created as active.")
    page.get_by_role("link", name="All agents").click()
    page.get_by_role("link", name="New agent").click()
    _create_agent(
        page,
        name="Ava",
        type_label="Customer support",
        team="Tier 1 (Customer Service)",
        reports_to="Support Lead",
        activate=False,
    )
    expect(page.get_by_role("heading", level=1)).to_contain_text("Draft")
    expect(page.get_by_text("Reports to")).to_be_visible()
    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_role("status")).to_contain_text("“Ava” is now active.")
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Paused")

    nav.get_by_role("link", name="Agents").click()
    expect(page.locator("#agent-slots")).to_contain_text("2 of 25 agent slots in use")
    ava = page.get_by_role("row", name=re.compile("Ava"))
    expect(ava).to_contain_text("Customer Service / Tier 1")
    expect(ava).to_contain_text("Support Lead")
    page.get_by_label("Status").select_option(label="Paused")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("row")).to_have_count(2)  # the header and Ava
    page.screenshot(path="/tmp/agentry-agents.png", full_page=True)

    nav.get_by_role("link", name="Org chart").click()
    team = page.locator(".org-team", has_text="Tier 1")
    expect(team).to_contain_text("Support Lead")
    expect(team).to_contain_text("Ava")
    lead_line = page.locator(".reporting-tree > li", has_text="Support Lead")
    expect(lead_line.locator("ul li")).to_have_text(re.compile("^Ava"))
    page.screenshot(path="/tmp/agentry-org-chart.png", full_page=True)

    with schema_context(workspace.tenant.schema_name):
        ava_row = Agent.objects.get(name="Ava")
        assert ava_row.manager is not None
        assert (ava_row.status, ava_row.manager.name, ava_row.tools) == ("paused", "Support Lead", ["knowledge_search"])

    viewer_email = add_member(workspace, role="viewer")
    viewer = new_visitor(chromium).new_page()
    sign_in(viewer, site, slug=workspace.slug, email=viewer_email)
    viewer.get_by_role("navigation", name="Main").get_by_role("link", name="Org chart").click()
    expect(viewer.locator(".org-team", has_text="Tier 1")).to_contain_text("Ava")
    expect(viewer.get_by_role("button", name="Add department")).to_have_count(0)
    viewer.get_by_role("link", name="Ava").first.click()
    expect(viewer.get_by_role("heading", level=1)).to_contain_text("Ava")
    expect(viewer.get_by_role("button", name="Activate")).to_have_count(0)
    expect(viewer.get_by_role("link", name="Edit")).to_have_count(0)
    viewer.goto(site.tenant_url(workspace.slug, "/agents/new/"))
    expect(viewer.get_by_role("heading", level=1)).not_to_have_text("New agent")
    viewer.context.close()
