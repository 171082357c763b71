"""The add-ons marketplace on the local backend: buying and removing add-ons, and billing them.

An add-on's catalog price (`AddOnPrice`) is per unit and month in one currency; it is billed on
the subscription's cycle (× 1, 3 or 12 months) and currency:

- **Buying** mid-period on a paid (active or past-due) subscription charges the rest of the
  current period at once on its own invoice, prorated like an upgrade (the exact fraction of the
  period still to run, `billing.proration`). During a trial nothing is charged: the add-on is on
  the first invoice. The add-on counts in the entitlements at once.
- Every **renewal invoice** has a line per active add-on (`add_on_invoice_lines`).
- **Removing** takes effect at once (entitlements drop); what was already invoiced is not refunded
  (staff may grant a credit).

Both are audited and announced with the `subscription.updated` webhook event (`change`
`add_on_purchased` / `add_on_cancelled`, with an `add_on` object). Subscriptions a billing provider
holds (Stripe) are refused here: the Stripe backend sells add-ons as subscription items
(`stripe_billing/add_ons.py`), and its mirror derives the holdings.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from audit.services import Actor, audit_record_platform_and_tenant
from billing.entitlements import entitlements_forget
from billing.invoices import InvoiceLineSpec, invoice_create
from billing.models import (
    CYCLE_MONTHS,
    AddOn,
    AddOnPrice,
    Invoice,
    Subscription,
    SubscriptionStatus,
    TenantAddOn,
)
from billing.proration import minor_units, period_fraction_remaining
from billing.selectors import tenant_add_on_list
from billing.services import tenant_add_on_set
from billing.subscriptions import subscription_lock, subscription_webhook_publish_on_commit
from config.errors import Conflict, ValidationFailed
from tenants.context import on_public_schema

if TYPE_CHECKING:
    from tenants.models import Tenant

MAX_ADD_ON_QUANTITY = 100
_CHARGED_STATUSES = (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)


def add_on_price_per_cycle(*, price: AddOnPrice, billing_cycle: str) -> int:
    """One unit of the add-on for one billing cycle, in minor units (monthly price × months)."""
    return price.amount * CYCLE_MONTHS[billing_cycle]


def add_on_invoice_lines(*, subscription: Subscription, start: datetime, end: datetime) -> list[InvoiceLineSpec]:
    """One line per active add-on of the subscription's tenant for the period `[start, end)`, in the
    subscription's cycle and currency. An add-on without a price in that currency (retired from
    sale there after it was bought) is not billed."""
    held = list(tenant_add_on_list(tenant=subscription.tenant))
    prices = {
        price.add_on_id: price
        for price in AddOnPrice.objects.filter(
            add_on_id__in=[h.add_on_id for h in held], currency=subscription.currency
        )
    }
    lines = []
    for holding in held:
        price = prices.get(holding.add_on_id)
        if price is None:
            continue
        unit = add_on_price_per_cycle(price=price, billing_cycle=subscription.billing_cycle)
        lines.append(
            InvoiceLineSpec(
                f"{holding.add_on.name} add-on ({start:%Y-%m-%d} – {end:%Y-%m-%d})",
                unit * holding.quantity,
                quantity=holding.quantity,
                unit_amount=unit,
            )
        )
    return lines


def _price_or_refuse(*, add_on: AddOn, currency: str) -> AddOnPrice:
    price = AddOnPrice.objects.filter(add_on=add_on, currency=currency).first()
    if price is None:
        problem = f"{add_on.name} is not sold in {currency}."
        raise ValidationFailed(problem, errors={"add_on": [problem]})
    return price


def add_on_change_announce(
    subscription: Subscription, *, action: str, held: TenantAddOn, actor: Actor, data: dict
) -> None:
    """Audit an add-on bought or removed (`action`) and announce it with `subscription.updated` on commit.
    Shared by both backends (the Stripe mirror announces the add-ons it activates and ends)."""
    audit_record_platform_and_tenant(tenant=subscription.tenant, action=action, actor=actor, target=held, data=data)
    details: dict[str, object] = {
        "add_on": {"code": held.add_on.code, "quantity": held.quantity, "active": held.active}
    }
    subscription_webhook_publish_on_commit(subscription=subscription, action=action, details=details)


def _prorated_invoice(subscription: Subscription, *, price: AddOnPrice, quantity: int) -> Invoice | None:
    if subscription.status not in _CHARGED_STATUSES:
        return None  # a trial pays nothing now; the first invoice bills the add-on
    now, end = timezone.now(), subscription.current_period_end
    fraction = period_fraction_remaining(period_start=subscription.current_period_start, period_end=end, at=now)
    per_cycle = add_on_price_per_cycle(price=price, billing_cycle=subscription.billing_cycle) * quantity
    charge = minor_units(Decimal(per_cycle) * fraction)
    if charge == 0:
        return None
    line = InvoiceLineSpec(f"{price.add_on.name} add-on × {quantity}, until {end:%Y-%m-%d}", charge, True)
    return invoice_create(
        tenant=subscription.tenant, currency=subscription.currency, lines=[line], period_start=now, period_end=end
    )


def add_on_purchase_check(*, subscription: Subscription, add_on: AddOn, quantity: int) -> AddOnPrice:
    """What both backends refuse before selling `add_on` on the (locked) `subscription`; its price.

    Raises `ValidationFailed` for a quantity outside 1–100 or an add-on not sold in the
    subscription's currency, `Conflict` for a cancelled subscription, a retired add-on or one held.
    """
    if not 1 <= quantity <= MAX_ADD_ON_QUANTITY:
        problem = f"The quantity must be between 1 and {MAX_ADD_ON_QUANTITY}."
        raise ValidationFailed(problem, errors={"quantity": [problem]})
    if subscription.status == SubscriptionStatus.CANCELLED:
        raise Conflict("The subscription is cancelled; reactivate it before buying add-ons.")
    if not add_on.is_public:
        raise Conflict(f"{add_on.name} is no longer sold.")
    if tenant_add_on_list(tenant=subscription.tenant).filter(add_on=add_on).exists():
        raise Conflict(f"{add_on.name} is already active; remove it first to change the quantity.")
    return _price_or_refuse(add_on=add_on, currency=subscription.currency)


@on_public_schema
def tenant_add_on_purchase(
    *, tenant: Tenant, add_on: AddOn, actor: Actor, quantity: int = 1
) -> tuple[TenantAddOn, Invoice | None]:
    """Buy `quantity` units of the public `add_on` for `tenant` now, with the prorated invoice of the
    rest of the period (None during a trial or when nothing is left to charge).

    Raises `Conflict` without a live local subscription, for a retired add-on or one already held,
    `ValidationFailed` for a quantity outside 1–100 or an add-on not sold in the subscription's currency.
    """
    with transaction.atomic():
        subscription = subscription_lock(tenant=tenant)
        if subscription.is_provider_managed:
            raise Conflict("Add-ons of a Stripe subscription are bought through Stripe (BILLING_BACKEND=stripe).")
        price = add_on_purchase_check(subscription=subscription, add_on=add_on, quantity=quantity)
        held = tenant_add_on_set(tenant=tenant, add_on=add_on, quantity=quantity, active=True, actor=actor)
        invoice = _prorated_invoice(subscription, price=price, quantity=quantity)
        data = {"add_on": add_on.code, "quantity": quantity, "invoice": invoice.number if invoice else None}
        add_on_change_announce(subscription, action="billing.add_on_purchased", held=held, actor=actor, data=data)
    entitlements_forget(tenant_ids=[tenant.pk])
    return held, invoice


def add_on_holding_end(*, subscription: Subscription, add_on: AddOn, actor: Actor) -> TenantAddOn:
    """End the tenant's holding of `add_on` now, audited and announced (no refund). Call in a
    transaction. Raises `Conflict` unless it is active."""
    held = tenant_add_on_list(tenant=subscription.tenant).filter(add_on=add_on).first()
    if held is None:
        raise Conflict(f"{add_on.name} is not active.")
    held = tenant_add_on_set(
        tenant=subscription.tenant, add_on=add_on, quantity=held.quantity, active=False, actor=actor
    )
    data = {"add_on": add_on.code, "quantity": held.quantity}
    add_on_change_announce(subscription, action="billing.add_on_cancelled", held=held, actor=actor, data=data)
    return held


@on_public_schema
def tenant_add_on_cancel(*, tenant: Tenant, add_on: AddOn, actor: Actor) -> TenantAddOn:
    """Remove `add_on` from `tenant` now (no refund). Raises `Conflict` unless it is active, or for a
    subscription a billing provider holds."""
    with transaction.atomic():
        subscription = subscription_lock(tenant=tenant)
        if subscription.is_provider_managed:
            raise Conflict("Add-ons of a Stripe subscription are removed through Stripe (BILLING_BACKEND=stripe).")
        held = add_on_holding_end(subscription=subscription, add_on=add_on, actor=actor)
    entitlements_forget(tenant_ids=[tenant.pk])
    return held
