"""Reads of the catalog, and of the public-schema rows that belong to one tenant (which require it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import QuerySet, Sum

from billing.models import (
    CYCLE_MONTHS,
    AddOn,
    AddOnPrice,
    BillingCycle,
    BillingProfile,
    Currency,
    Invoice,
    PaymentMethod,
    Plan,
    Subscription,
    TenantAddOn,
    TenantCredit,
    TenantDiscount,
    TenantEntitlementOverride,
)

if TYPE_CHECKING:
    from tenants.models import Tenant


def plan_list_public() -> QuerySet[Plan]:
    """Public plans in display order, with their prices prefetched (`Plan.price()` costs no query)."""
    return Plan.objects.filter(is_public=True).prefetch_related("prices")


def plan_get(*, code: str) -> Plan | None:
    return Plan.objects.filter(code=code).prefetch_related("prices").first()


def plan_of_tenant(*, tenant: Tenant) -> Plan:
    """The tenant's plan as stored now (a cached Tenant instance may carry an older one)."""
    return Plan.objects.get(tenants__pk=tenant.pk)


def add_on_list_public() -> QuerySet[AddOn]:
    return AddOn.objects.filter(is_public=True).prefetch_related("prices")


def tenant_add_on_list(*, tenant: Tenant, active_only: bool = True) -> QuerySet[TenantAddOn]:
    add_ons = TenantAddOn.objects.filter(tenant=tenant).select_related("add_on")
    return add_ons.filter(active=True) if active_only else add_ons


def tenant_entitlement_override_list(*, tenant: Tenant) -> QuerySet[TenantEntitlementOverride]:
    """Oldest first: later overrides win where they set the same limit."""
    return TenantEntitlementOverride.objects.filter(tenant=tenant).order_by("created_at", "pk")


def tenant_ids_on_plan(*, plan: Plan) -> list[int]:
    return list(plan.tenants.values_list("pk", flat=True))


def tenant_ids_holding_add_on(*, add_on: AddOn) -> list[int]:
    return list(add_on.tenant_add_ons.values_list("tenant_id", flat=True))


def _monthly_usd(plan: Plan) -> float:
    price = plan.price(billing_cycle=BillingCycle.MONTHLY, currency=Currency.USD)
    return price.amount if price else float("inf")


def plan_cheapest_public(*, qualifies: Callable[[Plan], bool], excluding_code: str = "") -> Plan | None:
    """The public plan with the lowest US dollar monthly price for which `qualifies(plan)` holds.

    Used for upgrade hints; the catalog is a handful of rows, so this filters in Python.
    """
    candidates = [plan for plan in plan_list_public() if plan.code != excluding_code and qualifies(plan)]
    return min(candidates, key=lambda plan: (_monthly_usd(plan), plan.sort_order), default=None)


def add_on_public_first(*, qualifies: Callable[[AddOn], bool]) -> AddOn | None:
    """The first public add-on (in display order) for which `qualifies(add_on)` holds."""
    return next((add_on for add_on in add_on_list_public() if qualifies(add_on)), None)


def subscription_of_tenant(*, tenant: Tenant) -> Subscription | None:
    """The tenant's subscription (public schema), or None if it has none yet."""
    return Subscription.objects.filter(tenant_id=tenant.pk).select_related("plan", "scheduled_plan").first()


def invoice_list_of_tenant(*, tenant: Tenant) -> QuerySet[Invoice]:
    """The tenant's invoices, newest first, with their lines prefetched."""
    return Invoice.objects.filter(tenant_id=tenant.pk).prefetch_related("lines")


def payment_method_of_tenant(*, tenant: Tenant) -> PaymentMethod | None:
    """The tenant's card on file (local backend), or None."""
    return PaymentMethod.objects.filter(tenant_id=tenant.pk).first()


def billing_profile_of_tenant(*, tenant: Tenant) -> BillingProfile | None:
    """Who the tenant's invoices are addressed to (None until it saves its details)."""
    return BillingProfile.objects.filter(tenant_id=tenant.pk).first()


def tenant_credit_balance(*, tenant: Tenant) -> dict[str, int]:
    """What is left of the tenant's staff credits, per currency (minor units; currencies with 0 left omitted)."""
    rows = (
        TenantCredit.objects.filter(tenant_id=tenant.pk, remaining__gt=0)
        .values("currency")
        .annotate(left=Sum("remaining"))
        .order_by("currency")
    )
    return {row["currency"]: row["left"] for row in rows}


def tenant_discount_list_active(*, tenant: Tenant) -> list[TenantDiscount]:
    """The tenant's discounts that still apply to coming renewal invoices, oldest first."""
    discounts = TenantDiscount.objects.filter(tenant_id=tenant.pk, active=True).order_by("created_at", "pk")
    return [discount for discount in discounts if not discount.is_exhausted]


@dataclass(frozen=True)
class AddOnOffer:
    """One public add-on as a tenant sees it: its price in the subscription's currency and cycle
    (None when it is not sold there), and the tenant's holding (None when it holds none)."""

    add_on: AddOn
    price: AddOnPrice | None
    billing_cycle: str
    held: TenantAddOn | None

    @property
    def amount_per_cycle(self) -> int | None:
        return self.price.amount * CYCLE_MONTHS[self.billing_cycle] if self.price else None

    @property
    def is_active(self) -> bool:
        return self.held is not None


def add_on_offers_for_tenant(*, tenant: Tenant) -> list[AddOnOffer]:
    """The marketplace: every public add-on and every add-on the tenant holds (even a retired one),
    in display order, priced in its subscription's currency and cycle (USD monthly without one)."""
    subscription = subscription_of_tenant(tenant=tenant)
    currency = subscription.currency if subscription else Currency.USD
    cycle = subscription.billing_cycle if subscription else BillingCycle.MONTHLY
    held = {holding.add_on_id: holding for holding in tenant_add_on_list(tenant=tenant)}
    add_ons = AddOn.objects.filter(is_public=True) | AddOn.objects.filter(pk__in=held)
    offers = []
    for add_on in add_ons.distinct().prefetch_related("prices").order_by("sort_order", "code"):
        price = next((p for p in add_on.prices.all() if p.currency == currency), None)
        offers.append(AddOnOffer(add_on=add_on, price=price, billing_cycle=cycle, held=held.get(add_on.pk)))
    return offers


def add_on_get_for_tenant(*, tenant: Tenant, code: str) -> AddOn | None:
    """A public add-on, or one the tenant holds, by code (None otherwise: others' retired add-ons stay hidden)."""
    add_on = AddOn.objects.filter(code=code).first()
    if add_on is None or add_on.is_public or tenant_add_on_list(tenant=tenant).filter(add_on=add_on).exists():
        return add_on
    return None
