"""The time-driven lifecycle, driven by the clock: freeze time, run the beat task functions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail

from billing.models import InvoiceStatus, Plan, Subscription, SubscriptionStatus, TrialReminder
from billing.payments import invoice_record_payment
from billing.proration import months_after
from billing.selectors import invoice_list_of_tenant, subscription_of_tenant
from billing.subscriptions import (
    subscription_cancel,
    subscription_change_cycle,
    subscription_downgrade,
    subscription_start_trial,
)
from billing.tests.factories import TESTS
from tenants.models import Tenant, TenantStatus


def _status(tenant: Tenant) -> tuple[str, str]:
    subscription = subscription_of_tenant(tenant=tenant)
    assert subscription is not None
    return subscription.status, Tenant.objects.get(pk=tenant.pk).status


@pytest.fixture
def trial(tenant_b) -> Subscription:
    return subscription_start_trial(tenant=tenant_b.tenant, actor=TESTS)


@pytest.fixture
def paying(tenant_a) -> Subscription:
    """Alpha (provisioned active, Professional monthly) with its first invoice paid."""
    [invoice] = invoice_list_of_tenant(tenant=tenant_a.tenant)
    invoice_record_payment(invoice=invoice, succeeded=True, actor=TESTS)
    subscription = subscription_of_tenant(tenant=tenant_a.tenant)
    assert subscription is not None
    return subscription


def test_trial_reminders_are_sent_3_and_1_days_before_exactly_once(tenant_b, trial, run_beat):
    ends = trial.trial_ends_at
    run_beat(ends - timedelta(days=5))
    assert mail.outbox == []
    run_beat(ends - timedelta(days=3))
    run_beat(ends - timedelta(days=2, hours=23))
    run_beat(ends - timedelta(days=1))
    run_beat(ends - timedelta(hours=2))

    assert [message.subject for message in mail.outbox] == [
        "Your Agentry trial ends in 3 days",
        "Your Agentry trial ends in 1 day",
    ]
    assert mail.outbox[0].to == [tenant_b.tenant.billing_email]
    assert sorted(TrialReminder.objects.values_list("days_before", flat=True)) == [1, 3]


def test_trial_end_without_payment_is_past_due_with_an_open_invoice(tenant_b, trial, run_beat):
    run_beat(trial.trial_ends_at + timedelta(minutes=5))
    run_beat(trial.trial_ends_at + timedelta(hours=1))  # a second run changes nothing

    assert _status(tenant_b.tenant) == (SubscriptionStatus.PAST_DUE, TenantStatus.PAST_DUE)
    [invoice] = invoice_list_of_tenant(tenant=tenant_b.tenant)
    assert (invoice.status, invoice.total, invoice.period_start) == (InvoiceStatus.OPEN, 4900, trial.trial_ends_at)
    assert subscription_of_tenant(tenant=tenant_b.tenant).past_due_since == trial.trial_ends_at


def test_past_due_is_suspended_after_auto_suspend_days(tenant_b, trial, run_beat, settings):
    settings.AUTO_SUSPEND_DAYS = 7
    ends = trial.trial_ends_at
    run_beat(ends + timedelta(minutes=5))
    run_beat(ends + timedelta(days=6, hours=23))
    assert _status(tenant_b.tenant) == (SubscriptionStatus.PAST_DUE, TenantStatus.PAST_DUE)

    run_beat(ends + timedelta(days=7, minutes=1))
    assert _status(tenant_b.tenant) == (SubscriptionStatus.PAST_DUE, TenantStatus.SUSPENDED)


def test_paying_a_suspended_tenants_invoice_reactivates_it_at_once(tenant_b, trial, run_beat):
    run_beat(trial.trial_ends_at + timedelta(minutes=5))
    run_beat(trial.trial_ends_at + timedelta(days=8))
    [invoice] = invoice_list_of_tenant(tenant=tenant_b.tenant)

    invoice_record_payment(invoice=invoice, succeeded=True, actor=TESTS)

    assert _status(tenant_b.tenant) == (SubscriptionStatus.ACTIVE, TenantStatus.ACTIVE)
    assert subscription_of_tenant(tenant=tenant_b.tenant).past_due_since is None


def test_failed_payment_makes_an_active_subscription_past_due(tenant_a, run_beat):
    [invoice] = invoice_list_of_tenant(tenant=tenant_a.tenant)
    invoice_record_payment(invoice=invoice, succeeded=False, actor=TESTS)

    assert _status(tenant_a.tenant) == (SubscriptionStatus.PAST_DUE, TenantStatus.PAST_DUE)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN
    assert list(invoice.payments.values_list("status", flat=True)) == ["failed"]


def test_period_end_renews_with_the_next_invoice(tenant_a, paying, run_beat):
    run_beat(paying.current_period_end + timedelta(minutes=1))
    run_beat(paying.current_period_end + timedelta(minutes=2))

    renewed = subscription_of_tenant(tenant=tenant_a.tenant)
    assert renewed.current_period_start == paying.current_period_end
    invoices = list(invoice_list_of_tenant(tenant=tenant_a.tenant))
    assert [(i.status, i.period_start) for i in invoices] == [
        (InvoiceStatus.OPEN, paying.current_period_end),
        (InvoiceStatus.PAID, paying.current_period_start),
    ]


def test_an_unpaid_renewal_becomes_past_due_at_its_due_date(tenant_a, paying, run_beat):
    run_beat(paying.current_period_end + timedelta(minutes=1))
    [renewal, _] = invoice_list_of_tenant(tenant=tenant_a.tenant)
    run_beat(renewal.due_at - timedelta(minutes=1))
    assert _status(tenant_a.tenant) == (SubscriptionStatus.ACTIVE, TenantStatus.ACTIVE)

    run_beat(renewal.due_at + timedelta(minutes=1))
    assert _status(tenant_a.tenant) == (SubscriptionStatus.PAST_DUE, TenantStatus.PAST_DUE)


def test_period_end_applies_a_scheduled_downgrade_and_cycle(tenant_a, paying, run_beat):
    subscription_downgrade(tenant=tenant_a.tenant, plan=Plan.objects.get(code="starter"), actor=TESTS)
    subscription_change_cycle(tenant=tenant_a.tenant, billing_cycle="annual", actor=TESTS)
    run_beat(paying.current_period_end + timedelta(minutes=1))

    renewed = subscription_of_tenant(tenant=tenant_a.tenant)
    assert (renewed.plan.code, renewed.billing_cycle, renewed.scheduled_plan, renewed.scheduled_cycle) == (
        "starter",
        "annual",
        None,
        "",
    )
    assert Tenant.objects.get(pk=tenant_a.tenant.pk).plan.code == "starter"
    assert invoice_list_of_tenant(tenant=tenant_a.tenant).first().total == 48804


def test_period_end_cancels_a_subscription_set_to_cancel(tenant_a, paying, run_beat):
    subscription_cancel(tenant=tenant_a.tenant, actor=TESTS)
    run_beat(paying.current_period_end + timedelta(minutes=1))

    assert _status(tenant_a.tenant) == (SubscriptionStatus.CANCELLED, TenantStatus.CANCELLED)
    assert invoice_list_of_tenant(tenant=tenant_a.tenant).count() == 1  # no renewal invoice


def test_beat_task_queues_only_tenants_with_a_step_due(tenant_a, tenant_b, paying, trial, run_beat):
    assert run_beat(paying.current_period_start + timedelta(days=1)) == []
    assert run_beat(trial.trial_ends_at - timedelta(days=2)) == [tenant_b.tenant.pk]


def test_a_cycle_chosen_during_the_trial_applies_from_the_trial_end(tenant_b, trial, run_beat):
    subscription_change_cycle(tenant=tenant_b.tenant, billing_cycle="annual", actor=TESTS)

    run_beat(trial.trial_ends_at + timedelta(minutes=5))

    subscription = subscription_of_tenant(tenant=tenant_b.tenant)
    assert (subscription.billing_cycle, subscription.scheduled_cycle) == ("annual", "")
    assert subscription.current_period_end == months_after(trial.trial_ends_at, 12)
    [invoice] = invoice_list_of_tenant(tenant=tenant_b.tenant)
    assert invoice.total == 48804  # Starter annual in USD
