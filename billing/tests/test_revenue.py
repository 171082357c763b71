"""Revenue numbers for the staff overview, against a worked example.

At AS_OF = 2026-06-30 12:00 UTC (window: the 30 days after 2026-05-31 12:00), with prices
Starter 49.00 monthly / 139.65 quarterly / 488.04 annual USD, 45.00 monthly EUR, Professional 149.00 USD:

| sub | plan, cycle, currency | status (tenant) | created | trial end | note |
|---|---|---|---|---|---|
| s1 | starter monthly USD | active | 01-01 | – | 4900 / month |
| s2 | starter quarterly USD | active | 01-01 | – | 13965 / 3 = 4655 |
| s3 | starter annual USD | past_due | 01-01 | – | 48804 / 12 = 4067 |
| s4 | professional monthly USD | past_due (suspended) | 01-01 | – | suspended: no MRR |
| s5 | starter monthly EUR | active | 06-01 | 06-15 | trial ended in window, paid → converted |
| s6 | starter monthly USD | trialing | 06-25 | 07-05 | still trialing |
| s7 | starter monthly USD | past_due | 06-06 | 06-20 | trial ended in window, unpaid; 4900 |
| s8 | starter monthly USD | cancelled on 06-10 (row last changed 06-30) | 01-01 | 01-15 | churned |
| s9 | starter monthly USD | cancelled on 04-01 (row last changed 06-20) | 01-01 | – | before the window |
| s10 | starter monthly USD | cancelled 05-31 11:00 (row last changed 06-05) | 01-01 | – | an hour before the window |

Churn counts when the cancellation took effect (`cancelled_at`), never when the row last changed.

MRR (USD) = 4900 + 4655 + 4067 + 4900 = 18522; ARR = 222264; MRR (EUR) = 4500.
Trial conversion = 1 (s5) ÷ 2 (s5, s7) = 0.5. Churn = 1 (s8) ÷ 4 (s1, s2, s3, s8) = 0.25.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

import pytest
from django_tenants.utils import get_public_schema_name, schema_context

from accounts.models import User
from billing.models import Invoice, InvoiceStatus, Plan, PlanPrice, Subscription, SubscriptionStatus
from billing.revenue import revenue_summary
from conftest import PASSWORD, client_for
from tenants.models import Tenant, TenantStatus
from tenants.services import ProvisionedTenant
from tenants.tests.factories import ProvisionedTenantFactory

AS_OF = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)


def _at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 12, 0, tzinfo=UTC)


def _price(plan: str, cycle: str, currency: str, amount: int) -> None:
    PlanPrice.objects.update_or_create(
        plan=Plan.objects.get(code=plan), billing_cycle=cycle, currency=currency, defaults={"amount": amount}
    )


def _subscription(name: str, *, plan: str = "starter", tenant_status: str = "", **fields: object) -> Subscription:
    provisioned = cast(ProvisionedTenant, ProvisionedTenantFactory(slug=f"rev-{name}"))
    tenant = provisioned.tenant
    Subscription.objects.filter(tenant_id=tenant.pk).update(plan=Plan.objects.get(code=plan), **fields)
    if tenant_status:
        Tenant.objects.filter(pk=tenant.pk).update(status=tenant_status)
    return Subscription.objects.get(tenant_id=tenant.pk)


@pytest.fixture
def worked_example(two_tenants, db) -> None:
    Subscription.objects.all().delete()  # the session tenants' subscriptions are not part of the example
    _price("starter", "monthly", "USD", 4900)
    _price("starter", "quarterly", "USD", 13965)
    _price("starter", "annual", "USD", 48804)
    _price("starter", "monthly", "EUR", 4500)
    _price("professional", "monthly", "USD", 14900)
    jan, active, past_due = _at(1, 1), SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE
    _subscription("s1", status=active, created_at=jan, trial_ends_at=None)
    _subscription("s2", status=active, billing_cycle="quarterly", created_at=jan, trial_ends_at=None)
    _subscription("s3", status=past_due, billing_cycle="annual", created_at=jan, trial_ends_at=None)
    _subscription(
        "s4",
        plan="professional",
        status=past_due,
        created_at=jan,
        trial_ends_at=None,
        tenant_status=TenantStatus.SUSPENDED,
    )
    s5 = _subscription("s5", status=active, currency="EUR", created_at=_at(6, 1), trial_ends_at=_at(6, 15))
    Invoice.objects.create(
        number="REV-TEST-1",
        tenant_id=s5.tenant_id,
        status=InvoiceStatus.PAID,
        currency="EUR",
        subtotal=4500,
        total=4500,
        period_start=_at(6, 15),
        period_end=_at(7, 15),
        issued_at=_at(6, 15),
        due_at=_at(6, 29),
        paid_at=_at(6, 16),
    )
    _subscription("s6", status=SubscriptionStatus.TRIALING, created_at=_at(6, 25), trial_ends_at=_at(7, 5))
    _subscription("s7", status=past_due, created_at=_at(6, 6), trial_ends_at=_at(6, 20))
    cancelled = SubscriptionStatus.CANCELLED
    _subscription(
        "s8", status=cancelled, created_at=jan, trial_ends_at=_at(1, 15), cancelled_at=_at(6, 10), updated_at=AS_OF
    )
    _subscription(
        "s9", status=cancelled, created_at=jan, trial_ends_at=None, cancelled_at=_at(4, 1), updated_at=_at(6, 20)
    )
    s10_cancelled_at = datetime(2026, 5, 31, 11, 0, tzinfo=UTC)
    _subscription(
        "s10", status=cancelled, created_at=jan, trial_ends_at=None, cancelled_at=s10_cancelled_at, updated_at=_at(6, 5)
    )


def test_revenue_summary_mrr_and_arr_normalise_cycles(worked_example):
    summary = revenue_summary(as_of=AS_OF)

    assert (summary.currency, summary.mrr, summary.arr) == ("USD", 18522, 222264)
    assert summary.mrr_other_currencies == {"EUR": 4500}


def test_revenue_summary_in_another_currency_reports_usd_separately(worked_example):
    summary = revenue_summary(as_of=AS_OF, currency="EUR")

    assert (summary.mrr, summary.arr) == (4500, 54000)
    assert summary.mrr_other_currencies == {"USD": 18522}


def test_revenue_summary_counts_by_status_with_suspended_apart(worked_example):
    summary = revenue_summary(as_of=AS_OF)

    assert (summary.active, summary.trialing, summary.past_due, summary.suspended, summary.cancelled) == (3, 1, 2, 1, 3)


def test_revenue_summary_trial_conversion_over_the_last_30_days(worked_example):
    summary = revenue_summary(as_of=AS_OF)

    assert (summary.trials_ended, summary.trials_converted, summary.trial_conversion_rate) == (2, 1, 0.5)


def test_revenue_summary_churn_over_the_last_30_days(worked_example):
    summary = revenue_summary(as_of=AS_OF)

    assert (summary.paying_at_window_start, summary.churned, summary.churn_rate) == (4, 1, 0.25)


def test_revenue_summary_rates_are_none_without_a_denominator(two_tenants, db):
    Subscription.objects.all().delete()

    summary = revenue_summary(as_of=AS_OF)

    assert (summary.mrr, summary.arr, summary.trial_conversion_rate, summary.churn_rate) == (0, 0, None, None)


def test_revenue_summary_runs_a_fixed_number_of_queries(worked_example, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        revenue_summary(as_of=AS_OF)


# --- Staff admin index ----------------------------------------------------------------------------


def _admin_client(**flags: bool):
    with schema_context(get_public_schema_name()):
        if flags.get("is_superuser", True):
            user = User.objects.create_superuser(email="rev-staff@agentry.test", password=PASSWORD)
        else:
            user = User.objects.create_user(email="rev-plain@agentry.test", password=PASSWORD, **flags)
    client = client_for("localhost")
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def test_admin_index_shows_revenue_to_staff_who_may_view_tenants(worked_example):
    response = _admin_client().get("/admin/")

    assert response.status_code == 200
    assert response.context["revenue"].mrr == 18522
    content = response.content.decode()
    assert "revenue-overview" in content
    assert "185.22 USD" in content
    assert "MRR in EUR" in content


def test_admin_index_hides_revenue_from_staff_without_tenant_permission(two_tenants, db):
    response = _admin_client(is_staff=True, is_superuser=False).get("/admin/")

    assert response.status_code == 200
    assert "revenue" not in response.context
    assert b"revenue-overview" not in response.content
