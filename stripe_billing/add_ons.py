"""Add-ons on Stripe: each one held is an item of the tenant's Stripe subscription.

Buying adds an item on the add-on's Price for the subscription's cycle and currency with
`proration_behavior=create_prorations`: Stripe computes what the rest of the current period costs
and bills it on the next invoice (nothing is charged at once; during a trial it is nothing).
Removing deletes the item with `proration_behavior=none`: the unused time is not credited, the
same rule as the local backend's. Either way the subscription is fetched afterwards and applied
through the mirror (`mirror.add_ons_apply`, the one place that writes Stripe-sold holdings), under
the tenant's lock, so the portal shows the result at once and the webhooks that follow change
nothing. While a plan change is scheduled (a subscription schedule), add-ons cannot change: the
schedule's next phase would drop or restore the item.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from audit.services import Actor
from billing.add_ons import add_on_holding_end, add_on_purchase_check
from billing.entitlements import entitlements_forget
from billing.models import AddOn, TenantAddOn
from config.errors import Conflict
from stripe_billing.catalog import ADD_ON_METADATA_KEY
from stripe_billing.client import stripe_client, stripe_errors_as_application_errors
from stripe_billing.mirror import add_on_code_of_price
from stripe_billing.models import StripeAddOnItem, StripeCustomerLink
from stripe_billing.refresh import subscription_data_apply
from stripe_billing.selectors import stripe_add_on_items_current, stripe_price_id_for_add_on
from stripe_billing.services import live_link_lock
from tenants.context import on_public_schema
from tenants.models import Tenant


def _subscription_without_schedule(link: StripeCustomerLink) -> Any:
    data: Any = stripe_client().v1.subscriptions.retrieve(link.subscription_id)
    if data.get("schedule"):
        raise Conflict("A plan or cycle change is scheduled; undo it (or wait until it applies) to change add-ons.")
    return data


def _purchase_idempotency_key(*, tenant: Tenant, link: StripeCustomerLink, add_on: AddOn) -> str:
    """The same for a retry of one purchase, new for the next purchase of the add-on (after a removal)."""
    bought_before = StripeAddOnItem.objects.filter(
        tenant_id=tenant.pk, add_on=add_on, subscription_id=link.subscription_id
    ).count()
    return f"agentry-add-on-{tenant.pk}-{link.subscription_id}-{add_on.code}-{bought_before + 1}"


@on_public_schema
def stripe_add_on_purchase(*, tenant: Tenant, add_on: AddOn, quantity: int, actor: Actor) -> TenantAddOn:
    """Add `quantity` units of `add_on` to the tenant's Stripe subscription (prorated by Stripe on
    the next invoice) and apply the result: the add-on counts at once.

    Raises what the local backend raises (`ValidationFailed`, `Conflict`), `Conflict` without a live
    Stripe subscription, while a plan change is scheduled, or when the add-on has no Stripe Price
    yet, and `PaymentProviderError` when Stripe fails.
    """
    with transaction.atomic():
        link, subscription = live_link_lock(tenant=tenant)
        add_on_purchase_check(subscription=subscription, add_on=add_on, quantity=quantity)
        price_id = stripe_price_id_for_add_on(
            add_on=add_on, billing_cycle=subscription.billing_cycle, currency=subscription.currency
        )
        with stripe_errors_as_application_errors():
            _subscription_without_schedule(link)
            stripe_client().v1.subscription_items.create(
                {
                    "subscription": link.subscription_id,
                    "price": price_id,
                    "quantity": quantity,
                    "proration_behavior": "create_prorations",
                    "metadata": {ADD_ON_METADATA_KEY: add_on.code},
                },
                {"idempotency_key": _purchase_idempotency_key(tenant=tenant, link=link, add_on=add_on)},
            )
            data = stripe_client().v1.subscriptions.retrieve(link.subscription_id)
            subscription_data_apply(link=link, data=data, actor=actor)
        held = TenantAddOn.objects.select_related("add_on").get(tenant_id=tenant.pk, add_on=add_on)
    entitlements_forget(tenant_ids=[tenant.pk])
    return held


@on_public_schema
def stripe_add_on_cancel(*, tenant: Tenant, add_on: AddOn, actor: Actor) -> TenantAddOn:
    """Remove `add_on` now: delete its subscription item(s) without proration (no credit) and apply
    the result. An add-on staff gave (no Stripe item) is simply ended, as on the local backend.

    Raises `Conflict` unless it is active, without a live Stripe subscription or while a plan change
    is scheduled, and `PaymentProviderError` when Stripe fails.
    """
    with transaction.atomic():
        link, subscription = live_link_lock(tenant=tenant)
        if not stripe_add_on_items_current(tenant=tenant).filter(add_on=add_on).exists():
            held = add_on_holding_end(subscription=subscription, add_on=add_on, actor=actor)
        else:
            with stripe_errors_as_application_errors():
                data = _subscription_without_schedule(link)
                for item in data["items"]["data"]:
                    if add_on_code_of_price(item["price"]) == add_on.code:
                        stripe_client().v1.subscription_items.delete(item["id"], {"proration_behavior": "none"})
                data = stripe_client().v1.subscriptions.retrieve(link.subscription_id)
                subscription_data_apply(link=link, data=data, actor=actor)
            held = TenantAddOn.objects.select_related("add_on").get(tenant_id=tenant.pk, add_on=add_on)
    entitlements_forget(tenant_ids=[tenant.pk])
    return held
