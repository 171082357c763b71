"""Tax on invoices (local backend): the buyer's billing profile, staff-edited rates per country, one rule.

The rule (docs/billing.md, "Tax"), decided when an invoice is issued and copied onto it:

1. No billing profile yet: no tax (0 %), and no buyer details beyond the workspace's name.
2. The buyer's country is an EU member state (`EU_MEMBER_STATES`), the buyer gave a VAT id, and that country
   is not the seller's (`BILLING_SELLER_COUNTRY`): **reverse charge**, 0 %, with the statement
   `REVERSE_CHARGE_NOTE` on the invoice (business-to-business supply of services, the buyer accounts
   for the VAT; Council Directive 2006/112/EC, Articles 44 and 196).
3. Otherwise the rate of the buyer's country (`TaxRate`); a country without a row pays 0 %.

Tax is `subtotal × rate`, rounded half up to the minor unit, once per invoice. The VAT id's format
is checked (country prefix); it is not looked up in VIES (that needs the network).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction

from audit.services import Actor, audit_record, audit_record_platform_and_tenant
from billing.models import BillingProfile, TaxRate
from billing.services import validated_or_raise
from config.errors import ValidationFailed
from tenants.context import on_public_schema

if TYPE_CHECKING:
    from tenants.models import Tenant

REVERSE_CHARGE_NOTE = (
    "Reverse charge: VAT to be accounted for by the recipient (Council Directive 2006/112/EC, Articles 44 and 196)."
)
# Membership is a fact, not pricing, so it is a constant; rates are data (`TaxRate`).
EU_MEMBER_STATES = frozenset(
    {
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    }
)
_VAT_PREFIX = {"GR": "EL"}
_VAT_ID = re.compile(r"^[A-Z]{2}[0-9A-Z]{2,13}$")


@dataclass(frozen=True)
class TaxDecision:
    rate: Decimal  # percent
    name: str
    note: str = ""

    def amount_on(self, subtotal: int) -> int:
        return int((Decimal(subtotal) * self.rate / 100).quantize(Decimal(1), ROUND_HALF_UP))


NO_TAX = TaxDecision(rate=Decimal(0), name="")


def tax_decide(*, profile: BillingProfile | None) -> TaxDecision:
    """The tax an invoice to `profile`'s buyer carries (see the module docstring for the rule)."""
    if profile is None:
        return NO_TAX
    rate = TaxRate.objects.filter(country=profile.country).first()
    if profile.country in EU_MEMBER_STATES and profile.tax_id and profile.country != settings.BILLING_SELLER_COUNTRY:
        return TaxDecision(rate=Decimal(0), name=rate.name if rate else "VAT", note=REVERSE_CHARGE_NOTE)
    if rate is None:
        return TaxDecision(rate=Decimal(0), name="Tax")
    return TaxDecision(rate=rate.rate, name=rate.name)


def seller_details() -> str:
    """The seller block of an invoice, from settings (copied onto each invoice at issue)."""
    lines = [settings.BILLING_SELLER_NAME, settings.BILLING_SELLER_ADDRESS, settings.BILLING_SELLER_COUNTRY]
    if settings.BILLING_SELLER_TAX_ID:
        lines.append(f"VAT/Tax id: {settings.BILLING_SELLER_TAX_ID}")
    return "\n".join(line.strip() for line in lines if line.strip())


def _normalised_tax_id(*, tax_id: str, country: str) -> str:
    tax_id = re.sub(r"[\s.\-]", "", tax_id).upper()
    if not tax_id:
        return ""
    prefix = _VAT_PREFIX.get(country, country)
    if country in EU_MEMBER_STATES and (not _VAT_ID.match(tax_id) or not tax_id.startswith(prefix)):
        problem = f"An EU VAT id starts with {prefix}, followed by 2 to 13 letters or digits (e.g. {prefix}123456789)."
        raise ValidationFailed(problem, errors={"tax_id": [problem]})
    return tax_id


@on_public_schema
def billing_profile_set(
    *, tenant: Tenant, legal_name: str, address: str, country: str, tax_id: str, actor: Actor
) -> BillingProfile:
    """Create or change the workspace's billing profile; later invoices use it (issued ones keep theirs).

    Raises `ValidationFailed` for an empty name or address, a bad country code, or a malformed EU VAT id.
    """
    country = country.strip().upper()
    with transaction.atomic():
        profile = BillingProfile.objects.select_for_update().filter(tenant_id=tenant.pk).first()
        before = {f: getattr(profile, f) for f in ("legal_name", "address", "country", "tax_id")} if profile else {}
        profile = profile or BillingProfile(tenant_id=tenant.pk)
        profile.legal_name, profile.address, profile.country = legal_name.strip(), address.strip(), country
        validated_or_raise(profile, exclude=["tenant"])
        profile.tax_id = _normalised_tax_id(tax_id=tax_id, country=country)
        after = {f: getattr(profile, f) for f in ("legal_name", "address", "country", "tax_id")}
        if before == after:
            return profile
        profile.save()
        changes = {f: [before.get(f), value] for f, value in after.items() if before.get(f) != value}
        audit_record_platform_and_tenant(
            tenant=tenant, action="billing.profile_updated", actor=actor, target=profile, data={"changes": changes}
        )
    return profile


_RATE_FIELDS = ("country", "name", "rate")


def tax_rate_save(*, tax_rate: TaxRate, actor: Actor) -> TaxRate:
    """Create or change a country's tax rate (staff); invoices issued from now on use it. Audited."""
    validated_or_raise(tax_rate)
    before = TaxRate.objects.filter(pk=tax_rate.pk).first() if tax_rate.pk else None
    changes = {
        field: [str(getattr(before, field)) if before else None, str(getattr(tax_rate, field))]
        for field in _RATE_FIELDS
        if before is None or getattr(before, field) != getattr(tax_rate, field)
    }
    with transaction.atomic():
        tax_rate.save()
        if changes:
            audit_record(action="billing.tax_rate_set", actor=actor, target=tax_rate, data={"changes": changes})
    return tax_rate


def tax_rate_delete(*, tax_rate: TaxRate, actor: Actor) -> None:
    """Remove a country's rate: its buyers then pay 0 % on new invoices. Audited."""
    with transaction.atomic():
        audit_record(action="billing.tax_rate_deleted", actor=actor, target=tax_rate, data={"rate": str(tax_rate)})
        tax_rate.delete()
