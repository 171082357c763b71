"""Issuing invoices: platform-wide sequential numbers, lines in minor units."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.utils import timezone

from billing.models import Invoice, InvoiceLine, InvoiceNumberSequence, InvoiceStatus

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
    description: str
    amount: int
    is_proration: bool = False


def invoice_create(
    *, tenant: Tenant, currency: str, lines: list[InvoiceLineSpec], period_start: datetime, period_end: datetime
) -> Invoice:
    """Issue an open invoice with `lines` (no tax in the local backend yet), due in INVOICE_DUE_DAYS."""
    now = timezone.now()
    subtotal = sum(line.amount for line in lines)
    invoice = Invoice.objects.create(
        number=invoice_number_next(year=now.year),
        tenant=tenant,
        status=InvoiceStatus.OPEN,
        currency=currency,
        subtotal=subtotal,
        tax=0,
        total=subtotal,
        period_start=period_start,
        period_end=period_end,
        issued_at=now,
        due_at=now + timedelta(days=INVOICE_DUE_DAYS),
    )
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=invoice,
            description=line.description,
            unit_amount=line.amount,
            amount=line.amount,
            is_proration=line.is_proration,
        )
        for line in lines
    )
    return invoice
