"""Staff credits and discounts on invoices, against worked numbers (minor units, USD, no tax).

Alpha is on Professional monthly at 149.00 USD. With two Extra agents packs (29.00 each a month):
subscription lines 14900 + 5800 = 20700. A 20 % discount for 2 renewals takes 4140 (→ 16560),
then a fixed 10.00 USD discount forever takes 1000 (→ 15560). The third renewal has only the fixed
one: 20700 − 1000 = 19700.

A 200.00 USD credit pays the first renewal of 14900 entirely (paid at issue, 5100 left) and 5100
of the second (9800 due); the third is untouched.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from audit.models import AuditEvent
from billing.adjustments import credit_grant, discount_end, discount_grant
from billing.models import DiscountKind, InvoiceStatus, Subscription, SubscriptionStatus, TenantCredit
from billing.selectors import invoice_list_of_tenant, subscription_of_tenant, tenant_credit_balance
from billing.subscriptions import invoice_for_period, subscription_start_trial
from billing.tests.factories import TESTS, add_on_give
from config.errors import Conflict, ValidationFailed
from tenants.models import Tenant, TenantStatus


@pytest.fixture
def alpha(tenant_a) -> Subscription:
    subscription = subscription_of_tenant(tenant=tenant_a.tenant)
    assert subscription is not None
    return subscription


def _renew(subscription: Subscription, n: int):
    return invoice_for_period(subscription=subscription, start=subscription.current_period_end + timedelta(days=31 * n))


def _lines(invoice) -> list[tuple[str, int]]:
    return [(line.description.split(" (")[0], line.amount) for line in invoice.lines.all()]


def test_discounts_apply_to_subscription_lines_in_order_for_their_duration(tenant_a, alpha):
    add_on_give(tenant_a.tenant, "extra_agents_10", quantity=2)
    discount_grant(
        tenant=tenant_a.tenant,
        kind=DiscountKind.PERCENT,
        percent=Decimal(20),
        duration_cycles=2,
        reason="Launch",
        actor=TESTS,
    )
    discount_grant(
        tenant=tenant_a.tenant, kind=DiscountKind.FIXED, amount=1000, currency="USD", reason="Partner", actor=TESTS
    )

    first, second, third = (_renew(alpha, n) for n in (1, 2, 3))

    assert _lines(first) == [
        ("Professional, monthly", 14900),
        ("10 extra agents add-on", 5800),
        ("Discount: Launch", -4140),
        ("Discount: Partner", -1000),
    ]
    assert (first.subtotal, first.total, second.total, third.total) == (15560, 15560, 15560, 19700)
    assert [line.amount for line in third.lines.all()] == [14900, 5800, -1000]


def test_a_fixed_discount_never_takes_the_subscription_lines_below_zero_nor_applies_in_another_currency(
    tenant_a, alpha
):
    discount_grant(
        tenant=tenant_a.tenant, kind=DiscountKind.FIXED, amount=9000, currency="EUR", reason="EU", actor=TESTS
    )
    big = discount_grant(
        tenant=tenant_a.tenant,
        kind=DiscountKind.FIXED,
        amount=50000,
        currency="USD",
        duration_cycles=1,
        reason="Big",
        actor=TESTS,
    )

    invoice = _renew(alpha, 1)

    assert (invoice.total, invoice.status) == (0, InvoiceStatus.PAID)  # nothing left to collect
    assert _lines(invoice) == [("Professional, monthly", 14900), ("Discount: Big", -14900)]
    big.refresh_from_db()
    assert big.is_exhausted


def test_an_ended_discount_no_longer_applies_and_ending_twice_is_refused(tenant_a, alpha):
    discount = discount_grant(
        tenant=tenant_a.tenant, kind=DiscountKind.PERCENT, percent=Decimal("12.5"), reason="Trial offer", actor=TESTS
    )
    assert _renew(alpha, 1).total == 14900 - 1862  # 12.5 % of 14900 = 1862.5 → 1862 (half to even)

    discount_end(discount=discount, actor=TESTS)

    assert _renew(alpha, 2).total == 14900
    with pytest.raises(Conflict):
        discount_end(discount=discount, actor=TESTS)


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": DiscountKind.PERCENT, "percent": Decimal(0)},
        {"kind": DiscountKind.PERCENT, "percent": Decimal(101)},
        {"kind": DiscountKind.FIXED, "amount": 500},
        {"kind": DiscountKind.FIXED, "amount": 0, "currency": "USD"},
        {"kind": DiscountKind.PERCENT, "percent": Decimal(10), "duration_cycles": 0},
    ],
)
def test_discount_grant_refuses_incomplete_or_impossible_discounts(tenant_a, fields):
    with pytest.raises(ValidationFailed):
        discount_grant(tenant=tenant_a.tenant, reason="x", actor=TESTS, **fields)


def test_a_credit_pays_the_next_invoices_until_used_up_and_never_makes_one_negative(tenant_a, alpha):
    credit = credit_grant(tenant=tenant_a.tenant, amount=20000, currency="USD", reason="Outage in May", actor=TESTS)
    credit_grant(tenant=tenant_a.tenant, amount=7000, currency="EUR", reason="Other currency", actor=TESTS)

    first = _renew(alpha, 1)
    credit.refresh_from_db()
    assert (first.subtotal, first.total, first.status, credit.remaining) == (0, 0, InvoiceStatus.PAID, 5100)
    assert first.next_payment_attempt_at is None
    assert _lines(first) == [("Professional, monthly", 14900), ("Credit applied", -14900)]
    assert tenant_credit_balance(tenant=tenant_a.tenant) == {"EUR": 7000, "USD": 5100}

    second, third = _renew(alpha, 2), _renew(alpha, 3)

    assert (second.total, second.status) == (9800, InvoiceStatus.OPEN)
    assert _lines(second)[-1] == ("Credit applied", -5100)
    assert (third.total, len(_lines(third))) == (14900, 1)
    assert tenant_credit_balance(tenant=tenant_a.tenant) == {"EUR": 7000}
    assert list(credit.applications.values_list("amount", flat=True)) == [14900, 5100]


def test_credit_grant_is_audited_and_refuses_a_zero_amount_or_no_reason(tenant_a):
    credit_grant(tenant=tenant_a.tenant, amount=1500, currency="USD", reason="Goodwill", actor=TESTS)

    assert AuditEvent.objects.filter(action="billing.credit_granted", data__amount=1500).exists()
    with pytest.raises(ValidationFailed):
        credit_grant(tenant=tenant_a.tenant, amount=0, currency="USD", reason="Goodwill", actor=TESTS)
    with pytest.raises(ValidationFailed):
        credit_grant(tenant=tenant_a.tenant, amount=100, currency="USD", reason="  ", actor=TESTS)
    assert TenantCredit.objects.filter(tenant=tenant_a.tenant).count() == 1


def test_a_trial_whose_first_invoice_a_credit_covers_becomes_active(tenant_b, run_beat):
    trial = subscription_start_trial(tenant=tenant_b.tenant, actor=TESTS)
    credit_grant(tenant=tenant_b.tenant, amount=5000, currency="USD", reason="Referral", actor=TESTS)

    run_beat(trial.trial_ends_at + timedelta(minutes=5))

    [invoice] = invoice_list_of_tenant(tenant=tenant_b.tenant)
    assert (invoice.total, invoice.status) == (0, InvoiceStatus.PAID)
    assert subscription_of_tenant(tenant=tenant_b.tenant).status == SubscriptionStatus.ACTIVE
    assert Tenant.objects.get(pk=tenant_b.tenant.pk).status == TenantStatus.ACTIVE
