"""Reads of the Stripe links. Rows that belong to a tenant are read only with the tenant given."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.db.models import QuerySet

from billing.models import AddOnPrice, PlanPrice, SubscriptionStatus
from billing.selectors import subscription_of_tenant
from config.errors import Conflict
from stripe_billing.models import (
    StripeAddOnItem,
    StripeCustomerLink,
    StripePriceLink,
    StripeWebhookEvent,
    WebhookEventStatus,
)

if TYPE_CHECKING:
    from billing.models import AddOn, Plan
    from tenants.models import Tenant


def customer_link_of_tenant(*, tenant: Tenant) -> StripeCustomerLink | None:
    return StripeCustomerLink.objects.filter(tenant_id=tenant.pk).first()


def stripe_checkout_needed(*, tenant: Tenant) -> bool:
    """No Stripe subscription yet, or the tenant's subscription is cancelled: subscribing goes
    through Stripe Checkout (plan changes need a live Stripe subscription)."""
    link = customer_link_of_tenant(tenant=tenant)
    subscription = subscription_of_tenant(tenant=tenant)
    return (
        link is None
        or not link.subscription_id
        or subscription is None
        or subscription.status == SubscriptionStatus.CANCELLED
    )


def stripe_price_id_for_plan(*, plan: Plan, billing_cycle: str, currency: str) -> str:
    """The Stripe Price `plan` is sold as in this cycle and currency.

    Raises `Conflict` when the catalog price has no Stripe Price yet (run `stripe_sync_catalog`).
    """
    link = (
        StripePriceLink.objects.filter(
            plan_price__plan=plan,
            plan_price__billing_cycle=billing_cycle,
            plan_price__currency=currency,
            is_current=True,
        )
        .only("stripe_price_id")
        .first()
    )
    if link is None:
        raise Conflict(
            f"{plan.name} ({billing_cycle}, {currency}) cannot be bought online yet. Contact billing support."
        )
    return link.stripe_price_id


def stripe_price_id_for_add_on(*, add_on: AddOn, billing_cycle: str, currency: str) -> str:
    """The Stripe Price `add_on` is sold as in this cycle and currency.

    Raises `Conflict` when there is none yet (run `stripe_sync_catalog`).
    """
    link = (
        StripePriceLink.objects.filter(
            add_on_price__add_on=add_on, add_on_price__currency=currency, billing_cycle=billing_cycle, is_current=True
        )
        .only("stripe_price_id")
        .first()
    )
    if link is None:
        raise Conflict(f"{add_on.name} ({billing_cycle}, {currency}) cannot be bought online yet. Contact support.")
    return link.stripe_price_id


def stripe_add_on_items_current(*, tenant: Tenant) -> QuerySet[StripeAddOnItem]:
    """The tenant's add-ons its Stripe subscription holds now (not ended)."""
    return StripeAddOnItem.objects.filter(tenant_id=tenant.pk, ended_at__isnull=True)


def plan_price_for_stripe_price(*, stripe_price_id: str) -> PlanPrice | None:
    link = StripePriceLink.objects.select_related("plan_price__plan").filter(stripe_price_id=stripe_price_id).first()
    return link.plan_price if link is not None else None


def add_on_price_for_stripe_price(*, stripe_price_id: str) -> AddOnPrice | None:
    link = (
        StripePriceLink.objects.select_related("add_on_price__add_on").filter(stripe_price_id=stripe_price_id).first()
    )
    return link.add_on_price if link is not None else None


def webhook_event_ids_to_requeue(*, received_before: datetime) -> list[str]:
    """Events still pending that arrived before `received_before`: their task was lost (a failed
    one is retried by its task, then left to staff's "Reprocess")."""
    return list(
        StripeWebhookEvent.objects.filter(status=WebhookEventStatus.PENDING, received_at__lt=received_before)
        .order_by("received_at")
        .values_list("event_id", flat=True)[:500]
    )


def webhook_events_prunable(*, received_before: datetime) -> QuerySet[StripeWebhookEvent]:
    return StripeWebhookEvent.objects.filter(
        status__in=(WebhookEventStatus.PROCESSED, WebhookEventStatus.IGNORED), received_at__lt=received_before
    )
