"""The Leads page in Chromium: leads captured from visitors' messages, filtered, qualified, and
exported as CSV; the Privacy page erases one visitor."""

from __future__ import annotations

import csv
import io

import pytest
from django_tenants.utils import schema_context
from playwright.sync_api import Page, expect

from leads.models import Lead
from leads.tests.factories import conversation_for_tests, visitor_says
from portal.tests.browser.conftest import LiveSite, provision_tenant, sign_in

pytestmark = pytest.mark.browser


def test_owner_works_through_leads_and_erases_one(page: Page, site: LiveSite) -> None:
    workspace = provision_tenant(name_prefix="leads")
    with schema_context(workspace.tenant.schema_name):
        visitor_says(conversation_for_tests(session_id="a"), "I'm Sarah Connor from Cyberdyne, sarah@cyberdyne.example")
        visitor_says(conversation_for_tests(session_id="b"), "name: Li Wei, +86 138 0013 8000, I'd like a demo")
    sign_in(page, site, slug=workspace.slug, email=workspace.owner_email)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Leads").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Leads")
    table = page.locator("#leads-table")
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table).to_contain_text("Sarah Connor")
    expect(table).to_contain_text("Cyberdyne")

    page.get_by_label("Intent").select_option(label="Wants a demo")
    page.get_by_role("button", name="Filter").click()
    expect(table.locator("tbody tr")).to_have_count(1)
    li = table.get_by_role("row", name="Li Wei")
    li.get_by_label("Status").select_option(label="Qualified")
    li.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("The lead is now “Qualified”.")
    expect(page.get_by_label("Intent")).to_have_value("demo")  # back on the same filtered list

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    with open(download_info.value.path(), encoding="utf-8") as exported:
        rows = list(csv.DictReader(io.StringIO(exported.read())))
    assert [(row["name"], row["status"], row["intent"]) for row in rows] == [("Li Wei", "qualified", "demo")]

    page.get_by_role("link", name="Clear filters").click()
    page.get_by_role("link", name="Privacy: retention and erasing a visitor's data").click()
    page.get_by_label("Email address").fill("sarah@cyberdyne.example")
    page.get_by_role("button", name="Erase").click()
    expect(page.get_by_role("status")).to_contain_text("Erased 1 conversation(s), 1 message(s) and 1 lead(s).")
    with schema_context(workspace.tenant.schema_name):
        assert list(Lead.objects.values_list("name", flat=True)) == ["Li Wei"]
