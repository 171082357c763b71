"""Invoice numbers: platform-wide, sequential per year, never reused."""

from __future__ import annotations

from datetime import UTC, datetime

import time_machine
from django.db import transaction

from billing.invoices import InvoiceLineSpec, invoice_create, invoice_number_next


def test_invoice_number_next_is_sequential_and_restarts_each_year(db):
    with transaction.atomic():
        numbers = [invoice_number_next(year=2031) for _ in range(3)] + [invoice_number_next(year=2032)]
    assert numbers == ["AGY-2031-000001", "AGY-2031-000002", "AGY-2031-000003", "AGY-2032-000001"]


def test_invoice_create_numbers_across_tenants_and_totals_its_lines(tenant_a, tenant_b):
    at = datetime(2033, 3, 1, tzinfo=UTC)
    with time_machine.travel(at, tick=False):
        first = invoice_create(
            tenant=tenant_a.tenant,
            currency="USD",
            lines=[InvoiceLineSpec("Unused time", -2450, True), InvoiceLineSpec("Remaining time", 7450, True)],
            period_start=at,
            period_end=at,
        )
        second = invoice_create(
            tenant=tenant_b.tenant,
            currency="EUR",
            lines=[InvoiceLineSpec("Starter", 4500)],
            period_start=at,
            period_end=at,
        )

    assert (first.number, second.number) == ("AGY-2033-000001", "AGY-2033-000002")
    assert (first.subtotal, first.tax, first.total) == (5000, 0, 5000)
    assert [(line.quantity, line.unit_amount, line.amount) for line in first.lines.all()] == [
        (1, -2450, -2450),
        (1, 7450, 7450),
    ]
    assert (first.issued_at, (first.due_at - at).days) == (at, 14)
