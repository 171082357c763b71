"""The card on file in Chromium: a declining test card fails "Pay now", a good one pays the invoice."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from billing.models import InvoiceStatus
from billing.selectors import invoice_list_of_tenant
from portal.tests.browser.conftest import LiveSite, provision_tenant, sign_in

pytestmark = pytest.mark.browser


def _add_card(page: Page, number: str) -> None:
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiry month").fill("12")
    page.get_by_label("Expiry year").fill(str(timezone.now().year + 2))
    page.get_by_role("button", name="Save card").click()


def test_owner_pays_an_open_invoice_after_replacing_a_declining_card(page: Page, site: LiveSite) -> None:
    workspace = provision_tenant(name_prefix="card")
    [invoice] = invoice_list_of_tenant(tenant=workspace.tenant)
    sign_in(page, site, slug=workspace.slug, email=workspace.owner_email)
    page.goto(site.tenant_url(workspace.slug, "/billing/"))
    expect(page.get_by_text("No card on file")).to_be_visible()

    page.get_by_role("link", name="Add a card").click()
    _add_card(page, "4000 0000 0000 0002")
    expect(page.get_by_text("Visa •••• 0002 is now the card on file.")).to_be_visible()
    page.get_by_role("button", name=f"Pay {invoice.number} now").click()
    expect(page.get_by_text("Visa •••• 0002 was declined (card_declined). Try another card.")).to_be_visible()

    page.get_by_role("link", name="← Billing").click()
    page.get_by_role("link", name="Replace card").click()
    _add_card(page, "4242 4242 4242 4242")
    page.get_by_role("button", name=f"Pay {invoice.number} now").click()

    expect(page.get_by_text(f"Invoice {invoice.number} is paid. Thank you.")).to_be_visible()
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
