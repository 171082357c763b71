"""Billing with BILLING_BACKEND=stripe in Chromium: an owner subscribes through Stripe Checkout.

Stripe is the in-process fake (stripe_billing/tests/fake_stripe.py); Chromium's request to the
Checkout page is answered by Playwright, so nothing leaves the machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import stripe
from djstripe import models as djstripe_models
from playwright.sync_api import Page, expect

from billing.models import PlanPrice
from portal.tests.browser.conftest import LiveSite, provision_tenant, sign_in
from stripe_billing.models import StripeAccountBinding, StripeCustomerLink, StripePriceLink
from stripe_billing.tests import stripe_objects
from stripe_billing.tests.conftest import PUBLISHABLE_KEY, SECRET_KEY, WEBHOOK_SECRET
from stripe_billing.tests.fake_stripe import FakeStripe

pytestmark = pytest.mark.browser

CHECKOUT_URL = "https://checkout.stripe.com/c/pay/cs_browser"


@pytest.fixture
def stripe_backend(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeStripe]:
    """The fake Stripe and a committed link of Professional's monthly USD price; all removed after."""
    fake = FakeStripe()
    monkeypatch.setattr(stripe, "default_http_client", fake)
    plan_price = PlanPrice.objects.get(plan__code="professional", billing_cycle="monthly", currency="USD")
    link = StripePriceLink.objects.create(
        plan_price=plan_price, stripe_price_id="price_browser", stripe_product_id="prod_browser"
    )
    yield fake
    assert not fake.unexpected, fake.unexpected
    link.delete()
    StripeCustomerLink.objects.filter(customer_id="cus_browser").delete()
    djstripe_models.Customer.objects.filter(id="cus_browser").delete()
    djstripe_models.Account.objects.filter(id="acct_agentrytest").delete()
    StripeAccountBinding.objects.filter(account_id="acct_agentrytest").delete()


def test_owner_subscribes_through_stripe_checkout(
    page: Page, site: LiveSite, stripe_backend: FakeStripe, settings: Any
):
    workspace = provision_tenant(name_prefix="stripe-checkout")  # on Professional, before Stripe billing
    settings.BILLING_BACKEND = "stripe"
    settings.STRIPE_SECRET_KEY, settings.STRIPE_PUBLISHABLE_KEY = SECRET_KEY, PUBLISHABLE_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET

    def customer_create(params: dict[str, str], match: Any) -> dict[str, Any]:
        customer = stripe_objects.customer("cus_browser", email=params["email"])
        stripe_backend.put(customer)
        return customer

    stripe_backend.on("POST", "/v1/customers", customer_create)
    stripe_backend.on(
        "POST",
        "/v1/checkout/sessions",
        lambda params, match: stripe_objects.template("checkout.session", id="cs_browser", url=CHECKOUT_URL),
    )
    page.route(
        "https://checkout.stripe.com/**",
        lambda route: route.fulfill(content_type="text/html", body="<h1>Stripe Checkout (test)</h1>"),
    )
    sign_in(page, site, slug=workspace.slug, email=workspace.owner_email)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Billing").click()
    expect(page.get_by_role("heading", name="Subscription and payment")).to_be_visible()
    expect(page.get_by_role("button", name="Manage payment method")).to_have_count(0)
    page.get_by_role("button", name="Subscribe to Professional").click()

    page.wait_for_url(CHECKOUT_URL)
    expect(page.get_by_role("heading", name="Stripe Checkout (test)")).to_be_visible()
    (session,) = stripe_backend.sent("POST", "/v1/checkout/sessions")
    assert session.params["line_items[0][price]"] == "price_browser"
    assert session.params["success_url"] == site.tenant_url(workspace.slug, "/billing/?checkout=success")
    assert StripeCustomerLink.objects.get(tenant=workspace.tenant).customer_id == "cus_browser"
