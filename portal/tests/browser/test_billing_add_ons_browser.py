"""Billing in Chromium: buy an add-on through its confirmation, then switch the billing cycle."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from billing.entitlements import entitlements_for
from billing.selectors import subscription_of_tenant
from portal.tests.browser.conftest import LiveSite, provision_tenant, sign_in

pytestmark = pytest.mark.browser


def test_owner_buys_an_add_on_and_switches_to_annual_billing(page: Page, site: LiveSite) -> None:
    workspace = provision_tenant(name_prefix="addons")
    agents_before = entitlements_for(tenant=workspace.tenant).limits["agents"]
    assert agents_before is not None  # Professional has a finite agent limit
    sign_in(page, site, slug=workspace.slug, email=workspace.owner_email)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Billing").click()
    page.get_by_role("link", name="Add-ons").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add-ons")
    page.get_by_role("link", name="Buy 10 extra agents").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Buy 10 extra agents")
    expect(page.locator("#add-on-charge-now")).to_contain_text("for the rest of this period")
    page.get_by_role("button", name="Confirm purchase").click()

    expect(page.get_by_text("10 extra agents is active now.")).to_be_visible()
    expect(page.get_by_text("Active × 1")).to_be_visible()
    assert entitlements_for(tenant=workspace.tenant).limits["agents"] == agents_before + 10

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Billing").click()
    expect(page.locator("#billing-add-ons")).to_have_text("10 extra agents × 1")
    page.get_by_role("link", name="Change billing cycle").click()
    page.get_by_label("Annual", exact=False).check()
    page.get_by_role("button", name="Change billing cycle").click()

    expect(page.get_by_text("You will be billed annual from")).to_be_visible()
    expect(page.get_by_text("Scheduled change", exact=True)).to_be_visible()
    subscription = subscription_of_tenant(tenant=workspace.tenant)
    assert subscription is not None and subscription.scheduled_cycle == "annual"
