"""The local backend's card on file, for the offline demo: what a card number tells, without keeping it.

`payment_method_set` reads a card number once, derives the brand, the last four digits and how
charges end (Stripe's test-card semantics: 4242 4242 4242 4242 succeeds, 4000 0000 0000 0002 is
declined, …), stores those with the expiry and drops the number. It is never saved, audited or
logged. The Stripe backend keeps cards at Stripe instead (its customer portal).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from audit.services import Actor, audit_record_platform_and_tenant
from billing.models import CardBrand, Invoice, InvoiceStatus, PaymentMethod
from config.errors import Conflict, ValidationFailed
from tenants.context import on_public_schema

if TYPE_CHECKING:
    from tenants.models import Tenant

# Stripe's test cards whose charges fail, and how (https://docs.stripe.com/testing#declined-payments).
DECLINING_TEST_CARDS: dict[str, str] = {
    "4000000000000002": "card_declined",
    "4000000000009995": "insufficient_funds",
    "4000000000009987": "lost_card",
    "4000000000000069": "expired_card",
    "4000000000000127": "incorrect_cvc",
    "4000000000000341": "card_declined",  # attaches, then every charge fails
}


def _invalid(field_name: str, problem: str) -> ValidationFailed:
    return ValidationFailed(problem, errors={field_name: [problem]})


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _brand(digits: str) -> str:
    if digits.startswith("4"):
        return CardBrand.VISA
    if digits[:2] in ("34", "37"):
        return CardBrand.AMEX
    if 51 <= int(digits[:2]) <= 55 or 2221 <= int(digits[:4]) <= 2720:
        return CardBrand.MASTERCARD
    if digits.startswith(("6011", "65")):
        return CardBrand.DISCOVER
    return CardBrand.UNKNOWN


@dataclass(frozen=True)
class CardDetails:
    brand: str
    last4: str
    decline_code: str


def card_details_from_number(*, number: str) -> CardDetails:
    """Brand, last four digits and decline behaviour of a card number (spaces and dashes allowed).

    Raises `ValidationFailed` (field `card_number`) unless it is 12 to 19 digits passing the Luhn check.
    """
    digits = number.replace(" ", "").replace("-", "")
    if not digits.isdigit() or not 12 <= len(digits) <= 19 or not _luhn_valid(digits):
        raise _invalid("card_number", "Enter a valid card number.")
    return CardDetails(brand=_brand(digits), last4=digits[-4:], decline_code=DECLINING_TEST_CARDS.get(digits, ""))


def card_has_expired(*, exp_month: int, exp_year: int, at: datetime) -> bool:
    """A card is valid through the last day of its expiry month."""
    return (exp_year, exp_month) < (at.year, at.month)


@on_public_schema
def payment_method_set(
    *, tenant: Tenant, card_number: str, exp_month: int, exp_year: int, actor: Actor
) -> PaymentMethod:
    """Put a card on file for `tenant` (replacing any), keeping only brand, last 4 and expiry.

    Open invoices are collected with it at the next lifecycle run, retry schedule or not. Raises
    `ValidationFailed` for an invalid number, month or year, or a card that has expired.
    """
    details = card_details_from_number(number=card_number)
    if not 1 <= exp_month <= 12:
        raise _invalid("exp_month", "The expiry month must be 1 to 12.")
    now = timezone.now()
    if not now.year <= exp_year <= now.year + 20:
        raise _invalid("exp_year", f"The expiry year must be {now.year} to {now.year + 20}.")
    if card_has_expired(exp_month=exp_month, exp_year=exp_year, at=now):
        raise _invalid("exp_month", "This card has expired.")
    with transaction.atomic():
        previous = PaymentMethod.objects.select_for_update().filter(tenant_id=tenant.pk).first()
        card = previous or PaymentMethod(tenant_id=tenant.pk)
        card.brand, card.last4, card.decline_code = details.brand, details.last4, details.decline_code
        card.exp_month, card.exp_year = exp_month, exp_year
        card.save()
        Invoice.objects.filter(tenant_id=tenant.pk, status=InvoiceStatus.OPEN).update(next_payment_attempt_at=now)
        audit_record_platform_and_tenant(
            tenant=tenant,
            action="billing.payment_method_set",
            actor=actor,
            target=card,
            data={"card": card.label, "expiry": card.expiry, "replaced": previous is not None},
        )
    return card


@on_public_schema
def payment_method_remove(*, tenant: Tenant, actor: Actor) -> None:
    """Take the card off file (invoices then wait for another card or for staff). Raises `Conflict` if none."""
    with transaction.atomic():
        card = PaymentMethod.objects.select_for_update().filter(tenant_id=tenant.pk).first()
        if card is None:
            raise Conflict("There is no card on file.")
        audit_record_platform_and_tenant(
            tenant=tenant, action="billing.payment_method_removed", actor=actor, target=card, data={"card": card.label}
        )
        card.delete()
