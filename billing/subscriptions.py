"""Every write to a tenant's subscription and invoices (the local billing backend's core).

Each service runs in one transaction on the public schema, locks the subscription row, and is
audited in public (with `tenant_slug`) and in the tenant's own trail. Plan changes go through
`tenants.services.tenant_billing_fields_update` (which drops cached entitlements).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.services import Actor, audit_record_platform_and_tenant
from billing.entitlements import entitlements_compute
from billing.invoices import InvoiceLineSpec, invoice_create
from billing.models import (
    CYCLE_MONTHS,
    Invoice,
    Limit,
    Plan,
    PlanPrice,
    Subscription,
    SubscriptionStatus,
    TrialReminder,
)
from billing.proration import Proration, months_after, proration_compute
from billing.selectors import tenant_add_on_list, tenant_entitlement_override_list
from config.errors import Conflict, DowngradeBlocked, ValidationFailed
from tenants.context import on_public_schema
from tenants.models import Tenant, TenantStatus


def _price(*, plan: Plan, billing_cycle: str, currency: str) -> PlanPrice:
    price = PlanPrice.objects.filter(plan=plan, billing_cycle=billing_cycle, currency=currency).first()
    if price is None:
        problem = f"{plan.name} has no {billing_cycle} price in {currency}."
        raise ValidationFailed(problem, errors={"plan": [problem]})
    return price


def _locked(tenant: Tenant) -> Subscription:
    subscription = Subscription.objects.select_for_update().select_related("plan").filter(tenant_id=tenant.pk).first()
    if subscription is None:
        raise Conflict("This workspace has no subscription.")
    return subscription


def subscription_lock(*, tenant: Tenant) -> Subscription:
    """The tenant's subscription, locked for the caller's transaction. Raises `Conflict` if it has none."""
    return _locked(tenant)


def _audit(subscription: Subscription, *, action: str, actor: Actor, data: dict[str, object]) -> None:
    audit_record_platform_and_tenant(
        tenant=subscription.tenant, action=action, actor=actor, target=subscription, data=data
    )
    subscription_webhook_publish_on_commit(subscription=subscription, action=action)


# Audited subscription changes → the outgoing webhook event announcing them (docs/webhooks.md).
_WEBHOOK_EVENT_OF_ACTION = {
    "billing.trial_started": "subscription.created",
    "billing.subscription_started": "subscription.created",
    "billing.subscription_upgraded": "subscription.upgraded",
    "billing.cancel_scheduled": "subscription.cancelled",
    "billing.subscription_cancelled": "subscription.cancelled",
}


def subscription_webhook_publish_on_commit(
    *, subscription: Subscription, action: str, details: dict[str, object] | None = None
) -> None:
    """Publish `subscription.*` for an audited change once the transaction commits (any other
    audited change is `subscription.updated`), with the subscription as audited and `details`
    (e.g. `{"add_on": {...}}`) beside it."""
    from webhooks.events import webhook_event_publish  # webhooks imports billing's entitlements

    event_type = _WEBHOOK_EVENT_OF_ACTION.get(action, "subscription.updated")
    data = {
        "change": action.removeprefix("billing."),
        "subscription": {
            "plan": subscription.plan.code,
            "status": subscription.status,
            "billing_cycle": subscription.billing_cycle,
            "current_period_end": subscription.current_period_end,
            "trial_ends_at": subscription.trial_ends_at,
            "cancel_at_period_end": subscription.cancel_at_period_end,
        },
        **(details or {}),
    }
    tenant = subscription.tenant
    transaction.on_commit(lambda: webhook_event_publish(tenant=tenant, event_type=event_type, data=data), robust=True)


def subscription_tenant_plan_follow(*, tenant: Tenant, plan: Plan, actor: Actor) -> None:
    """Put the tenant on the subscription's plan (read afresh: the caller's instance is left alone)."""
    from tenants.services import tenant_billing_fields_update  # tenants.services imports billing

    current = Tenant.objects.get(pk=tenant.pk)
    if current.plan_id != plan.pk:
        current.plan = plan
        tenant_billing_fields_update(tenant=current, changed_fields=["plan"], actor=actor)


@on_public_schema
def subscription_start_trial(*, tenant: Tenant, actor: Actor, currency: str = "") -> Subscription:
    """Give `tenant` a trialing subscription on its plan, monthly, ending at its `trial_ends_at`
    (or in DEFAULT_TRIAL_DAYS). Idempotent: an existing subscription is returned unchanged."""
    with transaction.atomic():
        existing = Subscription.objects.select_for_update().filter(tenant_id=tenant.pk).first()
        if existing is not None:
            return existing
        now = timezone.now()
        trial_ends_at = tenant.trial_ends_at or now + timedelta(days=settings.DEFAULT_TRIAL_DAYS)
        subscription = Subscription.objects.create(
            tenant=tenant,
            plan_id=tenant.plan_id,
            currency=currency or tenant.currency,
            status=SubscriptionStatus.TRIALING,
            current_period_start=now,
            current_period_end=trial_ends_at,
            trial_ends_at=trial_ends_at,
        )
        _audit(
            subscription,
            action="billing.trial_started",
            actor=actor,
            data={"plan": subscription.plan.code, "trial_ends_at": trial_ends_at.isoformat()},
        )
    return subscription


def _monthly_equivalent(price: PlanPrice) -> float:
    return price.amount / CYCLE_MONTHS[price.billing_cycle]


def subscription_price_per_month(*, subscription: Subscription, plan: Plan) -> float:
    """`plan`'s price per month in the subscription's cycle and currency (what decides upgrade vs downgrade).

    Raises `ValidationFailed` if `plan` has no price there."""
    return _monthly_equivalent(
        _price(plan=plan, billing_cycle=subscription.billing_cycle, currency=subscription.currency)
    )


def subscription_proration_preview(*, subscription: Subscription, plan: Plan, at: datetime) -> Proration:
    """What switching `subscription` to `plan` (same cycle and currency) at `at` would credit and charge."""
    if subscription.status == SubscriptionStatus.TRIALING:
        return Proration(credit=0, charge=0)  # nothing was paid for the trial, nothing is charged for it
    cycle, currency = subscription.billing_cycle, subscription.currency
    old = _price(plan=subscription.plan, billing_cycle=cycle, currency=currency)
    new = _price(plan=plan, billing_cycle=cycle, currency=currency)
    return proration_compute(
        old_amount=old.amount,
        new_amount=new.amount,
        period_start=subscription.current_period_start,
        period_end=subscription.current_period_end,
        at=at,
    )


@on_public_schema
def subscription_upgrade(*, tenant: Tenant, plan: Plan, actor: Actor) -> tuple[Subscription, Invoice | None]:
    """Move `tenant` to the dearer `plan` now, in the same cycle and currency.

    A paying subscription gets an open invoice with the proration lines (credit for the unused
    time on the old price, charge for the remaining time on the new); a trial just changes plan.
    Any scheduled downgrade is dropped. Raises `ValidationFailed` if `plan` is not dearer or has
    no price in the cycle and currency, `Conflict` without a live subscription.
    """
    with transaction.atomic():
        subscription = _locked(tenant)
        if subscription.status == SubscriptionStatus.CANCELLED:
            raise Conflict("A cancelled subscription cannot be upgraded; reactivate it first.")
        cycle, currency = subscription.billing_cycle, subscription.currency
        old = _price(plan=subscription.plan, billing_cycle=cycle, currency=currency)
        new = _price(plan=plan, billing_cycle=cycle, currency=currency)
        if _monthly_equivalent(new) <= _monthly_equivalent(old):
            problem = f"{plan.name} is not an upgrade from {subscription.plan.name}."
            raise ValidationFailed(problem, errors={"plan": [problem]})
        now = timezone.now()
        proration = subscription_proration_preview(subscription=subscription, plan=plan, at=now)
        invoice = None
        if subscription.status != SubscriptionStatus.TRIALING and proration.net:
            invoice = invoice_create(
                tenant=tenant,
                currency=currency,
                period_start=now,
                period_end=subscription.current_period_end,
                lines=[
                    InvoiceLineSpec(f"Unused time on {subscription.plan.name}", proration.credit, True),
                    InvoiceLineSpec(f"Remaining time on {plan.name}", proration.charge, True),
                ],
            )
        old_code = subscription.plan.code
        subscription.plan, subscription.scheduled_plan, subscription.scheduled_cycle = plan, None, ""
        subscription.save(update_fields=["plan", "scheduled_plan", "scheduled_cycle", "updated_at"])
        subscription_tenant_plan_follow(tenant=tenant, plan=plan, actor=actor)
        _audit(
            subscription,
            action="billing.subscription_upgraded",
            actor=actor,
            data={
                "plan": [old_code, plan.code],
                "credit": proration.credit,
                "charge": proration.charge,
                "invoice": invoice.number if invoice else None,
            },
        )
    return subscription, invoice


def _usage(tenant: Tenant) -> dict[str, int]:
    """The usage a downgrade is checked against (more limits join as their capabilities land)."""
    from accounts.selectors import team_seats_in_use

    with schema_context(tenant.schema_name):
        return {Limit.TEAM_MEMBERS: team_seats_in_use()}


def subscription_downgrade_check(*, tenant: Tenant, plan: Plan) -> None:
    """Raise `DowngradeBlocked` listing every limit whose current usage exceeds what `plan` would allow
    (with the tenant's add-ons and staff overrides applied, as `billing.entitlements` would)."""
    limits = entitlements_compute(
        plan=plan,
        add_ons=tenant_add_on_list(tenant=tenant),
        overrides=tenant_entitlement_override_list(tenant=tenant),
    ).limits
    over = [
        (limit, allowed, used)
        for limit, used in _usage(tenant).items()
        if (allowed := limits[limit]) is not None and used > allowed
    ]
    if over:
        what = ", ".join(f"{Limit(limit).label} from {used} to {allowed}" for limit, allowed, used in over)
        reduce = [{"limit": limit, "allowed": allowed, "current_usage": used} for limit, allowed, used in over]
        detail = f"Reduce {what} before moving to {plan.name}."
        raise DowngradeBlocked(detail, extra={"plan": plan.code, "reduce": reduce})


@on_public_schema
def subscription_downgrade(*, tenant: Tenant, plan: Plan, actor: Actor) -> Subscription:
    """Schedule a move to the cheaper `plan` at the end of the current period (data is kept).

    Raises `DowngradeBlocked` if current usage exceeds `plan`'s limits, `ValidationFailed` if
    `plan` is not cheaper or has no price, `Conflict` without a live subscription.
    """
    with transaction.atomic():
        subscription = _locked(tenant)
        if subscription.status == SubscriptionStatus.CANCELLED:
            raise Conflict("A cancelled subscription cannot be downgraded; reactivate it first.")
        cycle, currency = subscription.billing_cycle, subscription.currency
        old = _price(plan=subscription.plan, billing_cycle=cycle, currency=currency)
        new = _price(plan=plan, billing_cycle=cycle, currency=currency)
        if _monthly_equivalent(new) >= _monthly_equivalent(old):
            problem = f"{plan.name} is not a downgrade from {subscription.plan.name}."
            raise ValidationFailed(problem, errors={"plan": [problem]})
        subscription_downgrade_check(tenant=tenant, plan=plan)
        subscription.scheduled_plan, subscription.scheduled_cycle = plan, cycle
        subscription.save(update_fields=["scheduled_plan", "scheduled_cycle", "updated_at"])
        _audit(
            subscription,
            action="billing.downgrade_scheduled",
            actor=actor,
            data={
                "plan": [subscription.plan.code, plan.code],
                "effective_at": subscription.current_period_end.isoformat(),
            },
        )
    return subscription


@on_public_schema
def subscription_cancel(*, tenant: Tenant, actor: Actor) -> Subscription:
    """Cancel at the end of the current period (undo with `subscription_cancel_undo` until then).

    Raises `Conflict` if it is already cancelled or set to cancel.
    """
    with transaction.atomic():
        subscription = _locked(tenant)
        if subscription.status == SubscriptionStatus.CANCELLED or subscription.cancel_at_period_end:
            raise Conflict("This subscription is already cancelled or set to cancel.")
        subscription.cancel_at_period_end = True
        subscription.save(update_fields=["cancel_at_period_end", "updated_at"])
        _audit(
            subscription,
            action="billing.cancel_scheduled",
            actor=actor,
            data={"effective_at": subscription.current_period_end.isoformat()},
        )
    return subscription


@on_public_schema
def subscription_cancel_undo(*, tenant: Tenant, actor: Actor) -> Subscription:
    """Keep a subscription that was set to cancel at period end. Raises `Conflict` if it was not."""
    with transaction.atomic():
        subscription = _locked(tenant)
        if not subscription.cancel_at_period_end or subscription.status == SubscriptionStatus.CANCELLED:
            raise Conflict("This subscription is not set to cancel.")
        subscription.cancel_at_period_end = False
        subscription.save(update_fields=["cancel_at_period_end", "updated_at"])
        _audit(subscription, action="billing.cancel_undone", actor=actor, data={})
    return subscription


@on_public_schema
def subscription_scheduled_change_undo(*, tenant: Tenant, actor: Actor) -> Subscription:
    """Drop a downgrade or cycle change scheduled for period end. Raises `Conflict` if none is."""
    with transaction.atomic():
        subscription = _locked(tenant)
        if subscription.scheduled_plan_id is None and not subscription.scheduled_cycle:
            raise Conflict("No plan or cycle change is scheduled.")
        subscription.scheduled_plan, subscription.scheduled_cycle = None, ""
        subscription.save(update_fields=["scheduled_plan", "scheduled_cycle", "updated_at"])
        _audit(subscription, action="billing.scheduled_change_undone", actor=actor, data={})
    return subscription


def period_end_for(*, start: datetime, billing_cycle: str) -> datetime:
    return months_after(start, CYCLE_MONTHS[billing_cycle])


def invoice_for_period(
    *, subscription: Subscription, start: datetime, extra_lines: Sequence[InvoiceLineSpec] = ()
) -> Invoice:
    """Issue the open invoice of the period of `subscription` (its plan, cycle, currency) from `start`:
    the plan's line, a line per active add-on, the staff discounts on those subscription lines, then
    `extra_lines` (e.g. the overage of the period that ended); staff credits apply (`invoice_create`)."""
    from billing.add_ons import add_on_invoice_lines  # billing.add_ons imports this module
    from billing.adjustments import discounts_apply

    price = _price(plan=subscription.plan, billing_cycle=subscription.billing_cycle, currency=subscription.currency)
    end = period_end_for(start=start, billing_cycle=subscription.billing_cycle)
    cycle = subscription.get_billing_cycle_display().lower()
    line = InvoiceLineSpec(f"{subscription.plan.name}, {cycle} ({start:%Y-%m-%d} – {end:%Y-%m-%d})", price.amount)
    subscription_lines = [line, *add_on_invoice_lines(subscription=subscription, start=start, end=end)]
    discounts = discounts_apply(
        tenant=subscription.tenant,
        currency=subscription.currency,
        base=sum(item.amount for item in subscription_lines),
    )
    return invoice_create(
        tenant=subscription.tenant,
        currency=subscription.currency,
        lines=[*subscription_lines, *(InvoiceLineSpec(d.description, d.amount) for d in discounts), *extra_lines],
        period_start=start,
        period_end=end,
    )


@on_public_schema
def subscription_start_paid(
    *, tenant: Tenant, actor: Actor, billing_cycle: str = "monthly", currency: str = ""
) -> tuple[Subscription, Invoice]:
    """Give `tenant` an active subscription on its plan from now, with the open invoice of its first
    period (a tenant provisioned as active). Raises `Conflict` if it already has one."""
    with transaction.atomic():
        if Subscription.objects.filter(tenant_id=tenant.pk).exists():
            raise Conflict("This workspace already has a subscription.")
        now = timezone.now()
        subscription = Subscription(
            tenant=tenant,
            plan_id=tenant.plan_id,
            billing_cycle=billing_cycle,
            currency=currency or tenant.currency,
            status=SubscriptionStatus.ACTIVE,
            current_period_start=now,
            current_period_end=period_end_for(start=now, billing_cycle=billing_cycle),
        )
        _price(plan=tenant.plan, billing_cycle=billing_cycle, currency=subscription.currency)
        subscription.save()
        invoice = invoice_for_period(subscription=subscription, start=now)
        _audit(
            subscription,
            action="billing.subscription_started",
            actor=actor,
            data={"plan": subscription.plan.code, "billing_cycle": billing_cycle, "invoice": invoice.number},
        )
    return subscription, invoice


@on_public_schema
def subscription_change_cycle(*, tenant: Tenant, billing_cycle: str, actor: Actor) -> Subscription:
    """Switch to `billing_cycle` at the end of the current period (no proration: the paid period runs out).

    Raises `ValidationFailed` for the current cycle or one the plan has no price in, `Conflict`
    for a cancelled subscription.
    """
    with transaction.atomic():
        subscription = _locked(tenant)
        if subscription.status == SubscriptionStatus.CANCELLED:
            raise Conflict("A cancelled subscription cannot change cycle; reactivate it first.")
        if billing_cycle == subscription.billing_cycle:
            problem = f"The subscription is already billed {billing_cycle}."
            raise ValidationFailed(problem, errors={"billing_cycle": [problem]})
        _price(
            plan=subscription.scheduled_plan or subscription.plan,
            billing_cycle=billing_cycle,
            currency=subscription.currency,
        )
        subscription.scheduled_cycle = billing_cycle
        subscription.save(update_fields=["scheduled_cycle", "updated_at"])
        _audit(
            subscription,
            action="billing.cycle_change_scheduled",
            actor=actor,
            data={
                "billing_cycle": [subscription.billing_cycle, billing_cycle],
                "effective_at": subscription.current_period_end.isoformat(),
            },
        )
    return subscription


@on_public_schema
def subscription_reactivate(*, tenant: Tenant, actor: Actor) -> tuple[Subscription, Invoice]:
    """Start a cancelled subscription again from now (same plan, cycle, currency), with the open
    invoice of the new period; the tenant becomes active. Raises `Conflict` unless it is cancelled."""
    from billing.payments import tenant_status_sync

    with transaction.atomic():
        subscription = _locked(tenant)
        if subscription.status != SubscriptionStatus.CANCELLED:
            raise Conflict("Only a cancelled subscription can be reactivated.")
        now = timezone.now()
        subscription.status, subscription.cancel_at_period_end = SubscriptionStatus.ACTIVE, False
        subscription.cancelled_at = None
        subscription.current_period_start = now
        subscription.current_period_end = period_end_for(start=now, billing_cycle=subscription.billing_cycle)
        subscription.save()
        invoice = invoice_for_period(subscription=subscription, start=now)
        tenant_status_sync(tenant=tenant, to_status=TenantStatus.ACTIVE, actor=actor, reason="subscription reactivated")
        _audit(subscription, action="billing.subscription_reactivated", actor=actor, data={"invoice": invoice.number})
    return subscription, invoice


@on_public_schema
def subscription_extend_trial(*, tenant: Tenant, until: datetime, actor: Actor) -> Subscription:
    """Move a trialing subscription's trial end (and the tenant's `trial_ends_at`) later, to `until`.

    `until` must be after the current trial end and at most MAX_TRIAL_DAYS after the trial began (the
    earlier of the tenant's creation and the subscription's start). The reminders already sent are
    forgotten, so they go out again before the new end. Audited in public and in the tenant's trail.
    Raises `Conflict` unless the subscription is trialing, `ValidationFailed` (field `until`) otherwise.
    """
    from tenants.services import tenant_billing_fields_update  # tenants.services imports billing

    with transaction.atomic():
        subscription = _locked(tenant)
        if subscription.status != SubscriptionStatus.TRIALING:
            raise Conflict(f"Only a trial can be extended; this subscription is {subscription.get_status_display()}.")
        current = Tenant.objects.select_for_update().get(pk=tenant.pk)
        previous = subscription.trial_ends_at
        if previous is not None and until <= previous:
            problem = f"The new trial end must be after the current one ({previous:%Y-%m-%d %H:%M} UTC)."
            raise ValidationFailed(problem, errors={"until": [problem]})
        latest = min(current.created_at, subscription.current_period_start) + timedelta(days=settings.MAX_TRIAL_DAYS)
        if until > latest:
            problem = (
                f"A trial may last at most {settings.MAX_TRIAL_DAYS} days: "
                f"the latest possible end is {latest:%Y-%m-%d %H:%M} UTC."
            )
            raise ValidationFailed(problem, errors={"until": [problem]})
        subscription.trial_ends_at = subscription.current_period_end = until
        subscription.save(update_fields=["trial_ends_at", "current_period_end", "updated_at"])
        TrialReminder.objects.filter(subscription=subscription).delete()
        current.trial_ends_at = until
        tenant_billing_fields_update(tenant=current, changed_fields=["trial_ends_at"], actor=actor)
        _audit(
            subscription,
            action="billing.trial_extended",
            actor=actor,
            data={"from": previous.isoformat() if previous else None, "to": until.isoformat()},
        )
    tenant.trial_ends_at = until
    return subscription
