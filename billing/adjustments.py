"""Staff's manual credits and discounts, and how invoices use them (public schema).

- A **credit** (`TenantCredit`) is money granted to a tenant in one currency. Every invoice issued
  afterwards in that currency uses what is left of it (oldest credit first) as one negative line
  "Credit applied", at most the invoice's other lines' sum: an invoice never becomes negative. Tax
  is computed on the subtotal after the credit. An invoice the credit covers entirely is paid at
  issue. Invoices mirrored from Stripe never use a local credit (Stripe has its own balance).
- A **discount** (`TenantDiscount`) reduces the subscription lines (plan and add-ons, not overage
  nor proration) of each renewal invoice: a percent of them, or a fixed amount in the discount's
  currency, for `duration_cycles` renewal invoices or forever. Several discounts apply in the order
  they were granted, each on what the previous ones left; the lines never go below zero.

Grants and ends are audited in public (with `tenant_slug`) and in the tenant's own trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction

from audit.services import Actor, audit_record_platform_and_tenant
from billing.models import CreditApplication, DiscountKind, Invoice, TenantCredit, TenantDiscount
from billing.proration import minor_units
from billing.services import validated_or_raise
from config.errors import Conflict
from tenants.context import on_public_schema

if TYPE_CHECKING:
    from tenants.models import Tenant

CREDIT_LINE = "Credit applied"


@on_public_schema
def credit_grant(*, tenant: Tenant, amount: int, currency: str, reason: str, actor: Actor) -> TenantCredit:
    """Grant `tenant` a credit of `amount` minor units of `currency`. `reason` is required.

    Raises `ValidationFailed` for an amount below 1, an unknown currency or an empty reason.
    """
    credit = TenantCredit(
        tenant=tenant,
        amount=amount,
        remaining=amount,
        currency=currency,
        reason=reason.strip(),
        **actor.as_creator(),
    )
    validated_or_raise(credit)
    with transaction.atomic():
        credit.save()
        audit_record_platform_and_tenant(
            tenant=tenant,
            action="billing.credit_granted",
            actor=actor,
            target=credit,
            data={"amount": amount, "currency": currency, "reason": credit.reason},
        )
    return credit


@on_public_schema
def discount_grant(
    *,
    tenant: Tenant,
    kind: str,
    reason: str,
    actor: Actor,
    percent: Decimal | None = None,
    amount: int | None = None,
    currency: str = "",
    duration_cycles: int | None = None,
) -> TenantDiscount:
    """Give `tenant` a discount on its renewal invoices: `percent` off, or `amount` minor units of
    `currency` off, for `duration_cycles` renewals (None: forever). Raises `ValidationFailed`."""
    discount = TenantDiscount(
        tenant=tenant,
        kind=kind,
        percent=percent,
        amount=amount,
        currency=currency,
        duration_cycles=duration_cycles,
        reason=reason.strip(),
        **actor.as_creator(),
    )
    validated_or_raise(discount)
    with transaction.atomic():
        discount.save()
        audit_record_platform_and_tenant(
            tenant=tenant,
            action="billing.discount_granted",
            actor=actor,
            target=discount,
            data={"discount": discount.label, "reason": discount.reason},
        )
    return discount


@on_public_schema
def discount_end(*, discount: TenantDiscount, actor: Actor) -> TenantDiscount:
    """Stop a discount before its duration runs out. Raises `Conflict` if it has already ended."""
    with transaction.atomic():
        locked = TenantDiscount.objects.select_for_update().select_related("tenant").get(pk=discount.pk)
        if not locked.active:
            raise Conflict("This discount has already ended.")
        locked.active = False
        locked.save(update_fields=["active"])
        audit_record_platform_and_tenant(
            tenant=locked.tenant,
            action="billing.discount_ended",
            actor=actor,
            target=locked,
            data={"discount": locked.label, "cycles_applied": locked.cycles_applied},
        )
    return locked


@dataclass(frozen=True)
class CreditTaken:
    credit: TenantCredit
    amount: int


def credits_take(*, tenant: Tenant, currency: str, up_to: int) -> list[CreditTaken]:
    """Lock the tenant's credits in `currency` with something left (oldest first) and take at most
    `up_to` minor units from them. Call inside the transaction that issues the invoice, then
    `credits_record` with it."""
    taken: list[CreditTaken] = []
    if up_to <= 0:
        return taken
    credits = TenantCredit.objects.select_for_update().filter(tenant_id=tenant.pk, currency=currency, remaining__gt=0)
    left = up_to
    for credit in credits.order_by("created_at", "id"):
        if left == 0:
            break
        amount = min(credit.remaining, left)
        taken.append(CreditTaken(credit, amount))
        left -= amount
    return taken


def credits_record(*, invoice: Invoice, taken: list[CreditTaken]) -> None:
    """What `credits_take` took is now used by `invoice`: lower each credit and keep the link."""
    for item in taken:
        item.credit.remaining -= item.amount
        item.credit.save(update_fields=["remaining"])
        CreditApplication.objects.create(credit=item.credit, invoice=invoice, amount=item.amount)


@dataclass(frozen=True)
class DiscountLine:
    description: str
    amount: int  # ≤ 0


def discounts_apply(*, tenant: Tenant, currency: str, base: int) -> list[DiscountLine]:
    """The discount lines of one renewal invoice whose subscription lines sum to `base`, counting a
    cycle on each discount that applied (call in the transaction that issues the invoice)."""
    lines: list[DiscountLine] = []
    left = base
    discounts = TenantDiscount.objects.select_for_update().filter(tenant_id=tenant.pk, active=True)
    for discount in discounts.order_by("created_at", "id"):
        if discount.is_exhausted:
            continue
        if discount.kind == DiscountKind.PERCENT and discount.percent is not None:
            off = min(left, minor_units(Decimal(left) * discount.percent / 100))
        elif discount.kind == DiscountKind.FIXED and discount.currency == currency and discount.amount is not None:
            off = min(left, discount.amount)
        else:
            continue  # a fixed amount in another currency does not apply (and does not count a cycle)
        discount.cycles_applied += 1
        discount.save(update_fields=["cycles_applied"])
        left -= off
        lines.append(DiscountLine(f"Discount: {discount.reason} ({discount.off_label})", -off))
    return lines
