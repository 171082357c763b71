"""Stripe's state → the product's own billing rows. The one place that derives them.

`subscription_state_from` reads a Stripe subscription (and its schedule) into what the product
stores; `subscription_apply` writes that to `billing.Subscription`, moves the tenant and makes
the tenant's Stripe-sold add-ons (`billing.TenantAddOn`) match the subscription's add-on items;
`invoice_apply` turns a finalized Stripe invoice into a numbered `billing.Invoice` and its
payments, through billing's own services (`invoice_create`, `invoice_record_payment`), so the
same audit entries and billing events follow as with the local backend.

Callers pass Stripe objects fetched just now, under the tenant's lock (see refresh.py): applying
the current state is what makes replays, duplicates and out-of-order events harmless.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.services import Actor, audit_record_platform_and_tenant
from billing.add_ons import add_on_change_announce
from billing.invoices import InvoiceLineSpec, invoice_create
from billing.models import AddOn, Invoice, InvoiceStatus, PlanPrice, Subscription, SubscriptionStatus, TenantAddOn
from billing.payments import invoice_record_payment, tenant_status_sync
from billing.services import tenant_add_on_set
from billing.subscriptions import subscription_tenant_plan_follow, subscription_webhook_publish_on_commit
from config.errors import ApplicationError
from stripe_billing.catalog import ADD_ON_METADATA_KEY
from stripe_billing.models import StripeAddOnItem, StripeInvoiceLink
from stripe_billing.selectors import add_on_price_for_stripe_price, plan_price_for_stripe_price
from tenants.models import Tenant, TenantStatus

logger = logging.getLogger(__name__)
STRIPE_ACTOR = Actor.system("stripe")

# Stripe subscription status → ours. `incomplete`/`incomplete_expired` (the first payment never
# went through) are absent on purpose: such a subscription changes nothing.
SUBSCRIPTION_STATUSES: dict[str, str] = {
    "trialing": SubscriptionStatus.TRIALING,
    "active": SubscriptionStatus.ACTIVE,
    "past_due": SubscriptionStatus.PAST_DUE,
    "unpaid": SubscriptionStatus.PAST_DUE,  # retries exhausted: our lifecycle suspends after AUTO_SUSPEND_DAYS
    "paused": SubscriptionStatus.PAST_DUE,  # a trial ended without a payment method
    "canceled": SubscriptionStatus.CANCELLED,
}
LIVE_STRIPE_STATUSES = frozenset({"trialing", "active", "past_due", "unpaid", "paused"})


class UnmappedStripePrice(ApplicationError):
    """A Stripe subscription sells no Price we know: the event fails (visible in admin) until staff
    link the Price (admin → Stripe prices, or `stripe_sync_catalog`) and reprocess it."""

    code = "conflict"
    status = 409
    title = "The Stripe subscription has no price linked to the catalog."


def stripe_time(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value else None


def _id(value: Any) -> str:
    """A Stripe reference is an id or an expanded object."""
    return value if isinstance(value, str) else value["id"]


@dataclass(frozen=True)
class AddOnItem:
    """A subscription item selling an add-on (its Price carries `agentry_add_on=<code>`)."""

    item_id: str
    code: str
    quantity: int


@dataclass(frozen=True)
class SubscriptionState:
    stripe_id: str
    stripe_status: str
    status: str
    plan_price: PlanPrice
    period_start: datetime
    period_end: datetime
    trial_end: datetime | None
    cancel_at_period_end: bool
    scheduled_price: PlanPrice | None
    ended_at: datetime | None = None  # when a `canceled` subscription ended
    add_on_items: tuple[AddOnItem, ...] = ()


def _scheduled_price(schedule: Any, *, period_end: datetime) -> PlanPrice | None:
    """The plan price of the schedule's phase that starts when the current period ends, if any."""
    if not schedule or schedule.get("status") not in ("not_started", "active"):
        return None
    for phase in schedule.get("phases") or []:
        if stripe_time(phase["start_date"]) == period_end:
            for item in phase.get("items") or []:
                price = plan_price_for_stripe_price(stripe_price_id=_id(item["price"]))
                if price is not None:
                    return price
    return None


def add_on_code_of_price(price: Any) -> str:
    """The add-on a Stripe Price sells (its `agentry_add_on` metadata, else its catalog link), or ""."""
    metadata = {} if isinstance(price, str) else price.get("metadata") or {}
    if metadata.get(ADD_ON_METADATA_KEY):
        return str(metadata[ADD_ON_METADATA_KEY])
    linked = add_on_price_for_stripe_price(stripe_price_id=_id(price))  # a Price tagged before the sync did
    return linked.add_on.code if linked is not None else ""


def _add_on_items(data: Any, *, status: str) -> tuple[AddOnItem, ...]:
    """The items selling add-ons; none once cancelled (the subscription bills nothing any more)."""
    if status == SubscriptionStatus.CANCELLED:
        return ()
    found = []
    for item in data["items"]["data"]:
        code, quantity = add_on_code_of_price(item["price"]), int(item.get("quantity") or 0)
        if code and quantity > 0:  # Stripe allows a quantity of 0: it sells nothing
            found.append(AddOnItem(item_id=item["id"], code=code, quantity=quantity))
    return tuple(found)


def plan_item_of(data: Any) -> Any:
    """The subscription's item selling the plan (the one whose Price is linked to a plan price).
    Raises `UnmappedStripePrice` when there is none."""
    for item in data["items"]["data"]:
        if plan_price_for_stripe_price(stripe_price_id=_id(item["price"])) is not None:
            return item
    raise UnmappedStripePrice(f"Stripe subscription {data['id']} sells no Price linked to a plan price.")


def subscription_state_from(data: Any, *, schedule: Any = None) -> SubscriptionState | None:
    """What the product stores for a Stripe subscription, or None for one that changes nothing.

    Periods come from the subscription item (Stripe moved them off the subscription in 2025; the
    subscription-level fields are read only as a fallback for older API versions). Raises
    `UnmappedStripePrice` when no item's Price is linked to a catalog plan price.
    """
    status = SUBSCRIPTION_STATUSES.get(data["status"])
    if status is None:
        return None
    for item in data["items"]["data"]:
        plan_price = plan_price_for_stripe_price(stripe_price_id=_id(item["price"]))
        if plan_price is not None:
            break
    else:
        raise UnmappedStripePrice(f"Stripe subscription {data['id']} sells no Price linked to a plan price.")
    period_start = stripe_time(item.get("current_period_start") or data.get("current_period_start"))
    period_end = stripe_time(item.get("current_period_end") or data.get("current_period_end"))
    if period_start is None or period_end is None:
        raise UnmappedStripePrice(f"Stripe subscription {data['id']} has no current period.")
    return SubscriptionState(
        stripe_id=data["id"],
        stripe_status=data["status"],
        status=status,
        plan_price=plan_price,
        period_start=period_start,
        period_end=period_end,
        trial_end=stripe_time(data.get("trial_end")) if data["status"] == "trialing" else None,
        cancel_at_period_end=bool(data.get("cancel_at_period_end") or data.get("cancel_at")),
        scheduled_price=_scheduled_price(schedule, period_end=period_end),
        ended_at=stripe_time(data.get("ended_at") or data.get("canceled_at"))
        if status == SubscriptionStatus.CANCELLED
        else None,
        add_on_items=_add_on_items(data, status=status),
    )


def _tenant_follow(tenant: Tenant, *, status: str) -> None:
    """Move the tenant with its subscription. Never into or out of a state Stripe does not decide:
    a trial is never re-entered, and a suspension (our lifecycle's, after AUTO_SUSPEND_DAYS past
    due) is only lifted by payment, not by another past-due update."""
    current = Tenant.objects.get(pk=tenant.pk)
    if current.is_deleted:
        return
    targets: dict[str, str] = {
        SubscriptionStatus.ACTIVE: TenantStatus.ACTIVE,
        SubscriptionStatus.PAST_DUE: TenantStatus.PAST_DUE,
        SubscriptionStatus.CANCELLED: TenantStatus.CANCELLED,
    }
    target = targets.get(status)
    if target is None or current.status == target:
        return
    if target == TenantStatus.PAST_DUE and current.status == TenantStatus.SUSPENDED:
        return
    tenant_status_sync(tenant=current, to_status=target, actor=STRIPE_ACTOR, reason=f"Stripe subscription {status}")


def subscription_apply(*, tenant: Tenant, state: SubscriptionState, actor: Actor = STRIPE_ACTOR) -> Subscription:
    """Make the tenant's `billing.Subscription` (created if missing), status and Stripe-sold add-ons
    match `state`.

    Audited (`billing.stripe_subscription_synced`, with the fields that changed) only when
    something changed, so applying the same state twice leaves no trace the second time. `actor`:
    who the add-on changes are audited as (the customer whose purchase is being applied, or Stripe).
    """
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().filter(tenant_id=tenant.pk).first()
        price, scheduled = state.plan_price, state.scheduled_price
        values: dict[str, Any] = {
            "plan_id": price.plan_id,
            "billing_cycle": price.billing_cycle,
            "currency": price.currency,
            "status": state.status,
            "current_period_start": state.period_start,
            "current_period_end": state.period_end,
            "cancel_at_period_end": state.cancel_at_period_end,
            "scheduled_plan_id": scheduled.plan_id if scheduled and scheduled.plan_id != price.plan_id else None,
            "scheduled_cycle": scheduled.billing_cycle if scheduled else "",
        }
        if state.trial_end is not None:
            values["trial_ends_at"] = state.trial_end
        if state.status == SubscriptionStatus.PAST_DUE:
            values["past_due_since"] = (subscription.past_due_since if subscription else None) or timezone.now()
        else:
            values["past_due_since"] = None
        values["provider_subscription_id"] = state.stripe_id
        if state.status == SubscriptionStatus.CANCELLED:
            values["cancelled_at"] = (
                (subscription.cancelled_at if subscription else None) or state.ended_at or timezone.now()
            )
        else:
            values["cancelled_at"] = None
        if subscription is None:
            subscription = Subscription.objects.create(tenant=tenant, **values)
            changed = sorted(values)
        else:
            changed = sorted(name for name, value in values.items() if getattr(subscription, name) != value)
            for name in changed:
                setattr(subscription, name, values[name])
            if changed:
                subscription.save(update_fields=[*changed, "updated_at"])
        if "plan_id" in changed:
            subscription_tenant_plan_follow(tenant=tenant, plan=price.plan, actor=STRIPE_ACTOR)
        _tenant_follow(tenant, status=state.status)
        if changed:
            audit_record_platform_and_tenant(
                tenant=tenant,
                action="billing.stripe_subscription_synced",
                actor=STRIPE_ACTOR,
                target=subscription,
                data={"stripe_subscription": state.stripe_id, "status": state.stripe_status, "changed": changed},
            )
        add_ons_apply(tenant=tenant, subscription=subscription, state=state, actor=actor)
    return subscription


# --- Add-ons -------------------------------------------------------------------------------------


def _wanted_add_ons(state: SubscriptionState) -> dict[int, tuple[AddOn, AddOnItem]]:
    """add-on id → (add-on, its item); two items of one add-on count as one of both quantities."""
    by_code = AddOn.objects.in_bulk({item.code for item in state.add_on_items}, field_name="code")
    wanted: dict[int, tuple[AddOn, AddOnItem]] = {}
    for item in state.add_on_items:
        add_on = by_code.get(item.code)
        if add_on is None:
            logger.warning("stripe item %s sells unknown add-on %r: ignored", item.item_id, item.code)
            continue
        if add_on.pk in wanted:
            first = wanted[add_on.pk][1]
            item = AddOnItem(item_id=first.item_id, code=item.code, quantity=first.quantity + item.quantity)
        wanted[add_on.pk] = (add_on, item)
    return wanted


def _item_record(
    *, tenant: Tenant, add_on: AddOn, item: AddOnItem, subscription_id: str, row: StripeAddOnItem | None
) -> None:
    values = {"subscription_id": subscription_id, "subscription_item_id": item.item_id, "quantity": item.quantity}
    if row is None:
        StripeAddOnItem.objects.update_or_create(
            subscription_item_id=item.item_id, defaults={**values, "tenant": tenant, "add_on": add_on, "ended_at": None}
        )
    elif any(getattr(row, name) != value for name, value in values.items()):
        StripeAddOnItem.objects.filter(pk=row.pk).update(**values)


def add_ons_apply(*, tenant: Tenant, subscription: Subscription, state: SubscriptionState, actor: Actor) -> None:
    """Make the tenant's Stripe-sold add-ons match the subscription's add-on items. Call in a transaction.

    A new item activates its add-on (`billing.add_on_purchased`), a changed quantity follows
    (`subscription.updated` with `change: "add_on_changed"`), a
    vanished item (or a cancelled subscription) ends it (`billing.add_on_cancelled`; no refund is
    ours to make). An add-on the tenant holds without an item (given by staff) is never touched,
    and an item for such an add-on is not adopted. Applying the same state twice changes nothing.
    """
    current = {
        row.add_on_id: row
        for row in StripeAddOnItem.objects.select_for_update(of=("self",))
        .select_related("add_on")
        .filter(tenant_id=tenant.pk, ended_at__isnull=True)
    }
    held = {row.add_on_id: row for row in TenantAddOn.objects.filter(tenant_id=tenant.pk, active=True)}
    for add_on_id, (add_on, item) in _wanted_add_ons(state).items():
        row = current.pop(add_on_id, None)
        if row is None and add_on_id in held:
            continue  # staff's holding: not the mirror's to change
        _item_record(tenant=tenant, add_on=add_on, item=item, subscription_id=state.stripe_id, row=row)
        holding = held.get(add_on_id)
        if holding is not None and holding.quantity == item.quantity:
            continue
        holding = tenant_add_on_set(tenant=tenant, add_on=add_on, quantity=item.quantity, active=True, actor=actor)
        if add_on_id not in held:
            data = {"add_on": add_on.code, "quantity": item.quantity, "stripe_item": item.item_id}
            add_on_change_announce(
                subscription, action="billing.add_on_purchased", held=holding, actor=actor, data=data
            )
        else:  # the quantity changed in Stripe (audited by tenant_add_on_set): tell the tenant's systems
            details: dict[str, object] = {
                "add_on": {"code": add_on.code, "quantity": holding.quantity, "active": holding.active}
            }
            subscription_webhook_publish_on_commit(
                subscription=subscription, action="billing.add_on_changed", details=details
            )
    for add_on_id, row in current.items():  # items that are gone
        StripeAddOnItem.objects.filter(pk=row.pk).update(ended_at=timezone.now())
        if add_on_id not in held:
            continue  # already inactive
        holding = tenant_add_on_set(
            tenant=tenant, add_on=row.add_on, quantity=held[add_on_id].quantity, active=False, actor=actor
        )
        data = {"add_on": row.add_on.code, "quantity": holding.quantity, "stripe_item": row.subscription_item_id}
        add_on_change_announce(subscription, action="billing.add_on_cancelled", held=holding, actor=actor, data=data)


# --- Invoices ------------------------------------------------------------------------------------

ISSUED_INVOICE_STATUSES = frozenset({"open", "paid", "void", "uncollectible"})


def _line_specs(data: Any) -> list[InvoiceLineSpec]:
    specs = []
    for line in data["lines"]["data"]:
        parent = line.get("parent") or {}
        details = parent.get("subscription_item_details") or parent.get("invoice_item_details") or {}
        specs.append(InvoiceLineSpec(line.get("description") or "", line["amount"], bool(details.get("proration"))))
    return specs


def _invoice_issue(*, tenant: Tenant, data: Any) -> StripeInvoiceLink:
    """A product invoice (our number) for a finalized Stripe invoice, with Stripe's amounts and dates."""
    lines = data["lines"]["data"]
    period = lines[0]["period"] if lines else {"start": data["period_start"], "end": data["period_end"]}
    invoice = invoice_create(
        tenant=tenant,
        currency=data["currency"].upper(),
        lines=_line_specs(data),
        period_start=stripe_time(period["start"]) or timezone.now(),
        period_end=stripe_time(period["end"]) or timezone.now(),
        apply_credits=False,  # Stripe's invoice is what was charged; local credits never alter it
    )
    total = data["total"]
    subtotal = data.get("total_excluding_tax")
    subtotal = total if subtotal is None else subtotal
    finalized_at = stripe_time((data.get("status_transitions") or {}).get("finalized_at"))
    issued_at = finalized_at or stripe_time(data["created"]) or invoice.issued_at
    Invoice.objects.filter(pk=invoice.pk).update(
        subtotal=subtotal,
        tax=total - subtotal,
        total=total,
        issued_at=issued_at,
        due_at=stripe_time(data.get("due_date")) or issued_at,
        next_payment_attempt_at=None,  # Stripe collects and retries (smart retries), never our card runs
    )
    invoice.refresh_from_db()
    return StripeInvoiceLink.objects.create(stripe_invoice_id=data["id"], invoice=invoice)


def invoice_apply(*, tenant: Tenant, data: Any) -> Invoice | None:
    """Make the product invoice of a Stripe invoice match it; None while the Stripe invoice is a draft.

    Paid: the payment is recorded (`billing.payment_succeeded`, the subscription and tenant become
    active). Open with payment attempts not yet seen: one failed payment is recorded
    (`billing.payment_failed`, past due). Void or uncollectible: the invoice follows. A zero total
    (e.g. a trial's first invoice) is marked paid without a payment or event.
    """
    if data["status"] not in ISSUED_INVOICE_STATUSES:
        return None
    with transaction.atomic():
        link = StripeInvoiceLink.objects.select_for_update().filter(stripe_invoice_id=data["id"]).first()
        if link is None:
            link = _invoice_issue(tenant=tenant, data=data)
        invoice = Invoice.objects.get(pk=link.invoice_id)
        if invoice.status != InvoiceStatus.OPEN:
            return invoice  # paid, void or uncollectible are final for us
        if data["status"] == "paid":
            if invoice.total == 0:
                paid_at = stripe_time((data.get("status_transitions") or {}).get("paid_at")) or timezone.now()
                Invoice.objects.filter(pk=invoice.pk).update(status=InvoiceStatus.PAID, paid_at=paid_at)
            else:
                invoice_record_payment(invoice=invoice, succeeded=True, actor=STRIPE_ACTOR)
        elif data["status"] == "open":
            attempts = data.get("attempt_count") or 0
            if data.get("attempted") and attempts > link.failed_attempts_recorded:
                invoice_record_payment(invoice=invoice, succeeded=False, actor=STRIPE_ACTOR)
                # billing's dunning scheduled a retry with a card of ours; Stripe retries instead.
                Invoice.objects.filter(pk=invoice.pk).update(next_payment_attempt_at=None)
                link.failed_attempts_recorded = attempts
                link.save(update_fields=["failed_attempts_recorded"])
        else:
            Invoice.objects.filter(pk=invoice.pk).update(status=data["status"])
        invoice.refresh_from_db()
    return invoice
