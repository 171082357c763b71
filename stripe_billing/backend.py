"""`BILLING_BACKEND=stripe`: the `BillingBackend` protocol on Stripe Checkout and Stripe Billing.

Trials stay the product's own (signup never waits for Stripe): the first Stripe call is the
customer's checkout, which carries the remaining trial over. From then on Stripe decides
periods, proration, invoices and payments, and `stripe_billing.mirror` derives our rows from it.
"""

from __future__ import annotations

from datetime import datetime

from audit.services import Actor
from billing.models import AddOn, Invoice, Payment, PaymentStatus, Plan, Subscription, TenantAddOn
from billing.subscriptions import subscription_start_trial
from config.errors import Conflict
from stripe_billing.add_ons import stripe_add_on_cancel, stripe_add_on_purchase
from stripe_billing.models import StripeInvoiceLink
from stripe_billing.selectors import stripe_checkout_needed
from stripe_billing.services import (
    billing_portal_session_create,
    checkout_session_create,
    stripe_cancel,
    stripe_cancel_undo,
    stripe_invoice_paid_out_of_band,
    stripe_meter_event_report,
    stripe_plan_change,
    stripe_reactivate,
    stripe_scheduled_change_undo,
    stripe_subscription_create,
)
from tenants.models import Tenant


class StripeBillingBackend:
    has_hosted_checkout = True

    def start_trial(self, *, tenant: Tenant, actor: Actor) -> Subscription:
        return subscription_start_trial(tenant=tenant, actor=actor)

    def start_paid(self, *, tenant: Tenant, billing_cycle: str, actor: Actor) -> Subscription:
        """A tenant provisioned as active (by an operator, without a card): Stripe sends invoices."""
        return stripe_subscription_create(
            tenant=tenant,
            billing_cycle=billing_cycle,
            actor=actor,
            send_invoice=True,
            idempotency_key=f"agentry-start-paid-{tenant.pk}",
        )

    def change_plan(self, *, tenant: Tenant, plan: Plan, billing_cycle: str, actor: Actor) -> Subscription:
        return stripe_plan_change(tenant=tenant, plan=plan, billing_cycle=billing_cycle, actor=actor)

    def cancel(self, *, tenant: Tenant, actor: Actor) -> Subscription:
        return stripe_cancel(tenant=tenant, actor=actor)

    def undo_cancel(self, *, tenant: Tenant, actor: Actor) -> Subscription:
        return stripe_cancel_undo(tenant=tenant, actor=actor)

    def undo_scheduled_change(self, *, tenant: Tenant, actor: Actor) -> Subscription:
        return stripe_scheduled_change_undo(tenant=tenant, actor=actor)

    def reactivate(self, *, tenant: Tenant, actor: Actor) -> Subscription:
        return stripe_reactivate(tenant=tenant, actor=actor)

    def purchase_add_on(
        self, *, tenant: Tenant, add_on: AddOn, quantity: int, actor: Actor
    ) -> tuple[TenantAddOn, Invoice | None]:
        """A subscription item: Stripe prorates the rest of the period onto the next invoice, so no
        invoice is issued now (None)."""
        return stripe_add_on_purchase(tenant=tenant, add_on=add_on, quantity=quantity, actor=actor), None

    def cancel_add_on(self, *, tenant: Tenant, add_on: AddOn, actor: Actor) -> TenantAddOn:
        return stripe_add_on_cancel(tenant=tenant, add_on=add_on, actor=actor)

    def record_payment(self, *, invoice: Invoice, succeeded: bool, actor: Actor) -> Payment:
        """Staff record a payment made outside Stripe: Stripe marks the invoice paid out of band and
        the mirror records it. A failed payment is Stripe's to record, never staff's."""
        link = StripeInvoiceLink.objects.filter(invoice_id=invoice.pk).first()
        if not succeeded or link is None:
            raise Conflict("With Stripe billing, only a Stripe invoice can be marked paid (out of band).")
        stripe_invoice_paid_out_of_band(stripe_invoice_id=link.stripe_invoice_id, tenant=invoice.tenant)
        payment = Payment.objects.filter(invoice_id=invoice.pk, status=PaymentStatus.SUCCEEDED).first()
        if payment is None:
            raise Conflict(f"Stripe did not mark invoice {invoice.number} paid.")
        return payment

    def report_metered_usage(
        self, *, tenant: Tenant, meter: str, quantity: int, identifier: str, timestamp: datetime
    ) -> None:
        stripe_meter_event_report(
            tenant=tenant, meter=meter, quantity=quantity, identifier=identifier, timestamp=timestamp
        )

    def checkout_url(
        self, *, tenant: Tenant, plan: Plan, billing_cycle: str, success_url: str, cancel_url: str, actor: Actor
    ) -> str:
        return checkout_session_create(
            tenant=tenant,
            plan=plan,
            billing_cycle=billing_cycle,
            success_url=success_url,
            cancel_url=cancel_url,
            actor=actor,
        )

    def checkout_needed(self, *, tenant: Tenant) -> bool:
        return stripe_checkout_needed(tenant=tenant)

    def payment_method_url(self, *, tenant: Tenant, return_url: str) -> str:
        return billing_portal_session_create(tenant=tenant, return_url=return_url)
