"""The offline billing backend: the product's own subscription services, invoices and payments."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from audit.services import Actor
from billing.add_ons import tenant_add_on_cancel, tenant_add_on_purchase
from billing.collection import invoices_settle_with_card
from billing.models import AddOn, Invoice, Payment, Plan, Subscription, SubscriptionStatus, TenantAddOn
from billing.overage import overage_record
from billing.payments import invoice_record_payment
from billing.selectors import subscription_of_tenant
from billing.subscriptions import (
    subscription_cancel,
    subscription_cancel_undo,
    subscription_change_cycle,
    subscription_downgrade,
    subscription_price_per_month,
    subscription_reactivate,
    subscription_scheduled_change_undo,
    subscription_start_paid,
    subscription_start_trial,
    subscription_upgrade,
)
from config.errors import Conflict, ValidationFailed
from tenants.models import Tenant


class LocalBillingBackend:
    has_hosted_checkout = False

    def start_trial(self, *, tenant: Tenant, actor: Actor) -> Subscription:
        return subscription_start_trial(tenant=tenant, actor=actor)

    def start_paid(self, *, tenant: Tenant, billing_cycle: str, actor: Actor) -> Subscription:
        subscription, _ = subscription_start_paid(tenant=tenant, billing_cycle=billing_cycle, actor=actor)
        return subscription

    def change_plan(self, *, tenant: Tenant, plan: Plan, billing_cycle: str, actor: Actor) -> Subscription:
        """Dearer per month than now: upgrade at once. Cheaper: downgrade at period end. Same plan: the
        cycle changes at period end. A plan and cycle change together: the plan change, then the cycle."""
        current = subscription_of_tenant(tenant=tenant)
        if current is None:
            raise Conflict("This workspace has no subscription.")
        if plan.pk == current.plan_id and billing_cycle == current.billing_cycle:
            problem = f"The workspace is already on {plan.name}, billed {billing_cycle}."
            raise ValidationFailed(problem, errors={"plan": [problem]})
        with transaction.atomic():
            subscription = current
            if plan.pk != current.plan_id:
                target = subscription_price_per_month(subscription=current, plan=plan)
                if target > subscription_price_per_month(subscription=current, plan=current.plan):
                    subscription, _ = subscription_upgrade(tenant=tenant, plan=plan, actor=actor)
                else:
                    subscription = subscription_downgrade(tenant=tenant, plan=plan, actor=actor)
            if billing_cycle != current.billing_cycle:
                subscription = subscription_change_cycle(tenant=tenant, billing_cycle=billing_cycle, actor=actor)
        return subscription

    def cancel(self, *, tenant: Tenant, actor: Actor) -> Subscription:
        return subscription_cancel(tenant=tenant, actor=actor)

    def undo_cancel(self, *, tenant: Tenant, actor: Actor) -> Subscription:
        return subscription_cancel_undo(tenant=tenant, actor=actor)

    def reactivate(self, *, tenant: Tenant, actor: Actor) -> Subscription:
        """Cancelled: start again from now (first invoice open). Past due (or suspended): pay every
        open invoice with the card on file now (`PaymentDeclined` if it fails)."""
        current = subscription_of_tenant(tenant=tenant)
        if current is not None and current.status == SubscriptionStatus.PAST_DUE:
            invoices_settle_with_card(tenant=tenant, actor=actor)
            return subscription_of_tenant(tenant=tenant) or current
        subscription, _ = subscription_reactivate(tenant=tenant, actor=actor)
        return subscription

    def purchase_add_on(
        self, *, tenant: Tenant, add_on: AddOn, quantity: int, actor: Actor
    ) -> tuple[TenantAddOn, Invoice | None]:
        return tenant_add_on_purchase(tenant=tenant, add_on=add_on, quantity=quantity, actor=actor)

    def cancel_add_on(self, *, tenant: Tenant, add_on: AddOn, actor: Actor) -> TenantAddOn:
        return tenant_add_on_cancel(tenant=tenant, add_on=add_on, actor=actor)

    def record_payment(self, *, invoice: Invoice, succeeded: bool, actor: Actor) -> Payment:
        return invoice_record_payment(invoice=invoice, succeeded=succeeded, actor=actor)

    def undo_scheduled_change(self, *, tenant: Tenant, actor: Actor) -> Subscription:
        return subscription_scheduled_change_undo(tenant=tenant, actor=actor)

    def report_metered_usage(
        self, *, tenant: Tenant, meter: str, quantity: int, identifier: str, timestamp: datetime
    ) -> None:
        """Recorded here and billed on the renewal invoice (billing/overage.py)."""
        overage_record(tenant=tenant, meter=meter, quantity=quantity, identifier=identifier, timestamp=timestamp)

    def checkout_url(
        self, *, tenant: Tenant, plan: Plan, billing_cycle: str, success_url: str, cancel_url: str, actor: Actor
    ) -> str:
        raise Conflict("The local billing backend has no hosted checkout.")

    def checkout_needed(self, *, tenant: Tenant) -> bool:
        return False

    def payment_method_url(self, *, tenant: Tenant, return_url: str) -> str:
        raise Conflict("The local billing backend has no hosted payment pages.")
