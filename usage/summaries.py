"""One period's usage against the plan: what the usage API and the portal usage page show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from billing.entitlements import entitlements_for
from billing.models import Feature
from usage.meters import COUNTERS, GAUGES, METER_LIMITS, Meter, UsagePeriod
from usage.quotas import overage_active
from usage.selectors import (
    CostSummary,
    Performance,
    usage_api_performance,
    usage_costs,
    usage_gauges_current,
    usage_live_counters,
    usage_period_totals,
)

if TYPE_CHECKING:
    from tenants.models import Tenant

# Before a period has run this long, a straight-line projection says little.
MIN_ELAPSED_FOR_PROJECTION = timedelta(hours=1)


@dataclass(frozen=True)
class MeterSummary:
    meter: str
    total: int
    limit: int | None  # None: unlimited
    projected: int | None  # at period end, on the current pace (counters of the current period)
    is_gauge: bool
    overage_billed: bool  # the workspace opted in to overage, so usage past the limit is billed

    @property
    def label(self) -> str:
        return Meter(self.meter).label

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.total)

    @property
    def overage(self) -> int:
        """Units past the limit that are billed as overage (0 unless the workspace opted in)."""
        if self.limit is None or self.is_gauge or not self.overage_billed:
            return 0
        return max(0, self.total - self.limit)

    @property
    def percent_used(self) -> float | None:
        if not self.limit:
            return None
        return round(100 * self.total / self.limit, 1)

    @property
    def projected_over_limit(self) -> bool:
        return self.limit is not None and self.projected is not None and self.projected > self.limit


@dataclass(frozen=True)
class UsageSummary:
    tenant_id: str
    period: UsagePeriod
    is_current: bool
    meters: dict[str, MeterSummary]
    performance: Performance
    costs: CostSummary
    overage_opt_in: bool
    can_opt_in_overage: bool


def _projection(total: int, period: UsagePeriod, now: datetime) -> int | None:
    elapsed = now - period.start
    if elapsed < MIN_ELAPSED_FOR_PROJECTION:
        return None
    return round(total * (period.end - period.start) / elapsed)


def usage_summary(*, tenant: Tenant, period: UsagePeriod, now: datetime) -> UsageSummary:
    """Totals of every meter in `period` with limits, remaining, billed overage and projection,
    API performance and token costs.

    For the current period, counter totals are live (the quota counters in Redis, never below
    what PostgreSQL has rolled up); everything else comes from the rollup, at most a minute behind.
    """
    entitlements = entitlements_for(tenant=tenant)
    is_current = period.contains(now)
    totals = usage_period_totals(tenant=tenant, period=period)
    if is_current:
        for meter, live in usage_live_counters(tenant=tenant, period=period).items():
            totals[meter] = max(totals[meter], live or 0)
        totals.update(usage_gauges_current(tenant=tenant))
    opted_in = overage_active(tenant=tenant, entitlements=entitlements)
    meters = {
        meter: MeterSummary(
            meter=meter,
            total=totals[meter],
            limit=entitlements.limits[METER_LIMITS[meter]],
            projected=_projection(totals[meter], period, now) if is_current and meter in COUNTERS else None,
            is_gauge=meter in GAUGES,
            overage_billed=opted_in,
        )
        for meter in Meter.values
    }
    return UsageSummary(
        tenant_id=tenant.slug,
        period=period,
        is_current=is_current,
        meters=meters,
        performance=usage_api_performance(tenant=tenant, period=period),
        costs=usage_costs(tenant=tenant, period=period),
        overage_opt_in=opted_in,
        can_opt_in_overage=entitlements.has_feature(Feature.OVERAGE_BILLING),
    )
