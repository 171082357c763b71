"""Every change the product asks of Stripe, each applied back at once through the mirror.

Each function calls Stripe, then (holding the tenant's link lock) applies the object Stripe
returned, so the portal shows the result immediately; the webhooks that follow re-apply the
same state and change nothing. Stripe errors surface as `PaymentDeclined`/`PaymentProviderError`.

Plan changes (documented in docs/billing.md): an upgrade replaces the price now with
`proration_behavior=always_invoice` (the difference is invoiced and charged at once); a
downgrade or a cycle change goes through a subscription schedule whose next phase starts at the
current period end, so Stripe switches the price exactly at renewal and bills the new one.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from djstripe.models import Customer as MirroredCustomer

from audit.services import Actor, audit_record_platform_and_tenant
from billing.models import CYCLE_MONTHS, AddOn, Plan, Subscription, SubscriptionStatus
from billing.selectors import subscription_of_tenant
from billing.subscriptions import subscription_downgrade_check, subscription_price_per_month
from config.errors import Conflict, ValidationFailed
from stripe_billing.client import stripe_client, stripe_errors_as_application_errors
from stripe_billing.mirror import add_on_code_of_price, plan_item_of
from stripe_billing.models import StripeCustomerLink
from stripe_billing.refresh import customer_link_lock, invoice_refresh, subscription_data_apply
from stripe_billing.selectors import customer_link_of_tenant, stripe_price_id_for_add_on, stripe_price_id_for_plan
from tenants.context import on_public_schema
from tenants.models import Tenant

# Stripe refuses a trial end less than 48 hours away; a shorter remaining trial is not carried over.
MIN_TRIAL_CARRY_OVER = timedelta(hours=48)
INVOICE_DAYS_UNTIL_DUE = 14


@on_public_schema
def customer_ensure(*, tenant: Tenant) -> StripeCustomerLink:
    """The tenant's Stripe customer, created (and mirrored) the first time. Idempotent: Stripe's
    idempotency key returns the same customer if our transaction was rolled back after creating it."""
    link = customer_link_of_tenant(tenant=tenant)
    if link is not None:
        return link
    with stripe_errors_as_application_errors():
        data = stripe_client().v1.customers.create(
            {
                "email": tenant.billing_email,
                "name": tenant.name,
                # djstripe_subscriber links dj-stripe's Customer to the tenant (DJSTRIPE_SUBSCRIBER_MODEL).
                "metadata": {"agentry_tenant": tenant.slug, "djstripe_subscriber": str(tenant.pk)},
            },
            {"idempotency_key": f"agentry-customer-{tenant.pk}"},
        )
        MirroredCustomer.sync_from_stripe_data(data)
    link, _ = StripeCustomerLink.objects.get_or_create(tenant=tenant, defaults={"customer_id": data["id"]})
    return link


def live_link_lock(*, tenant: Tenant) -> tuple[StripeCustomerLink, Subscription]:
    """The locked link of a tenant with a Stripe subscription that is not cancelled, and our
    subscription row. Call in a transaction. Raises `Conflict` otherwise."""
    subscription = subscription_of_tenant(tenant=tenant)
    link = customer_link_of_tenant(tenant=tenant)
    if subscription is None or link is None or not link.subscription_id:
        raise Conflict("This workspace has no Stripe subscription yet: subscribe first.")
    if subscription.status == SubscriptionStatus.CANCELLED:
        raise Conflict("The subscription is cancelled; reactivate it first.")
    locked = customer_link_lock(customer_id=link.customer_id)
    assert locked is not None  # the row was just read and links are never deleted while a tenant lives
    return locked, subscription


def _audit(tenant: Tenant, *, action: str, actor: Actor, data: dict[str, Any]) -> None:
    audit_record_platform_and_tenant(tenant=tenant, action=action, actor=actor, target=tenant, data=data)


@on_public_schema
def checkout_session_create(
    *, tenant: Tenant, plan: Plan, billing_cycle: str, success_url: str, cancel_url: str, actor: Actor
) -> str:
    """A Stripe Checkout page where the tenant subscribes to `plan`; returns its URL.

    A trial with more than 48 hours left carries over (the first charge is at its end). Raises
    `Conflict` when the tenant already has a live Stripe subscription (change the plan instead)
    or the plan has no Stripe Price.
    """
    current = subscription_of_tenant(tenant=tenant)
    link = customer_link_of_tenant(tenant=tenant)
    if current and link and link.subscription_id and current.status != SubscriptionStatus.CANCELLED:
        raise Conflict("This workspace already has a subscription: change its plan instead.")
    currency = current.currency if current else tenant.currency
    price_id = stripe_price_id_for_plan(plan=plan, billing_cycle=billing_cycle, currency=currency)
    link = customer_ensure(tenant=tenant)
    subscription_data: dict[str, Any] = {"metadata": {"agentry_tenant": tenant.slug}}
    trial_end = current.trial_ends_at if current and current.status == SubscriptionStatus.TRIALING else None
    if trial_end and trial_end - timezone.now() > MIN_TRIAL_CARRY_OVER:
        subscription_data["trial_end"] = int(trial_end.timestamp())
    params: Any = {
        "mode": "subscription",
        "customer": link.customer_id,
        "client_reference_id": str(tenant.pk),
        "line_items": [{"price": price_id, "quantity": 1}],
        "subscription_data": subscription_data,
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    with stripe_errors_as_application_errors():
        session = stripe_client().v1.checkout.sessions.create(params)
    _audit(tenant, action="billing.checkout_started", actor=actor, data={"plan": plan.code, "cycle": billing_cycle})
    return str(session["url"])


@on_public_schema
def billing_portal_session_create(*, tenant: Tenant, return_url: str) -> str:
    """Stripe's customer portal (payment methods, invoices) for the tenant; returns its URL.
    Raises `Conflict` before the tenant has a Stripe customer."""
    link = customer_link_of_tenant(tenant=tenant)
    if link is None:
        raise Conflict("Subscribe first: there is no payment method to manage yet.")
    with stripe_errors_as_application_errors():
        session = stripe_client().v1.billing_portal.sessions.create(
            {"customer": link.customer_id, "return_url": return_url}
        )
    return str(session["url"])


def _schedule_release(data: Any) -> None:
    if data.get("schedule"):
        schedule_id = data["schedule"] if isinstance(data["schedule"], str) else data["schedule"]["id"]
        stripe_client().v1.subscription_schedules.release(schedule_id)


def _upgrade_now(link: StripeCustomerLink, data: Any, *, price_id: str) -> None:
    _schedule_release(data)  # an upgrade replaces any downgrade or cycle change scheduled before
    item = plan_item_of(data)  # add-on items stay as they are
    updated = stripe_client().v1.subscriptions.update(
        data["id"],
        {"items": [{"id": item["id"], "price": price_id}], "proration_behavior": "always_invoice"},
    )
    if updated["latest_invoice"]:
        latest = updated["latest_invoice"]
        invoice_refresh(link=link, invoice_id=latest if isinstance(latest, str) else latest["id"])
    subscription_data_apply(link=link, data=stripe_client().v1.subscriptions.retrieve(data["id"]))


def _add_on_phase_items(items: list[Any], *, billing_cycle: str, currency: str) -> list[dict[str, Any]]:
    """The add-on items carried into the next phase, on their Prices for its cycle (all items of a
    subscription share one interval). An item that sells no known add-on keeps its Price."""
    carried = []
    for item in items:
        code = add_on_code_of_price(item["price"])
        add_on = AddOn.objects.filter(code=code).first() if code else None
        price_id = (
            stripe_price_id_for_add_on(add_on=add_on, billing_cycle=billing_cycle, currency=currency.upper())
            if add_on is not None
            else item["price"]["id"]
        )
        carried.append({"price": price_id, "quantity": item.get("quantity") or 1})
    return carried


def _schedule_at_period_end(link: StripeCustomerLink, data: Any, *, price_id: str, billing_cycle: str) -> None:
    item = plan_item_of(data)
    add_on_items = [other for other in data["items"]["data"] if other["id"] != item["id"]]
    # Before any Stripe call: an add-on without a Price in the new cycle refuses the change (`Conflict`).
    carried = _add_on_phase_items(add_on_items, billing_cycle=billing_cycle, currency=data["currency"])
    client = stripe_client()
    schedule = (
        client.v1.subscription_schedules.retrieve(data["schedule"])
        if isinstance(data.get("schedule"), str)
        else client.v1.subscription_schedules.create({"from_subscription": data["id"]})
    )
    current_phase = schedule["phases"][0]
    params: Any = {
        "end_behavior": "release",
        "phases": [
            {
                "items": [
                    {"price": each["price"]["id"], "quantity": each.get("quantity") or 1}
                    for each in [item, *add_on_items]
                ],
                "start_date": current_phase["start_date"],
                "end_date": item["current_period_end"],
            },
            {
                "items": [
                    {"price": price_id, "quantity": 1},
                    *carried,
                ],
                "duration": {"interval": "month", "interval_count": CYCLE_MONTHS[billing_cycle]},
                "proration_behavior": "none",
            },
        ],
    }
    client.v1.subscription_schedules.update(schedule["id"], params)
    subscription_data_apply(link=link, data=client.v1.subscriptions.retrieve(data["id"]))


@on_public_schema
def stripe_plan_change(*, tenant: Tenant, plan: Plan, billing_cycle: str, actor: Actor) -> Subscription:
    """Upgrade now (prorated, invoiced at once) or schedule a downgrade / cycle change for period end.

    Dearer per month in the current cycle: upgrade. Cheaper, or a cycle change: at period end,
    after the same usage guard as the local backend (`DowngradeBlocked`). Raises `ValidationFailed`
    for the current plan and cycle, `Conflict` without a live Stripe subscription.
    """
    with transaction.atomic():
        link, current = live_link_lock(tenant=tenant)
        if plan.pk == current.plan_id and billing_cycle == current.billing_cycle:
            problem = f"The workspace is already on {plan.name}, billed {billing_cycle}."
            raise ValidationFailed(problem, errors={"plan": [problem]})
        price_id = stripe_price_id_for_plan(plan=plan, billing_cycle=billing_cycle, currency=current.currency)
        is_upgrade = billing_cycle == current.billing_cycle and subscription_price_per_month(
            subscription=current, plan=plan
        ) > subscription_price_per_month(subscription=current, plan=current.plan)
        if not is_upgrade and plan.pk != current.plan_id:
            subscription_downgrade_check(tenant=tenant, plan=plan)
        with stripe_errors_as_application_errors():
            data = stripe_client().v1.subscriptions.retrieve(link.subscription_id)
            if is_upgrade:
                _upgrade_now(link, data, price_id=price_id)
            else:
                _schedule_at_period_end(link, data, price_id=price_id, billing_cycle=billing_cycle)
        _audit(
            tenant,
            action="billing.stripe_plan_changed" if is_upgrade else "billing.stripe_change_scheduled",
            actor=actor,
            data={"plan": [current.plan.code, plan.code], "billing_cycle": [current.billing_cycle, billing_cycle]},
        )
    return Subscription.objects.select_related("plan", "scheduled_plan").get(pk=current.pk)


def _subscription_update(
    *, tenant: Tenant, params: Any, release_schedule: bool, action: str, actor: Actor
) -> Subscription:
    with transaction.atomic():
        link, current = live_link_lock(tenant=tenant)
        with stripe_errors_as_application_errors():
            data = stripe_client().v1.subscriptions.retrieve(link.subscription_id)
            if release_schedule:
                if not data["schedule"] and not params:
                    raise Conflict("No plan or cycle change is scheduled.")
                _schedule_release(data)
            if params:
                data = stripe_client().v1.subscriptions.update(link.subscription_id, params)
            else:
                data = stripe_client().v1.subscriptions.retrieve(link.subscription_id)
            subscription_data_apply(link=link, data=data)
        _audit(tenant, action=action, actor=actor, data={"stripe_subscription": link.subscription_id})
    return Subscription.objects.select_related("plan", "scheduled_plan").get(pk=current.pk)


@on_public_schema
def stripe_cancel(*, tenant: Tenant, actor: Actor) -> Subscription:
    """Cancel at period end (a scheduled plan change is dropped). Raises `Conflict` if already set."""
    current = subscription_of_tenant(tenant=tenant)
    if current is not None and current.cancel_at_period_end:
        raise Conflict("This subscription is already set to cancel.")
    return _subscription_update(
        tenant=tenant,
        params={"cancel_at_period_end": True},
        release_schedule=True,  # a plan change scheduled for a period that will not come is dropped
        action="billing.cancel_scheduled",
        actor=actor,
    )


@on_public_schema
def stripe_cancel_undo(*, tenant: Tenant, actor: Actor) -> Subscription:
    current = subscription_of_tenant(tenant=tenant)
    if current is None or not current.cancel_at_period_end:
        raise Conflict("This subscription is not set to cancel.")
    return _subscription_update(
        tenant=tenant,
        params={"cancel_at_period_end": False},
        release_schedule=False,
        action="billing.cancel_undone",
        actor=actor,
    )


@on_public_schema
def stripe_scheduled_change_undo(*, tenant: Tenant, actor: Actor) -> Subscription:
    """Release the schedule: the plan and cycle stay as they are. Raises `Conflict` if none is set."""
    return _subscription_update(
        tenant=tenant, params={}, release_schedule=True, action="billing.scheduled_change_undone", actor=actor
    )


@on_public_schema
def stripe_subscription_create(
    *, tenant: Tenant, billing_cycle: str, actor: Actor, send_invoice: bool, idempotency_key: str
) -> Subscription:
    """A new Stripe subscription on the tenant's plan, applied at once.

    `send_invoice`: Stripe emails invoices payable within INVOICE_DAYS_UNTIL_DUE days (a tenant
    provisioned as active by an operator, without a card); otherwise the saved default payment
    method is charged now and a decline raises `PaymentDeclined` (reactivation).
    """
    current = subscription_of_tenant(tenant=tenant)
    currency = current.currency if current else tenant.currency
    price_id = stripe_price_id_for_plan(plan=tenant.plan, billing_cycle=billing_cycle, currency=currency)
    link = customer_ensure(tenant=tenant)
    params: Any = {
        "customer": link.customer_id,
        "items": [{"price": price_id, "quantity": 1}],
        "metadata": {"agentry_tenant": tenant.slug},
    }
    if send_invoice:
        params.update(collection_method="send_invoice", days_until_due=INVOICE_DAYS_UNTIL_DUE)
    else:
        params["payment_behavior"] = "error_if_incomplete"
    with transaction.atomic(), stripe_errors_as_application_errors():
        locked = customer_link_lock(customer_id=link.customer_id)
        assert locked is not None
        data = stripe_client().v1.subscriptions.create(params, {"idempotency_key": idempotency_key})
        if data["latest_invoice"]:
            latest = data["latest_invoice"]
            invoice_refresh(link=locked, invoice_id=latest if isinstance(latest, str) else latest["id"])
        subscription_data_apply(link=locked, data=stripe_client().v1.subscriptions.retrieve(data["id"]))
        _audit(tenant, action="billing.subscription_started", actor=actor, data={"stripe_subscription": data["id"]})
    return Subscription.objects.select_related("plan").get(tenant_id=tenant.pk)


@on_public_schema
def stripe_reactivate(*, tenant: Tenant, actor: Actor) -> Subscription:
    """Start a cancelled tenant again on its plan and cycle, charging the saved card now.

    Raises `Conflict` unless the subscription is cancelled, `PaymentDeclined` if the card fails.
    """
    current = subscription_of_tenant(tenant=tenant)
    link = customer_link_of_tenant(tenant=tenant)
    if current is None or current.status != SubscriptionStatus.CANCELLED or link is None:
        raise Conflict("Only a cancelled subscription can be reactivated.")
    return stripe_subscription_create(
        tenant=tenant,
        billing_cycle=current.billing_cycle,
        actor=actor,
        send_invoice=False,
        idempotency_key=f"agentry-reactivate-{tenant.pk}-{link.subscription_id}",
    )


@on_public_schema
def stripe_invoice_paid_out_of_band(*, stripe_invoice_id: str, tenant: Tenant) -> None:
    """Staff recorded a payment made outside Stripe (bank transfer): Stripe marks the invoice paid."""
    link = customer_link_of_tenant(tenant=tenant)
    if link is None:
        raise Conflict("This workspace has no Stripe customer.")
    with transaction.atomic(), stripe_errors_as_application_errors():
        locked = customer_link_lock(customer_id=link.customer_id)
        assert locked is not None
        stripe_client().v1.invoices.pay(stripe_invoice_id, {"paid_out_of_band": True})
        invoice_refresh(link=locked, invoice_id=stripe_invoice_id)


@on_public_schema
def stripe_meter_event_report(
    *, tenant: Tenant, meter: str, quantity: int, identifier: str, timestamp: datetime
) -> None:
    """Report `quantity` units of `meter` (the Stripe Billing Meter's event name) for the tenant.

    `identifier` makes it idempotent: Stripe ignores a second event with the same identifier (for
    at least 24 hours), so a retried report is never billed twice. Raises `Conflict` for a tenant
    without a Stripe customer, `ValidationFailed` for a quantity below 1.
    """
    if quantity < 1:
        raise ValidationFailed("The quantity must be at least 1.", errors={"quantity": ["Must be at least 1."]})
    link = customer_link_of_tenant(tenant=tenant)
    if link is None:
        raise Conflict("This workspace has no Stripe customer to bill usage to.")
    with stripe_errors_as_application_errors():
        stripe_client().v1.billing.meter_events.create(
            {
                "event_name": meter,
                "identifier": identifier,
                "timestamp": int(timestamp.timestamp()),
                "payload": {"stripe_customer_id": link.customer_id, "value": str(quantity)},
            }
        )
