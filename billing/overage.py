"""Usage beyond a plan's limits (overage): recorded as it is reported, billed on the renewal invoice.

The usage meters decide whether a tenant may run over a limit at all (its entitlements include
`overage_billing`); for each overage they report they call the billing backend, and the local
backend stores it with `overage_record`. What overage costs is catalog data on the plan
(`PlanOveragePrice`, per meter and currency, edited by staff in admin).

Billing rule (docs/billing.md, "Overage"): at each renewal, every record not yet billed from before
the period end (and after the trial, which is never charged) is summed per meter and charged on the
renewal invoice, one line per meter, per *started* package: 1,001 API calls at $1.00 per 1,000 are
2 × $1.00. The price is the plan's of the period that ended, in the subscription's currency. A meter
the plan has no overage price for is not charged (a warning is logged). A subscription that ends
gets a last invoice for its final period's overage.

Records are not audited one by one (they can be many per hour); the invoice that bills them is.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from django.utils import timezone

from billing.invoices import InvoiceLineSpec
from billing.models import Invoice, OverageMeter, OverageRecord, Plan, PlanOveragePrice, Subscription
from config.errors import ValidationFailed
from tenants.context import on_public_schema

if TYPE_CHECKING:
    from tenants.models import Tenant

logger = logging.getLogger(__name__)

_IDENTIFIER_MAX_LENGTH = OverageRecord._meta.get_field("identifier").max_length or 100


def _invalid(field_name: str, problem: str) -> ValidationFailed:
    return ValidationFailed(problem, errors={field_name: [problem]})


@on_public_schema
def overage_record(*, tenant: Tenant, meter: str, quantity: int, identifier: str, timestamp: datetime) -> None:
    """Record `quantity` units of `meter` used beyond the tenant's limit at `timestamp`.

    Idempotent by `identifier` (unique per tenant): a record whose identifier was already seen is
    ignored, whatever its quantity, so a reporter may safely send the same one again. Raises
    `ValidationFailed` for an unknown meter, a quantity below 1, an empty or too long identifier,
    or a naive timestamp.
    """
    if meter not in OverageMeter.values:
        raise _invalid("meter", f"Unknown meter {meter!r}; known: {', '.join(OverageMeter.values)}.")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise _invalid("quantity", "The quantity must be a whole number of 1 or more.")
    if not identifier or len(identifier) > _IDENTIFIER_MAX_LENGTH:
        raise _invalid("identifier", f"The identifier must have 1 to {_IDENTIFIER_MAX_LENGTH} characters.")
    if timezone.is_naive(timestamp):
        raise _invalid("timestamp", "The timestamp must carry a time zone.")
    OverageRecord.objects.bulk_create(
        [
            OverageRecord(
                tenant_id=tenant.pk, meter=meter, quantity=quantity, identifier=identifier, timestamp=timestamp
            )
        ],
        ignore_conflicts=True,  # ON CONFLICT DO NOTHING: the first record of an identifier wins
    )


@dataclass(frozen=True)
class OverageBill:
    """The overage to put on one invoice: its lines, and the records they bill."""

    lines: list[InvoiceLineSpec] = field(default_factory=list)
    record_ids: list[int] = field(default_factory=list)

    def attach(self, *, invoice: Invoice) -> None:
        """Mark the records billed by `invoice` (call in the transaction that issued it)."""
        if self.record_ids:
            OverageRecord.objects.filter(pk__in=self.record_ids).update(invoice=invoice)


def _packages(quantity: int, package_size: int) -> int:
    return -(-quantity // package_size)  # started packages count whole


def overage_bill_compute(*, subscription: Subscription, plan: Plan, until: datetime) -> OverageBill:
    """The unbilled overage of `subscription`'s tenant from before `until`, priced by `plan` in the
    subscription's currency (see the module docstring for the rule). Reads only."""
    records = OverageRecord.objects.filter(tenant_id=subscription.tenant_id, invoice__isnull=True, timestamp__lt=until)
    if subscription.trial_ends_at is not None:
        records = records.filter(timestamp__gte=subscription.trial_ends_at)
    rows = list(records.values_list("pk", "meter", "quantity"))
    if not rows:
        return OverageBill()
    totals: dict[str, int] = defaultdict(int)
    for _, meter, quantity in rows:
        totals[meter] += quantity
    prices = {
        price.meter: price
        for price in PlanOveragePrice.objects.filter(plan=plan, currency=subscription.currency, meter__in=totals)
    }
    lines = []
    for meter in OverageMeter.values:  # a stable line order
        if meter not in totals:
            continue
        price = prices.get(meter)
        label = OverageMeter(meter).label
        if price is None:
            logger.warning(
                "overage not charged: plan %s has no %s overage price in %s (tenant=%s, %s units)",
                plan.code,
                meter,
                subscription.currency,
                subscription.tenant.slug,
                totals[meter],
            )
            continue
        packages = _packages(totals[meter], price.package_size)
        lines.append(
            InvoiceLineSpec(
                f"{label[0].upper()}{label[1:]} beyond the plan's limit until {until:%Y-%m-%d}: {totals[meter]:,} "
                f"(per {price.package_size:,})",
                packages * price.amount,
                quantity=packages,
                unit_amount=price.amount,
            )
        )
    return OverageBill(lines=lines, record_ids=[pk for pk, _, _ in rows])
