"""The lifecycle beside Stripe: a Stripe-held subscription is the mirror's, a local one the product's.

Both kinds run side by side under a frozen clock (`run_beat`): the local subscription gets trial
end, renewal, collection and dunning; the Stripe one only reminders and the suspension after
AUTO_SUSPEND_DAYS past due. Also: a cancellation taking effect at period end (`cancelled_at`, the
`subscription.cancelled` event).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django_tenants.utils import schema_context

from billing.invoices import InvoiceLineSpec, invoice_create
from billing.models import InvoiceStatus, PlanPrice, Subscription, SubscriptionStatus
from billing.payment_methods import payment_method_set
from billing.payments import invoice_record_payment
from billing.selectors import invoice_list_of_tenant, subscription_of_tenant
from billing.subscriptions import subscription_cancel, subscription_start_trial
from billing.tests.factories import TESTS
from stripe_billing.mirror import SubscriptionState, subscription_apply
from tenants.models import Tenant, TenantStatus
from webhooks.models import WebhookEvent


def _stripe_held(tenant: Tenant, *, status: str, start: datetime, end: datetime, trial_end: datetime | None = None):
    """What the Stripe mirror leaves for a subscription Stripe holds (Professional monthly, USD)."""
    price = PlanPrice.objects.get(plan__code="professional", billing_cycle="monthly", currency="USD")
    state = SubscriptionState(
        stripe_id=f"sub_{tenant.slug}",
        stripe_status={"past_due": "past_due", "trialing": "trialing"}.get(status, "active"),
        status=status,
        plan_price=price,
        period_start=start,
        period_end=end,
        trial_end=trial_end,
        cancel_at_period_end=False,
        scheduled_price=None,
    )
    return subscription_apply(tenant=tenant, state=state)


def _statuses(tenant: Tenant) -> tuple[str, str]:
    subscription = subscription_of_tenant(tenant=tenant)
    assert subscription is not None
    return subscription.status, Tenant.objects.get(pk=tenant.pk).status


@pytest.fixture
def local_paying(tenant_a) -> Subscription:
    [invoice] = invoice_list_of_tenant(tenant=tenant_a.tenant)
    invoice_record_payment(invoice=invoice, succeeded=True, actor=TESTS)
    subscription = subscription_of_tenant(tenant=tenant_a.tenant)
    assert subscription is not None
    return subscription


def test_period_end_renews_the_local_subscription_only(tenant_a, tenant_b, local_paying, run_beat):
    start, end = local_paying.current_period_start, local_paying.current_period_end
    stripe_held = _stripe_held(tenant_b.tenant, status=SubscriptionStatus.ACTIVE, start=start, end=end)
    mirrored = invoice_create(  # what the mirror made of Stripe's open invoice
        tenant=tenant_b.tenant,
        currency="USD",
        lines=[InvoiceLineSpec("Professional", 14900)],
        period_start=start,
        period_end=end,
        apply_credits=False,
    )
    payment_method_set(tenant=tenant_b.tenant, card_number="4242424242424242", exp_month=12, exp_year=2040, actor=TESTS)

    assert stripe_held.is_provider_managed and not local_paying.is_provider_managed
    run_beat(end + timedelta(minutes=1))
    run_beat(end + timedelta(days=20))  # past every due date and retry

    local = subscription_of_tenant(tenant=tenant_a.tenant)
    assert local.current_period_start == end
    assert len(invoice_list_of_tenant(tenant=tenant_a.tenant)) == 2
    held = subscription_of_tenant(tenant=tenant_b.tenant)
    assert (held.current_period_start, held.current_period_end) == (start, end)
    [only] = invoice_list_of_tenant(tenant=tenant_b.tenant)
    assert (only.pk, only.status, only.payments.count()) == (mirrored.pk, InvoiceStatus.OPEN, 0)
    assert _statuses(tenant_b.tenant) == (SubscriptionStatus.ACTIVE, TenantStatus.ACTIVE)


def test_trial_end_is_the_products_for_local_trials_and_stripes_for_stripe_trials(tenant_a, tenant_b, run_beat):
    local = subscription_start_trial(tenant=tenant_b.tenant, actor=TESTS)
    ends = local.trial_ends_at
    _stripe_held(
        tenant_a.tenant, status=SubscriptionStatus.TRIALING, start=ends - timedelta(days=14), end=ends, trial_end=ends
    )
    invoices_before = len(invoice_list_of_tenant(tenant=tenant_a.tenant))

    run_beat(ends - timedelta(days=3))
    run_beat(ends - timedelta(days=1))
    run_beat(ends + timedelta(minutes=5))

    assert sorted(message.to[0] for message in mail.outbox) == sorted(
        [tenant_a.tenant.billing_email] * 2 + [tenant_b.tenant.billing_email] * 2
    )  # the reminders are the product's for both
    assert _statuses(tenant_b.tenant) == (SubscriptionStatus.PAST_DUE, TenantStatus.PAST_DUE)
    assert len(invoice_list_of_tenant(tenant=tenant_b.tenant)) == 1
    assert subscription_of_tenant(tenant=tenant_a.tenant).status == SubscriptionStatus.TRIALING
    assert len(invoice_list_of_tenant(tenant=tenant_a.tenant)) == invoices_before


def test_stripe_past_due_is_suspended_after_auto_suspend_days(tenant_a, tenant_b, settings, run_beat):
    settings.AUTO_SUSPEND_DAYS = 7
    marked_at = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    with time_machine.travel(marked_at, tick=False):
        _stripe_held(
            tenant_b.tenant,
            status=SubscriptionStatus.PAST_DUE,
            start=marked_at - timedelta(days=10),
            end=marked_at + timedelta(days=20),
        )
    assert _statuses(tenant_b.tenant) == (SubscriptionStatus.PAST_DUE, TenantStatus.PAST_DUE)

    run_beat(marked_at + timedelta(days=6, hours=23))
    assert Tenant.objects.get(pk=tenant_b.tenant.pk).status == TenantStatus.PAST_DUE
    run_beat(marked_at + timedelta(days=7, minutes=1))

    assert _statuses(tenant_b.tenant) == (SubscriptionStatus.PAST_DUE, TenantStatus.SUSPENDED)
    assert mail.outbox and "suspended" in mail.outbox[-1].subject.lower()


def test_cancellation_takes_effect_at_period_end_exactly_with_the_cancelled_event(tenant_a, local_paying, run_beat):
    subscription_cancel(tenant=tenant_a.tenant, actor=TESTS)
    end = local_paying.current_period_end

    run_beat(end + timedelta(hours=3))
    run_beat(end + timedelta(hours=4))  # a second run changes nothing

    cancelled = subscription_of_tenant(tenant=tenant_a.tenant)
    assert (cancelled.status, cancelled.cancelled_at) == (SubscriptionStatus.CANCELLED, end)
    assert Tenant.objects.get(pk=tenant_a.tenant.pk).status == TenantStatus.CANCELLED
    with schema_context(tenant_a.schema):
        [event] = WebhookEvent.objects.filter(type="subscription.cancelled", data__change="subscription_cancelled")
    assert event.data["subscription"]["status"] == "cancelled"


def test_a_failed_retry_leaves_a_suspended_local_workspace_suspended(tenant_b, run_beat):
    trial = subscription_start_trial(tenant=tenant_b.tenant, actor=TESTS)
    ends = trial.trial_ends_at
    run_beat(ends + timedelta(minutes=5))
    run_beat(ends + timedelta(days=8))
    assert _statuses(tenant_b.tenant) == (SubscriptionStatus.PAST_DUE, TenantStatus.SUSPENDED)
    with time_machine.travel(ends + timedelta(days=8, hours=1), tick=False):
        payment_method_set(
            tenant=tenant_b.tenant, card_number="4000000000000002", exp_month=12, exp_year=2040, actor=TESTS
        )

    run_beat(ends + timedelta(days=8, hours=2))  # the card on file is charged and declined

    [invoice] = invoice_list_of_tenant(tenant=tenant_b.tenant)
    assert list(invoice.payments.values_list("status", flat=True)) == ["failed"]
    assert _statuses(tenant_b.tenant) == (SubscriptionStatus.PAST_DUE, TenantStatus.SUSPENDED)
