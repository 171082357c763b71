"""Our catalog (plans, add-ons and their prices) → Stripe Products and Prices, and the links.

Idempotent and safe to re-run: Products have ids we choose (`agentry_plan_<code>`,
`agentry_addon_<code>`); Prices are found by their `lookup_key`. A price whose amount changed
gets a new Stripe Price that takes the lookup key over (`transfer_lookup_key`); the old link is
kept, not current, so subscriptions still on the old Price keep resolving to the catalog.
Add-on Prices carry the metadata `agentry_add_on=<code>` (added to older Prices on a re-run).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import stripe
from django.db import transaction

from billing.models import CYCLE_MONTHS, AddOn, BillingCycle, Plan
from stripe_billing.client import stripe_client
from stripe_billing.models import StripePriceLink

# On every add-on Price: the mirror turns a subscription item whose Price carries it into a held add-on.
ADD_ON_METADATA_KEY = "agentry_add_on"

RECURRING: dict[str, dict[str, Any]] = {
    BillingCycle.MONTHLY: {"interval": "month", "interval_count": 1},
    BillingCycle.QUARTERLY: {"interval": "month", "interval_count": 3},
    BillingCycle.ANNUAL: {"interval": "year", "interval_count": 1},
}


@dataclass
class CatalogSyncReport:
    products_created: list[str] = field(default_factory=list)
    prices_created: list[str] = field(default_factory=list)
    prices_linked: list[str] = field(default_factory=list)
    prices_tagged: list[str] = field(default_factory=list)
    unchanged: int = 0


def _product_ensure(client: stripe.StripeClient, *, product_id: str, name: str, report: CatalogSyncReport) -> None:
    try:
        product = client.v1.products.retrieve(product_id)
    except stripe.InvalidRequestError as error:
        if error.code != "resource_missing":
            raise
        client.v1.products.create({"id": product_id, "name": name, "metadata": {"agentry": "catalog"}})
        report.products_created.append(product_id)
        return
    if product["name"] != name:
        client.v1.products.update(product_id, {"name": name})


def _price_ensure(
    client: stripe.StripeClient,
    *,
    product_id: str,
    lookup_key: str,
    amount: int,
    currency: str,
    cycle: str,
    link_fields: dict[str, Any],
    report: CatalogSyncReport,
    metadata: dict[str, str] | None = None,
) -> None:
    found = client.v1.prices.list({"lookup_keys": [lookup_key], "active": True, "limit": 1}).data
    price = found[0] if found else None
    recurring: Any = RECURRING[cycle]
    matches = (
        price is not None
        and price["unit_amount"] == amount
        and price["currency"] == currency.lower()
        and bool(price["recurring"])
        and (price["recurring"]["interval"], price["recurring"]["interval_count"])
        == (recurring["interval"], recurring["interval_count"])
    )
    if not matches:
        params: Any = {
            "product": product_id,
            "unit_amount": amount,
            "currency": currency.lower(),
            "recurring": recurring,
            "lookup_key": lookup_key,
            "transfer_lookup_key": True,
        }
        if metadata:
            params["metadata"] = metadata
        price = client.v1.prices.create(params)
        report.prices_created.append(lookup_key)
    assert price is not None
    tags: dict[str, str] = dict(price["metadata"] or {})
    if metadata and any(tags.get(key) != value for key, value in metadata.items()):
        # A Price created before add-ons carried metadata: the mirror recognises add-on items by it.
        price = client.v1.prices.update(price["id"], {"metadata": metadata})
        report.prices_tagged.append(lookup_key)
    with transaction.atomic():
        current = (
            StripePriceLink.objects.select_for_update().filter(is_current=True, **link_fields).order_by("pk").first()
        )
        if current is not None and current.stripe_price_id == price["id"]:
            report.unchanged += 1
            return
        StripePriceLink.objects.filter(is_current=True, **link_fields).update(is_current=False)
        StripePriceLink.objects.update_or_create(
            stripe_price_id=price["id"],
            defaults={**link_fields, "stripe_product_id": product_id, "is_current": True},
        )
    if matches:
        report.prices_linked.append(lookup_key)


def stripe_catalog_sync() -> CatalogSyncReport:
    """Create or find a Stripe Product per plan and add-on and a Price per catalog price (per cycle
    for add-ons, tagged `agentry_add_on=<code>`), and link them. Raises Stripe's errors (the command reports them)."""
    client = stripe_client()
    report = CatalogSyncReport()
    for plan in Plan.objects.prefetch_related("prices"):
        product_id = f"agentry_plan_{plan.code}".replace("-", "_")
        _product_ensure(client, product_id=product_id, name=f"Agentry {plan.name}", report=report)
        for plan_price in plan.prices.all():
            _price_ensure(
                client,
                product_id=product_id,
                lookup_key=f"{product_id}_{plan_price.billing_cycle}_{plan_price.currency}".lower(),
                amount=plan_price.amount,
                currency=plan_price.currency,
                cycle=plan_price.billing_cycle,
                link_fields={"plan_price": plan_price},
                report=report,
            )
    for add_on in AddOn.objects.prefetch_related("prices"):
        product_id = f"agentry_addon_{add_on.code}".replace("-", "_")
        _product_ensure(client, product_id=product_id, name=f"Agentry {add_on.name}", report=report)
        for add_on_price in add_on.prices.all():
            for cycle, months in CYCLE_MONTHS.items():
                _price_ensure(
                    client,
                    product_id=product_id,
                    lookup_key=f"{product_id}_{cycle}_{add_on_price.currency}".lower(),
                    amount=add_on_price.amount * months,
                    currency=add_on_price.currency,
                    cycle=cycle,
                    link_fields={"add_on_price": add_on_price, "billing_cycle": cycle},
                    report=report,
                    metadata={ADD_ON_METADATA_KEY: add_on.code},
                )
    return report
