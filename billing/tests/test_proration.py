"""Proration against worked examples (docs/billing.md, "Proration")."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from billing.proration import minor_units, months_after, period_fraction_remaining, proration_compute

START = datetime(2026, 4, 1, tzinfo=UTC)
END = datetime(2026, 5, 1, tzinfo=UTC)  # 30 days


def test_proration_half_way_through_starter_to_professional_monthly():
    # $49 → $149 on day 16 of 30: credit 15/30 × 4900, charge 15/30 × 14900.
    proration = proration_compute(
        old_amount=4900, new_amount=14900, period_start=START, period_end=END, at=datetime(2026, 4, 16, tzinfo=UTC)
    )
    assert (proration.credit, proration.charge, proration.net) == (-2450, 7450, 5000)


def test_proration_ten_days_left_rounds_each_amount_half_to_even():
    # 10/30 × 4900 = 1633.33… → 1633; 10/30 × 14900 = 4966.66… → 4967.
    proration = proration_compute(
        old_amount=4900, new_amount=14900, period_start=START, period_end=END, at=datetime(2026, 4, 21, tzinfo=UTC)
    )
    assert (proration.credit, proration.charge, proration.net) == (-1633, 4967, 3334)


def test_proration_annual_sar_one_quarter_left():
    # Annual 2026-01-01 → 2027-01-01 (365 days), switching on 2026-10-02 (91 days left):
    # 91/365 × 183_000 = 45_624.65… → 45_625 credit; 91/365 × 597_000 = 148_841.09… → 148_841 charge.
    proration = proration_compute(
        old_amount=183_000,
        new_amount=597_000,
        period_start=datetime(2026, 1, 1, tzinfo=UTC),
        period_end=datetime(2027, 1, 1, tzinfo=UTC),
        at=datetime(2026, 10, 2, tzinfo=UTC),
    )
    assert (proration.credit, proration.charge) == (-45_625, 148_841)


def test_minor_units_rounds_exact_halves_to_even():
    assert [minor_units(Decimal(value)) for value in ("0.5", "1.5", "2.5", "2450.5", "-2.5")] == [0, 2, 2, 2450, -2]


def test_proration_at_period_start_is_the_full_difference_and_after_the_end_nothing():
    full = proration_compute(old_amount=4900, new_amount=14900, period_start=START, period_end=END, at=START)
    late = proration_compute(
        old_amount=4900, new_amount=14900, period_start=START, period_end=END, at=datetime(2026, 6, 1, tzinfo=UTC)
    )
    assert (full.credit, full.charge) == (-4900, 14900)
    assert (late.credit, late.charge) == (0, 0)


def test_period_fraction_remaining_of_an_empty_period_is_zero():
    assert period_fraction_remaining(period_start=END, period_end=END, at=START) == 0


def test_months_after_clamps_the_day_to_the_target_month():
    assert months_after(datetime(2026, 1, 31, 9, tzinfo=UTC), 1) == datetime(2026, 2, 28, 9, tzinfo=UTC)
    assert months_after(datetime(2026, 11, 15, tzinfo=UTC), 3) == datetime(2027, 2, 15, tzinfo=UTC)
    assert months_after(datetime(2028, 2, 29, tzinfo=UTC), 12) == datetime(2029, 2, 28, tzinfo=UTC)
