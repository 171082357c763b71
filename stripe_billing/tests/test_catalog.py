"""`manage.py stripe_sync_catalog` against the fake Stripe: creates, then finds, then re-prices."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from billing.models import AddOnPrice, PlanPrice
from stripe_billing.models import StripePriceLink
from stripe_billing.selectors import stripe_price_id_for_plan
from stripe_billing.tests import stripe_objects
from stripe_billing.tests.fake_stripe import FakeStripe


def _metadata(params: dict[str, str]) -> dict[str, str]:
    return {key[9:-1]: value for key, value in params.items() if key.startswith("metadata[")}


@pytest.fixture
def stripe_catalog(fake_stripe: FakeStripe) -> FakeStripe:
    """Products and Prices endpoints over the fake's store, as Stripe behaves for them."""

    def product_create(params: dict[str, str], match: Any) -> dict[str, Any]:
        product = stripe_objects.product(params["id"], name=params["name"])
        fake_stripe.put(product)
        return product

    def price_list(params: dict[str, str], match: Any) -> dict[str, Any]:
        key = params["lookup_keys[0]"]
        found = [o for o in fake_stripe.objects.values() if o.get("object") == "price" and o.get("lookup_key") == key]
        return {"object": "list", "data": found, "has_more": False, "url": "/v1/prices"}

    def price_create(params: dict[str, str], match: Any) -> dict[str, Any]:
        for other in fake_stripe.objects.values():  # transfer_lookup_key
            if other.get("object") == "price" and other.get("lookup_key") == params["lookup_key"]:
                other["lookup_key"] = None
        price = stripe_objects.price(
            f"price_{len(fake_stripe.objects)}",
            product_id=params["product"],
            amount=int(params["unit_amount"]),
            currency=params["currency"],
            interval=params["recurring[interval]"],
            count=int(params["recurring[interval_count]"]),
        )
        price["lookup_key"] = params["lookup_key"]
        price["metadata"] = _metadata(params)
        fake_stripe.put(price)
        return price

    def price_update(params: dict[str, str], match: Any) -> dict[str, Any]:
        price = fake_stripe.objects[match["id"]]
        price["metadata"] = {**price["metadata"], **_metadata(params)}
        return price

    fake_stripe.on("POST", "/v1/products", product_create)
    fake_stripe.on("GET", "/v1/prices", price_list)
    fake_stripe.on("POST", "/v1/prices", price_create)
    fake_stripe.on("POST", r"/v1/prices/(?P<id>price_\w+)", price_update)
    return fake_stripe


def _sync() -> str:
    out = StringIO()
    call_command("stripe_sync_catalog", stdout=out)
    return out.getvalue()


def test_sync_creates_products_and_prices_then_finds_them_again(db, stripe_catalog):
    plan_prices, add_on_prices = PlanPrice.objects.count(), AddOnPrice.objects.count()

    output = _sync()

    assert StripePriceLink.objects.filter(is_current=True, plan_price__isnull=False).count() == plan_prices
    assert StripePriceLink.objects.filter(is_current=True, add_on_price__isnull=False).count() == 3 * add_on_prices
    assert f"{plan_prices + 3 * add_on_prices} prices created" in output
    professional = PlanPrice.objects.get(plan__code="professional", billing_cycle="annual", currency="EUR")
    price = stripe_catalog.objects[professional.stripe_links.get().stripe_price_id]
    assert (price["unit_amount"], price["currency"], price["recurring"]["interval"]) == (
        professional.amount,
        "eur",
        "year",
    )
    assert price["lookup_key"] == "agentry_plan_professional_annual_eur"

    requests_before = len(stripe_catalog.requests)
    assert "0 prices created" in _sync()
    assert not [r for r in stripe_catalog.requests[requests_before:] if r.method == "POST"]


def test_a_changed_amount_gets_a_new_price_and_the_old_one_keeps_resolving(db, stripe_catalog):
    _sync()
    starter = PlanPrice.objects.get(plan__code="starter", billing_cycle="monthly", currency="USD")
    old_price_id = stripe_price_id_for_plan(plan=starter.plan, billing_cycle="monthly", currency="USD")
    PlanPrice.objects.filter(pk=starter.pk).update(amount=5900)

    assert "1 prices created" in _sync()

    new_price_id = stripe_price_id_for_plan(plan=starter.plan, billing_cycle="monthly", currency="USD")
    assert new_price_id != old_price_id
    assert stripe_catalog.objects[new_price_id]["unit_amount"] == 5900
    assert StripePriceLink.objects.get(stripe_price_id=old_price_id).is_current is False


def test_sync_without_a_secret_key_fails_with_a_clear_message(db, fake_stripe, settings):
    settings.STRIPE_SECRET_KEY = ""

    with pytest.raises(CommandError, match="STRIPE_SECRET_KEY is missing"):
        _sync()


def test_add_on_prices_carry_their_add_on_and_older_prices_get_tagged(db, stripe_catalog):
    _sync()
    pack = AddOnPrice.objects.get(add_on__code="extra_agents_10", currency="USD")
    annual = stripe_catalog.objects[pack.stripe_links.get(billing_cycle="annual").stripe_price_id]
    assert annual["metadata"] == {"agentry_add_on": "extra_agents_10"}
    assert annual["unit_amount"] == pack.amount * 12
    annual["metadata"] = {}  # as created before add-on Prices carried metadata

    output = _sync()

    assert "tagged price agentry_addon_extra_agents_10_annual_usd with its add-on" in output
    assert "0 prices created" in output
    (update,) = stripe_catalog.sent("POST", f"/v1/prices/{annual['id']}")
    assert update.params == {"metadata[agentry_add_on]": "extra_agents_10"}
    assert annual["metadata"] == {"agentry_add_on": "extra_agents_10"}
