"""Payments against invoices, and what they do to the subscription and the tenant.

In the local backend staff record payments in admin; the Stripe backend (later) will call the
same services from its webhook mirror. `billing_event_emit` is the one place billing events
leave the billing app.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from audit.services import Actor, audit_record_platform_and_tenant
from billing.models import Invoice, InvoiceStatus, Payment, PaymentStatus, Subscription, SubscriptionStatus
from config.errors import Conflict
from tenants.context import on_public_schema
from tenants.models import Tenant, TenantStatus

logger = logging.getLogger(__name__)


class BillingEvent:
    PAYMENT_SUCCEEDED = "billing.payment_succeeded"
    PAYMENT_FAILED = "billing.payment_failed"


def billing_event_emit(event: str, *, tenant: Tenant, invoice: Invoice) -> None:
    """The single place a billing event leaves this app (called after commit): logged, and
    published as an outgoing webhook event of the same type (docs/webhooks.md)."""
    from webhooks.events import webhook_event_publish  # webhooks imports billing's entitlements

    payload = {"invoice": invoice.number, "total": invoice.total, "currency": invoice.currency}
    logger.info("billing event %s tenant=%s %s", event, tenant.slug, payload)
    webhook_event_publish(tenant=tenant, event_type=event, data=payload)


def tenant_status_sync(*, tenant: Tenant, to_status: str, actor: Actor, reason: str) -> None:
    """Move the tenant to `to_status` through the state machine unless it is there already.

    Reads the tenant afresh (the caller's instance is left alone) and updates `tenant.status`.
    """
    from tenants.services import tenant_transition  # tenants.services imports billing

    current = Tenant.objects.get(pk=tenant.pk)
    if current.status != to_status:
        tenant_transition(tenant=current, to_status=to_status, actor=actor, reason=reason)


def _subscription_paid(subscription: Subscription, *, actor: Actor) -> None:
    if subscription.status in (SubscriptionStatus.TRIALING, SubscriptionStatus.PAST_DUE):
        subscription.status = SubscriptionStatus.ACTIVE
    subscription.past_due_since = None
    subscription.save(update_fields=["status", "past_due_since", "updated_at"])
    if subscription.status == SubscriptionStatus.ACTIVE:
        tenant_status_sync(
            tenant=subscription.tenant, to_status=TenantStatus.ACTIVE, actor=actor, reason="invoice paid"
        )


def subscription_activate_paid(*, subscription: Subscription, actor: Actor) -> None:
    """Everything due is paid (e.g. a credit covered the invoice): a trialing or past-due
    subscription becomes active, its tenant too. Call in a transaction."""
    _subscription_paid(subscription, actor=actor)


def subscription_mark_past_due(
    *, subscription: Subscription, actor: Actor, reason: str, since: datetime | None = None
) -> None:
    """Past due from `since` (default now; kept if it already was); the tenant follows. Call in a transaction."""
    subscription.status = SubscriptionStatus.PAST_DUE
    subscription.past_due_since = subscription.past_due_since or since or timezone.now()
    subscription.save(update_fields=["status", "past_due_since", "updated_at"])
    if Tenant.objects.filter(pk=subscription.tenant_id, status=TenantStatus.SUSPENDED).exists():
        return  # a suspended workspace stays suspended until paid (a failed retry must not lift it)
    tenant_status_sync(tenant=subscription.tenant, to_status=TenantStatus.PAST_DUE, actor=actor, reason=reason)


@on_public_schema
def invoice_record_payment(
    *, invoice: Invoice, succeeded: bool, actor: Actor, method: str = "", failure_reason: str = ""
) -> Payment:
    """Record a payment of an open invoice's total (`method`: e.g. the card's label; empty when staff
    record it; `failure_reason`: e.g. `card_declined`).

    Succeeded: the invoice is paid and a trialing or past-due subscription becomes active at
    once (its tenant too, from past_due or suspended). Failed: the invoice stays open and the
    subscription becomes past_due (its tenant too), and its next retry is scheduled
    (`billing.dunning`). Either way the dunning emails are queued. Raises `Conflict` unless the
    invoice is open.
    """
    from billing.dunning import dunning_payment_recorded

    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().select_related("tenant").get(pk=invoice.pk)
        if invoice.status != InvoiceStatus.OPEN:
            raise Conflict(f"Invoice {invoice.number} is {invoice.status}; only an open invoice can be paid.")
        status = PaymentStatus.SUCCEEDED if succeeded else PaymentStatus.FAILED
        payment = Payment.objects.create(
            invoice=invoice,
            amount=invoice.total,
            status=status,
            method=method,
            failure_reason="" if succeeded else failure_reason,
        )
        subscription = Subscription.objects.select_for_update().filter(tenant_id=invoice.tenant_id).first()
        was_past_due = subscription is not None and subscription.status == SubscriptionStatus.PAST_DUE
        if succeeded:
            invoice.status, invoice.paid_at = InvoiceStatus.PAID, timezone.now()
            invoice.save(update_fields=["status", "paid_at"])
            if subscription is not None:
                _subscription_paid(subscription, actor=actor)
        elif subscription is not None:
            subscription_mark_past_due(subscription=subscription, actor=actor, reason="payment failed")
        dunning_payment_recorded(invoice=invoice, payment=payment, was_past_due=was_past_due)
        data: dict[str, object] = {"invoice": invoice.number, "amount": invoice.total, "currency": invoice.currency}
        if method:
            data["method"] = method
        if payment.failure_reason:
            data["failure_reason"] = payment.failure_reason
        audit_record_platform_and_tenant(
            tenant=invoice.tenant,
            action="billing.payment_succeeded" if succeeded else "billing.payment_failed",
            actor=actor,
            target=invoice,
            data=data,
        )
        event = BillingEvent.PAYMENT_SUCCEEDED if succeeded else BillingEvent.PAYMENT_FAILED
        tenant = invoice.tenant
        transaction.on_commit(lambda: billing_event_emit(event, tenant=tenant, invoice=invoice))
    return payment
