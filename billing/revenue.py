"""Revenue numbers for the staff overview (a selector module: reads only).

Definitions (also in docs/billing.md, "Revenue numbers"); `as_of` defaults to now and the window
is the 30 days before it, `(as_of − 30 days, as_of]`:

- **Suspended**: a subscription whose tenant is `suspended` (the subscription itself stays
  `past_due`). It counts as suspended only, never as past due, and adds nothing to MRR.
- **MRR** (minor units of `currency`): over `active` and `past_due` (not suspended) subscriptions
  in `currency`, the sum of the `PlanPrice` of their plan, cycle and currency normalised to a
  month: monthly × 1, quarterly ÷ 3, annual ÷ 12, rounded to the nearest minor unit once, at the
  end. Add-ons are not included. Subscriptions in other currencies are summed the same way into
  `mrr_other_currencies` ({currency: MRR}); they are never converted.
- **ARR** = 12 × MRR.
- **Trial conversion** = converted ÷ ended, where *ended* are subscriptions whose `trial_ends_at`
  lies in the window and which are no longer trialing, and *converted* are those of them whose
  tenant has at least one paid invoice. `None` when no trial ended.
- **Churn** = cancelled ÷ paying at window start, where *cancelled* are subscriptions now
  `cancelled` whose cancellation took effect (`cancelled_at`) in the window, and *paying at
  window start* are subscriptions created before the window whose trial (if any) had ended by
  then and which are now active, past due, or cancelled within the window. Subscriptions keep no
  status history, so this is reconstructed from current state. `None` when nobody was paying.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from billing.models import CYCLE_MONTHS, Invoice, InvoiceStatus, PlanPrice, Subscription, SubscriptionStatus
from tenants.models import TenantStatus

REVENUE_WINDOW_DAYS = 30


@dataclass(frozen=True)
class RevenueSummary:
    as_of: datetime
    currency: str
    mrr: int
    arr: int
    mrr_other_currencies: dict[str, int] = field(default_factory=dict)
    active: int = 0
    trialing: int = 0
    past_due: int = 0
    suspended: int = 0
    cancelled: int = 0
    trials_ended: int = 0
    trials_converted: int = 0
    trial_conversion_rate: float | None = None
    paying_at_window_start: int = 0
    churned: int = 0
    churn_rate: float | None = None

    @property
    def mrr_major(self) -> Decimal:
        """MRR in major units (dollars), for display."""
        return Decimal(self.mrr) / 100

    @property
    def arr_major(self) -> Decimal:
        return Decimal(self.arr) / 100

    @property
    def mrr_other_currencies_major(self) -> dict[str, Decimal]:
        return {currency: Decimal(amount) / 100 for currency, amount in self.mrr_other_currencies.items()}


def _rounded(amount: Fraction) -> int:
    return int((Decimal(amount.numerator) / Decimal(amount.denominator)).quantize(Decimal(1), ROUND_HALF_UP))


def _mrr_by_currency(subscriptions: Sequence[Subscription]) -> dict[str, int]:
    prices = {
        (p.plan_id, p.billing_cycle, p.currency): p.amount
        for p in PlanPrice.objects.filter(plan_id__in={s.plan_id for s in subscriptions})
    }
    totals: dict[str, Fraction] = defaultdict(Fraction)
    for subscription in subscriptions:
        amount = prices.get((subscription.plan_id, subscription.billing_cycle, subscription.currency))
        if amount is not None:  # a plan without a price in its currency earns nothing measurable
            totals[subscription.currency] += Fraction(amount, CYCLE_MONTHS[subscription.billing_cycle])
    return {currency: _rounded(total) for currency, total in totals.items()}


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def revenue_summary(*, as_of: datetime | None = None, currency: str = "USD") -> RevenueSummary:
    """MRR, ARR, subscription counts, trial conversion and churn at `as_of` (see the module docstring)."""
    as_of = as_of or timezone.now()
    window_start = as_of - timedelta(days=REVENUE_WINDOW_DAYS)
    paid = Invoice.objects.filter(tenant_id=OuterRef("tenant_id"), status=InvoiceStatus.PAID)
    rows = list(
        Subscription.objects.annotate(tenant_status=F("tenant__status"), has_paid_invoice=Exists(paid)).only(
            "plan_id", "billing_cycle", "currency", "status", "trial_ends_at", "created_at", "cancelled_at"
        )
    )
    suspended = [
        s for s in rows if s.status != SubscriptionStatus.CANCELLED and s.tenant_status == TenantStatus.SUSPENDED
    ]
    suspended_ids = {s.pk for s in suspended}
    live = [s for s in rows if s.pk not in suspended_ids]
    by_status: dict[str, int] = defaultdict(int)
    for subscription in live:
        by_status[subscription.status] += 1
    earning = [s for s in live if s.status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)]
    mrr = _mrr_by_currency(earning)
    own = mrr.pop(currency, 0)

    ended = [
        s
        for s in rows
        if s.trial_ends_at is not None
        and window_start < s.trial_ends_at <= as_of
        and s.status != SubscriptionStatus.TRIALING
    ]
    converted = [s for s in ended if s.has_paid_invoice]
    churned_ids = {
        s.pk
        for s in rows
        if s.status == SubscriptionStatus.CANCELLED
        and s.cancelled_at is not None
        and window_start < s.cancelled_at <= as_of
    }
    earning_ids = {s.pk for s in earning}
    paying_at_start = {
        s.pk
        for s in rows
        if s.created_at <= window_start
        and (s.trial_ends_at is None or s.trial_ends_at <= window_start)
        and (s.pk in earning_ids or s.pk in churned_ids)
    }
    churned_paying = churned_ids & paying_at_start
    return RevenueSummary(
        as_of=as_of,
        currency=currency,
        mrr=own,
        arr=12 * own,
        mrr_other_currencies=dict(sorted(mrr.items())),
        active=by_status[SubscriptionStatus.ACTIVE],
        trialing=by_status[SubscriptionStatus.TRIALING],
        past_due=by_status[SubscriptionStatus.PAST_DUE],
        suspended=len(suspended),
        cancelled=by_status[SubscriptionStatus.CANCELLED],
        trials_ended=len(ended),
        trials_converted=len(converted),
        trial_conversion_rate=_rate(len(converted), len(ended)),
        paying_at_window_start=len(paying_at_start),
        churned=len(churned_paying),
        churn_rate=_rate(len(churned_paying), len(paying_at_start)),
    )
