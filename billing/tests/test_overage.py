"""Overage: recorded idempotently by identifier, billed per started package on the renewal invoice."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from billing.models import OverageRecord, Plan, PlanOveragePrice, Subscription
from billing.overage import overage_record
from billing.payments import invoice_record_payment
from billing.selectors import invoice_list_of_tenant, subscription_of_tenant
from billing.subscriptions import subscription_cancel, subscription_downgrade, subscription_start_trial
from billing.tests.factories import TESTS
from config.errors import ValidationFailed
from tenants.models import Tenant


@pytest.fixture
def paying(tenant_a) -> Subscription:
    """Alpha: Professional, USD monthly, first invoice paid."""
    [invoice] = invoice_list_of_tenant(tenant=tenant_a.tenant)
    invoice_record_payment(invoice=invoice, succeeded=True, actor=TESTS)
    subscription = subscription_of_tenant(tenant=tenant_a.tenant)
    assert subscription is not None
    return subscription


def _record(tenant: Tenant, meter: str, quantity: int, identifier: str, at: datetime) -> None:
    overage_record(tenant=tenant, meter=meter, quantity=quantity, identifier=identifier, timestamp=at)


def _lines(invoice) -> list[tuple[str, int, int, int]]:  # type: ignore[no-untyped-def]
    return [(line.description, line.quantity, line.unit_amount, line.amount) for line in invoice.lines.all()]


def test_overage_record_counts_a_duplicate_identifier_once(tenant_a):
    now = timezone.now()
    _record(tenant_a.tenant, "api_calls", 500, "rollup-1", now)
    _record(tenant_a.tenant, "api_calls", 900, "rollup-1", now + timedelta(minutes=1))  # a resend

    assert list(OverageRecord.objects.values_list("quantity", "identifier")) == [(500, "rollup-1")]


def test_overage_record_identifiers_are_per_tenant(tenant_a, tenant_b):
    now = timezone.now()
    _record(tenant_a.tenant, "api_calls", 1, "same", now)
    _record(tenant_b.tenant, "api_calls", 2, "same", now)

    assert sorted(OverageRecord.objects.values_list("tenant__slug", "quantity")) == [("alpha", 1), ("beta", 2)]


@pytest.mark.parametrize(
    ("meter", "quantity", "identifier", "field"),
    [
        ("storage", 1, "x", "meter"),
        ("api_calls", 0, "x", "quantity"),
        ("api_calls", True, "x", "quantity"),
        ("api_calls", 1, "", "identifier"),
        ("api_calls", 1, "x" * 101, "identifier"),
    ],
)
def test_overage_record_refuses_bad_input(tenant_a, meter, quantity, identifier, field):
    with pytest.raises(ValidationFailed) as error:
        _record(tenant_a.tenant, meter, quantity, identifier, timezone.now())

    assert field in error.value.errors
    assert not OverageRecord.objects.exists()


def test_overage_record_refuses_a_naive_timestamp(tenant_a):
    with pytest.raises(ValidationFailed) as error:
        _record(tenant_a.tenant, "tokens", 1, "x", datetime(2026, 1, 1))

    assert "timestamp" in error.value.errors


def test_renewal_invoice_bills_overage_per_started_package(tenant_a, tenant_b, paying, run_beat):
    during, end = paying.current_period_start + timedelta(days=3), paying.current_period_end
    _record(tenant_a.tenant, "api_calls", 10_000, "a1", during)
    _record(tenant_a.tenant, "api_calls", 2_345, "a2", during + timedelta(hours=1))
    _record(tenant_a.tenant, "api_calls", 2_345, "a2", during + timedelta(hours=2))  # duplicate: counted once
    _record(tenant_a.tenant, "chat_messages", 1, "c1", during)
    _record(tenant_a.tenant, "api_calls", 50, "next-period", end + timedelta(seconds=1))
    _record(tenant_b.tenant, "api_calls", 99_999, "b1", during)  # another tenant's

    run_beat(end + timedelta(minutes=5))

    renewal = invoice_list_of_tenant(tenant=tenant_a.tenant).first()
    assert _lines(renewal)[1:] == [
        (f"API calls beyond the plan's limit until {end:%Y-%m-%d}: 12,345 (per 1,000)", 13, 100, 1_300),
        (f"Chat messages beyond the plan's limit until {end:%Y-%m-%d}: 1 (per 1,000)", 1, 200, 200),
    ]
    assert renewal.subtotal == 14_900 + 1_300 + 200
    billed = OverageRecord.objects.filter(invoice=renewal).values_list("identifier", flat=True)
    assert sorted(billed) == ["a1", "a2", "c1"]
    assert OverageRecord.objects.get(identifier="next-period").invoice is None
    assert OverageRecord.objects.get(identifier="b1").invoice is None


def test_overage_reported_late_is_billed_on_the_following_renewal(tenant_a, paying, run_beat):
    end = paying.current_period_end
    run_beat(end + timedelta(minutes=5))
    _record(tenant_a.tenant, "tokens", 1_500_000, "late", end - timedelta(minutes=1))  # arrives after the renewal
    renewed = subscription_of_tenant(tenant=tenant_a.tenant)
    invoice_record_payment(invoice=invoice_list_of_tenant(tenant=tenant_a.tenant).first(), succeeded=True, actor=TESTS)

    run_beat(renewed.current_period_end + timedelta(minutes=5))

    latest = invoice_list_of_tenant(tenant=tenant_a.tenant).first()
    assert [(quantity, amount) for _, quantity, _, amount in _lines(latest)[1:]] == [(2, 1_000)]  # 2 × $5.00


def test_overage_is_priced_by_the_plan_it_was_used_on_before_a_scheduled_downgrade(tenant_a, paying, run_beat):
    PlanOveragePrice.objects.filter(plan__code="professional", meter="api_calls", currency="USD").update(amount=250)
    subscription_downgrade(tenant=tenant_a.tenant, plan=Plan.objects.get(code="starter"), actor=TESTS)
    _record(tenant_a.tenant, "api_calls", 1_000, "a", paying.current_period_start + timedelta(days=1))

    run_beat(paying.current_period_end + timedelta(minutes=5))

    renewal = invoice_list_of_tenant(tenant=tenant_a.tenant).first()
    assert renewal.lines.first().amount == 4_900  # Starter from now on
    assert [amount for *_, amount in _lines(renewal)[1:]] == [250]  # Professional's overage price


def test_a_meter_without_an_overage_price_is_not_charged(tenant_a, paying, run_beat, caplog):
    PlanOveragePrice.objects.filter(plan__code="professional", meter="tokens").delete()
    _record(tenant_a.tenant, "tokens", 5, "t", paying.current_period_start + timedelta(days=1))

    run_beat(paying.current_period_end + timedelta(minutes=5))

    renewal = invoice_list_of_tenant(tenant=tenant_a.tenant).first()
    assert len(_lines(renewal)) == 1
    assert "overage not charged: plan professional has no tokens overage price in USD (tenant=alpha" in caplog.text


def test_overage_during_a_trial_is_never_charged(tenant_b, run_beat):
    trial = subscription_start_trial(tenant=tenant_b.tenant, actor=TESTS)
    _record(tenant_b.tenant, "api_calls", 5_000, "trial", trial.trial_ends_at - timedelta(days=1))

    run_beat(trial.trial_ends_at + timedelta(minutes=5))

    [first] = invoice_list_of_tenant(tenant=tenant_b.tenant)
    assert first.lines.count() == 1
    assert OverageRecord.objects.get(identifier="trial").invoice is None


def test_a_cancelled_subscription_gets_a_last_invoice_for_its_final_overage(tenant_a, paying, run_beat):
    subscription_cancel(tenant=tenant_a.tenant, actor=TESTS)
    _record(tenant_a.tenant, "api_calls", 1, "last", paying.current_period_end - timedelta(days=1))

    run_beat(paying.current_period_end + timedelta(minutes=5))

    final = invoice_list_of_tenant(tenant=tenant_a.tenant).first()
    assert (final.period_start, final.total) == (paying.current_period_start, 100)
    assert subscription_of_tenant(tenant=tenant_a.tenant).status == "cancelled"
