"""Automatic collection in the local backend: charging the card on file for open invoices.

Every invoice is due for collection when it is issued; the hourly lifecycle run charges the card
on file for each open invoice whose `next_payment_attempt_at` has come, and a failure schedules the
next retry (`billing.dunning`). A customer may also pay an open invoice at once from the portal.
A charge "succeeds" unless the card is one of Stripe's declining test cards or has expired.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from audit.services import Actor
from billing.models import Invoice, InvoiceStatus, Payment, PaymentMethod
from billing.payment_methods import card_has_expired
from billing.payments import invoice_record_payment
from billing.selectors import payment_method_of_tenant
from config.errors import Conflict, PaymentDeclined
from tenants.context import on_public_schema

if TYPE_CHECKING:
    from tenants.models import Tenant


def card_charge_outcome(*, card: PaymentMethod, at: datetime) -> str:
    """The decline code a charge of `card` at `at` gets, or "" if it succeeds."""
    if card.decline_code:
        return card.decline_code
    if card_has_expired(exp_month=card.exp_month, exp_year=card.exp_year, at=at):
        return "expired_card"
    return ""


@on_public_schema
def invoice_charge_card(*, invoice: Invoice, actor: Actor) -> Payment:
    """Charge the tenant's card on file for the open `invoice` now and record the outcome (a success
    activates at once, a failure makes it past due and schedules a retry).

    Raises `Conflict` without a card on file or unless the invoice is open.
    """
    card = payment_method_of_tenant(tenant=invoice.tenant)
    if card is None:
        raise Conflict("There is no card on file to pay with; add one first.")
    outcome = card_charge_outcome(card=card, at=timezone.now())
    return invoice_record_payment(
        invoice=invoice, succeeded=not outcome, actor=actor, method=card.label, failure_reason=outcome
    )


def invoices_collect_due(*, tenant: Tenant, now: datetime, actor: Actor) -> list[Payment]:
    """Charge the card on file for every open invoice of `tenant` whose attempt is due at `now`,
    oldest first. Without a card nothing happens (invoices wait for one, or for staff)."""
    if payment_method_of_tenant(tenant=tenant) is None:
        return []
    due = Invoice.objects.filter(tenant_id=tenant.pk, status=InvoiceStatus.OPEN, next_payment_attempt_at__lte=now)
    return [invoice_charge_card(invoice=invoice, actor=actor) for invoice in due.order_by("issued_at", "id")]


@on_public_schema
def invoices_settle_with_card(*, tenant: Tenant, actor: Actor) -> list[Payment]:
    """Pay every open invoice of `tenant` with the card on file now, oldest first, all or nothing:
    the subscription and tenant become active again at once (e.g. a suspended workspace).

    Raises `Conflict` without a card on file or without an open invoice, and `PaymentDeclined` (with
    nothing recorded) when the card is declined.
    """
    with transaction.atomic():
        open_invoices = Invoice.objects.filter(tenant_id=tenant.pk, status=InvoiceStatus.OPEN).order_by(
            "issued_at", "id"
        )
        if not open_invoices.exists():
            raise Conflict("There is no open invoice to pay.")
        payments = []
        for invoice in open_invoices:
            payment = invoice_charge_card(invoice=invoice, actor=actor)
            if payment.failure_reason:  # raising rolls the attempts back: nothing was paid
                raise PaymentDeclined(f"{payment.method} was declined ({payment.failure_reason}). Try another card.")
            payments.append(payment)
    return payments
