"""Fixtures of the Stripe backend's tests: Stripe settings, the fake Stripe, a linked catalog."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import stripe
from django.test import Client

from billing.models import CYCLE_MONTHS, AddOnPrice, PlanPrice
from stripe_billing.catalog import ADD_ON_METADATA_KEY
from stripe_billing.models import StripeCustomerLink, StripePriceLink
from stripe_billing.tests import stripe_objects
from stripe_billing.tests.fake_stripe import FakeStripe
from tenants.models import Tenant

SECRET_KEY = "sk_test_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4"
PUBLISHABLE_KEY = "pk_test_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4"
WEBHOOK_SECRET = "whsec_" + "testsecretforagentrywebhooks0123"
PUBLIC_HOST = "localhost"


@pytest.fixture(autouse=True)
def stripe_settings(settings: Any) -> Any:
    settings.BILLING_BACKEND = "stripe"
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_PUBLISHABLE_KEY = PUBLISHABLE_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_LIVE_MODE = False
    return settings


@pytest.fixture
def fake_stripe(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeStripe]:
    fake = FakeStripe()
    monkeypatch.setattr(stripe, "default_http_client", fake)
    yield fake
    assert not fake.unexpected, f"unexpected Stripe requests: {fake.unexpected}"


CYCLE_INTERVALS = {"monthly": ("month", 1), "quarterly": ("month", 3), "annual": ("year", 1)}


@dataclass(frozen=True)
class Catalog:
    """Stripe Prices linked to the seeded plan prices: `price(plan_code, cycle)` → Price object (USD);
    and to the add-on prices, per cycle and tagged `agentry_add_on` as `stripe_sync_catalog` makes them:
    `add_on_price(code, cycle)`."""

    prices: dict[tuple[str, str], dict[str, Any]]
    add_on_prices: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def price(self, plan_code: str, cycle: str = "monthly") -> dict[str, Any]:
        return self.prices[(plan_code, cycle)]

    def add_on_price(self, code: str, cycle: str = "monthly") -> dict[str, Any]:
        return self.add_on_prices[(code, cycle)]


@pytest.fixture
def catalog(db: None, fake_stripe: FakeStripe) -> Catalog:
    prices = {}
    for plan_price in PlanPrice.objects.filter(currency="USD").select_related("plan"):
        code, cycle = plan_price.plan.code, plan_price.billing_cycle
        product_id = f"agentry_plan_{code}"
        interval, count = CYCLE_INTERVALS[cycle]
        data = stripe_objects.price(
            f"price_{code}_{cycle}", product_id=product_id, amount=plan_price.amount, interval=interval, count=count
        )
        fake_stripe.put(stripe_objects.product(product_id, name=f"Agentry {plan_price.plan.name}"), data)
        StripePriceLink.objects.create(plan_price=plan_price, stripe_price_id=data["id"], stripe_product_id=product_id)
        prices[(code, cycle)] = data
    add_on_prices = {}
    for add_on_price in AddOnPrice.objects.filter(currency="USD").select_related("add_on"):
        code = add_on_price.add_on.code
        product_id = f"agentry_addon_{code}"
        fake_stripe.put(stripe_objects.product(product_id, name=f"Agentry {add_on_price.add_on.name}"))
        for cycle, months in CYCLE_MONTHS.items():
            interval, count = CYCLE_INTERVALS[cycle]
            data = stripe_objects.price(
                f"price_addon_{code}_{cycle}",
                product_id=product_id,
                amount=add_on_price.amount * months,
                interval=interval,
                count=count,
                metadata={ADD_ON_METADATA_KEY: code},
            )
            fake_stripe.put(data)
            StripePriceLink.objects.create(
                add_on_price=add_on_price, billing_cycle=cycle, stripe_price_id=data["id"], stripe_product_id=product_id
            )
            add_on_prices[(code, cycle)] = data
    return Catalog(prices=prices, add_on_prices=add_on_prices)


def link_customer(fake: FakeStripe, tenant: Tenant, customer_id: str = "") -> StripeCustomerLink:
    """The tenant as a Stripe customer (what `customer_ensure` leaves behind)."""
    customer_id = customer_id or f"cus_{tenant.slug.replace('-', '')}"
    fake.put(stripe_objects.customer(customer_id, email=tenant.billing_email))
    return StripeCustomerLink.objects.create(tenant=tenant, customer_id=customer_id)


def post_event(client: Client, event: dict[str, Any], *, signature: str | None = None) -> Any:
    payload = json.dumps(event)
    header = stripe_objects.signature_header(payload) if signature is None else signature
    return client.post("/stripe/webhook/", data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)
