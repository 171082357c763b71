"""Billing in Chromium: upgrade from the plan comparison through the proration preview, then the invoice."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from billing.selectors import invoice_list_of_tenant
from portal.tests.browser.conftest import LiveSite, provision_tenant, sign_in
from tenants.models import Tenant

pytestmark = pytest.mark.browser

SCREENSHOT = "/tmp/agentry-billing.png"


def _invoice_numbers(tenant: Tenant) -> set[str]:
    return set(invoice_list_of_tenant(tenant=tenant).values_list("number", flat=True))


def test_owner_upgrades_through_the_proration_preview_and_opens_the_new_invoice(page: Page, site: LiveSite) -> None:
    workspace = provision_tenant(name_prefix="billing")
    invoices_before = _invoice_numbers(workspace.tenant)
    sign_in(page, site, slug=workspace.slug, email=workspace.owner_email)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Billing").click()
    expect(page.get_by_role("heading", name="Current plan: Professional")).to_be_visible()
    page.screenshot(path=SCREENSHOT, full_page=True)
    page.get_by_role("link", name="Upgrade to Enterprise").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Upgrade to Enterprise")
    expect(page.get_by_role("heading", name="Proration preview")).to_be_visible()
    expect(page.get_by_role("rowheader", name="Due now")).to_be_visible()
    page.get_by_role("button", name="Confirm upgrade").click()

    expect(page.get_by_text("You are now on Enterprise.")).to_be_visible()
    expect(page.get_by_role("heading", name="Current plan: Enterprise")).to_be_visible()
    new_invoices = _invoice_numbers(workspace.tenant) - invoices_before
    assert len(new_invoices) == 1
    number = new_invoices.pop()

    page.get_by_role("link", name=number).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Invoice {number}")
    expect(page.get_by_role("cell", name="Remaining time on Enterprise")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
