"""Period and proration arithmetic: pure functions (minor units, aware datetimes), no queries.

The rule (docs/billing.md, "Proration"): on an immediate change of price mid-period, the tenant
is credited the unused share of what it paid and charged the same share of the new price. The
share is the exact fraction of the period (to the second) still to run. Each amount is rounded to
the minor unit on its own, half to even (banker's rounding), so rounding never favours one side.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal


@dataclass(frozen=True)
class Proration:
    credit: int  # minor units, ≤ 0: the unused time on the old price
    charge: int  # minor units, ≥ 0: the remaining time on the new price

    @property
    def net(self) -> int:
        return self.credit + self.charge


def period_fraction_remaining(*, period_start: datetime, period_end: datetime, at: datetime) -> Decimal:
    """The share of `[period_start, period_end)` still to run at `at`, clamped to [0, 1]."""
    total = Decimal((period_end - period_start).total_seconds())
    if total <= 0:
        return Decimal(0)
    remaining = Decimal((period_end - at).total_seconds())
    return min(Decimal(1), max(Decimal(0), remaining / total))


def minor_units(amount: Decimal) -> int:
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def proration_compute(
    *, old_amount: int, new_amount: int, period_start: datetime, period_end: datetime, at: datetime
) -> Proration:
    """Credit and charge for switching from `old_amount` to `new_amount` (prices of one period) at `at`."""
    fraction = period_fraction_remaining(period_start=period_start, period_end=period_end, at=at)
    return Proration(credit=-minor_units(old_amount * fraction), charge=minor_units(new_amount * fraction))


def months_after(start: datetime, months: int) -> datetime:
    """`start` moved on by `months` calendar months; the day is clamped (31 Jan + 1 month = 28/29 Feb)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return start.replace(year=year, month=month, day=min(start.day, calendar.monthrange(year, month)[1]))
