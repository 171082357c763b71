"""Issuing invoices: platform-wide sequential numbers, lines in minor units."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.utils import timezone

from billing.models import BillingProfile, Invoice, InvoiceLine, InvoiceNumberSequence, InvoiceStatus
from billing.tax import seller_details, tax_decide

if TYPE_CHECKING:
    from tenants.models import Tenant

INVOICE_DUE_DAYS = 14


def invoice_number_next(*, year: int) -> str:
    """The next platform-wide invoice number of `year`, e.g. `AGY-2026-000001` (call inside a transaction)."""
    sequence, _ = InvoiceNumberSequence.objects.select_for_update().get_or_create(year=year)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return f"AGY-{year}-{sequence.last_number:06d}"


@dataclass(frozen=True)
class InvoiceLineSpec:
    """One line: `amount` is the line total; `quantity` × `unit_amount` when both are given."""

    description: str
    amount: int
    is_proration: bool = False
    quantity: int = 1
    unit_amount: int | None = None


def invoice_create(
    *,
    tenant: Tenant,
    currency: str,
    lines: list[InvoiceLineSpec],
    period_start: datetime,
    period_end: datetime,
    apply_credits: bool = True,
) -> Invoice:
    """Issue an open invoice with `lines`, its tax decided and the buyer's and seller's details copied
    (`billing.tax`), due in INVOICE_DUE_DAYS and collected with the card on file (if any) from now.

    With `apply_credits` (not for invoices mirrored from a provider), the tenant's staff credits in
    `currency` pay what they can as a "Credit applied" line, never below zero (`billing.adjustments`),
    and an invoice with nothing left to pay (credits, discounts) is issued paid. Call inside a transaction."""
    from billing.adjustments import CREDIT_LINE, credits_record, credits_take

    now = timezone.now()
    up_to = sum(line.amount for line in lines)
    taken = credits_take(tenant=tenant, currency=currency, up_to=up_to) if apply_credits else []
    if taken:
        lines = [*lines, InvoiceLineSpec(CREDIT_LINE, -sum(item.amount for item in taken))]
    subtotal = sum(line.amount for line in lines)
    profile = BillingProfile.objects.filter(tenant_id=tenant.pk).first()
    tax = tax_decide(profile=profile)
    tax_amount = tax.amount_on(subtotal)
    invoice = Invoice.objects.create(
        number=invoice_number_next(year=now.year),
        tenant=tenant,
        status=InvoiceStatus.OPEN,
        currency=currency,
        subtotal=subtotal,
        tax=tax_amount,
        total=subtotal + tax_amount,
        tax_rate=tax.rate,
        tax_name=tax.name,
        tax_note=tax.note,
        buyer_name=profile.legal_name if profile else tenant.name,
        buyer_address=profile.address if profile else "",
        buyer_country=profile.country if profile else "",
        buyer_tax_id=profile.tax_id if profile else "",
        seller_details=seller_details(),
        period_start=period_start,
        period_end=period_end,
        issued_at=now,
        due_at=now + timedelta(days=INVOICE_DUE_DAYS),
        next_payment_attempt_at=now,  # collected with the card on file, if any, at the next lifecycle run
    )
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=invoice,
            description=line.description,
            quantity=line.quantity,
            unit_amount=line.amount if line.unit_amount is None else line.unit_amount,
            amount=line.amount,
            is_proration=line.is_proration,
        )
        for line in lines
    )
    if taken:
        credits_record(invoice=invoice, taken=taken)
    if apply_credits and invoice.total == 0:  # a credit or discount covered it: nothing to collect
        invoice.status, invoice.paid_at, invoice.next_payment_attempt_at = InvoiceStatus.PAID, now, None
        invoice.save(update_fields=["status", "paid_at", "next_payment_attempt_at"])
    return invoice
