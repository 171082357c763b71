"""Subscription services: trial, upgrade with proration, guarded downgrade, cycle, cancel/undo, reactivation."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.models import AuditEvent
from billing.models import InvoiceStatus, Plan, Subscription, SubscriptionStatus
from billing.selectors import invoice_list_of_tenant, subscription_of_tenant
from billing.subscriptions import (
    subscription_cancel,
    subscription_cancel_undo,
    subscription_change_cycle,
    subscription_downgrade,
    subscription_reactivate,
    subscription_start_paid,
    subscription_start_trial,
    subscription_upgrade,
)
from billing.tests.factories import TESTS
from config.errors import Conflict, DowngradeBlocked, ValidationFailed
from conftest import make_member
from tenants.models import Tenant, TenantStatus


def _plan(code: str) -> Plan:
    return Plan.objects.get(code=code)


def _fresh(tenant: Tenant) -> Tenant:
    return Tenant.objects.get(pk=tenant.pk)


@pytest.fixture
def paying_a(tenant_a) -> Subscription:
    """Alpha, provisioned active: on Professional monthly, its first invoice issued."""
    subscription = subscription_of_tenant(tenant=tenant_a.tenant)
    assert subscription is not None
    return subscription


@pytest.fixture
def trialing_b(tenant_b) -> Subscription:
    return subscription_start_trial(tenant=tenant_b.tenant, actor=TESTS)


def test_subscription_start_trial_follows_the_tenant_and_is_idempotent(tenant_b):
    first = subscription_start_trial(tenant=tenant_b.tenant, actor=TESTS)
    again = subscription_start_trial(tenant=tenant_b.tenant, actor=TESTS)

    assert again.pk == first.pk
    assert (first.status, first.plan.code, first.billing_cycle, first.currency) == (
        "trialing",
        "starter",
        "monthly",
        "USD",
    )
    assert first.trial_ends_at == tenant_b.tenant.trial_ends_at == first.current_period_end


def test_tenant_provisioned_active_gets_a_paid_subscription_with_its_first_invoice(tenant_a, paying_a):
    [invoice] = invoice_list_of_tenant(tenant=tenant_a.tenant)
    assert (paying_a.status, invoice.status, invoice.total, invoice.currency) == ("active", "open", 14900, "USD")
    assert (invoice.period_start, invoice.period_end) == (paying_a.current_period_start, paying_a.current_period_end)
    with pytest.raises(Conflict):
        subscription_start_paid(tenant=tenant_a.tenant, actor=TESTS)


def test_subscription_upgrade_prorates_the_remaining_period(tenant_a, paying_a):
    half_way = paying_a.current_period_start + (paying_a.current_period_end - paying_a.current_period_start) / 2
    with time_machine.travel(half_way, tick=False):
        subscription, invoice = subscription_upgrade(tenant=tenant_a.tenant, plan=_plan("enterprise"), actor=TESTS)

    assert invoice is not None
    lines = [(line.amount, line.is_proration) for line in invoice.lines.all()]
    assert lines == [(-7450, True), (24950, True)]  # half of 14,900 back, half of 49,900 due
    assert (invoice.total, invoice.status) == (17500, InvoiceStatus.OPEN)
    assert subscription.plan.code == _fresh(tenant_a.tenant).plan.code == "enterprise"
    with schema_context(tenant_a.schema):
        assert AuditEvent.objects.filter(action="billing.subscription_upgraded").count() == 1


def test_subscription_upgrade_in_a_trial_changes_plan_without_an_invoice(tenant_b, trialing_b):
    subscription, invoice = subscription_upgrade(tenant=tenant_b.tenant, plan=_plan("professional"), actor=TESTS)

    assert invoice is None
    assert (subscription.status, _fresh(tenant_b.tenant).plan.code) == ("trialing", "professional")


def test_subscription_upgrade_refuses_a_cheaper_plan(tenant_a, paying_a):
    with pytest.raises(ValidationFailed, match="not an upgrade"):
        subscription_upgrade(tenant=tenant_a.tenant, plan=_plan("starter"), actor=TESTS)


def test_subscription_upgrade_drops_a_scheduled_downgrade(tenant_a, paying_a):
    subscription_downgrade(tenant=tenant_a.tenant, plan=_plan("starter"), actor=TESTS)
    subscription, _ = subscription_upgrade(tenant=tenant_a.tenant, plan=_plan("enterprise"), actor=TESTS)
    assert subscription.scheduled_plan is None


def test_subscription_downgrade_is_scheduled_for_period_end(tenant_a, paying_a):
    subscription = subscription_downgrade(tenant=tenant_a.tenant, plan=_plan("starter"), actor=TESTS)

    assert (subscription.plan.code, subscription.scheduled_plan.code) == ("professional", "starter")
    assert _fresh(tenant_a.tenant).plan.code == "professional"  # data and limits kept until then


def test_subscription_downgrade_refused_when_team_members_exceed_limit(tenant_a, paying_a):
    for n in range(5):  # the owner + 5 = 6 members on a 5-member plan
        make_member(tenant_a, email=f"member{n}@alpha.test")

    with pytest.raises(DowngradeBlocked) as refused:
        subscription_downgrade(tenant=tenant_a.tenant, plan=_plan("starter"), actor=TESTS)

    assert refused.value.status == 409
    assert refused.value.extra == {
        "plan": "starter",
        "reduce": [{"limit": "team_members", "allowed": 5, "current_usage": 6}],
    }
    assert "team members from 6 to 5" in refused.value.detail
    assert subscription_of_tenant(tenant=tenant_a.tenant).scheduled_plan is None


def test_subscription_downgrade_refuses_a_dearer_plan(tenant_a, paying_a):
    with pytest.raises(ValidationFailed, match="not a downgrade"):
        subscription_downgrade(tenant=tenant_a.tenant, plan=_plan("enterprise"), actor=TESTS)


def test_subscription_change_cycle_is_scheduled_and_refuses_the_current_one(tenant_a, paying_a):
    subscription = subscription_change_cycle(tenant=tenant_a.tenant, billing_cycle="annual", actor=TESTS)
    assert (subscription.billing_cycle, subscription.scheduled_cycle) == ("monthly", "annual")
    with pytest.raises(ValidationFailed):
        subscription_change_cycle(tenant=tenant_a.tenant, billing_cycle="monthly", actor=TESTS)


def test_subscription_cancel_and_undo(tenant_a, paying_a):
    assert subscription_cancel(tenant=tenant_a.tenant, actor=TESTS).cancel_at_period_end is True
    with pytest.raises(Conflict):
        subscription_cancel(tenant=tenant_a.tenant, actor=TESTS)
    assert subscription_cancel_undo(tenant=tenant_a.tenant, actor=TESTS).cancel_at_period_end is False
    with pytest.raises(Conflict):
        subscription_cancel_undo(tenant=tenant_a.tenant, actor=TESTS)


def test_subscription_reactivate_only_a_cancelled_one(tenant_a, paying_a):
    with pytest.raises(Conflict):
        subscription_reactivate(tenant=tenant_a.tenant, actor=TESTS)
    Subscription.objects.filter(pk=paying_a.pk).update(status=SubscriptionStatus.CANCELLED)
    Tenant.objects.filter(pk=tenant_a.tenant.pk).update(status=TenantStatus.CANCELLED)

    later = timezone.now() + timedelta(days=40)
    with time_machine.travel(later, tick=False):
        subscription, invoice = subscription_reactivate(tenant=tenant_a.tenant, actor=TESTS)

    assert (subscription.status, subscription.current_period_start) == ("active", later)
    assert invoice.period_start == later
    assert _fresh(tenant_a.tenant).status == TenantStatus.ACTIVE


def test_services_without_a_subscription_raise_conflict(tenant_b):
    Subscription.objects.filter(tenant_id=tenant_b.tenant.pk).delete()
    with pytest.raises(Conflict, match="no subscription"):
        subscription_cancel(tenant=tenant_b.tenant, actor=TESTS)
