"""Buying and removing add-ons on the local backend: proration, renewal lines, entitlements, events.

Worked example: Alpha on Professional monthly (USD), period 2026-03-01 → 2026-04-01 (31 days).
Buying two "10 extra agents" packs (29.00 USD a unit and month) on 2026-03-21 00:00 charges the
11 days left: 5800 × 11/31 = 2058.06 → 2058. Quarterly, one pack is 3 × 2900 = 8700 a cycle.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django_tenants.utils import schema_context

from billing.add_ons import tenant_add_on_cancel, tenant_add_on_purchase
from billing.entitlements import entitlements_for
from billing.models import AddOn, Subscription, SubscriptionStatus
from billing.selectors import add_on_offers_for_tenant, subscription_of_tenant
from billing.subscriptions import invoice_for_period, subscription_start_trial
from billing.tests.factories import TESTS
from config.errors import Conflict, ValidationFailed
from webhooks.models import WebhookEvent

MARCH, APRIL = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)


@pytest.fixture
def alpha(tenant_a) -> Subscription:
    Subscription.objects.filter(tenant_id=tenant_a.tenant.pk).update(
        current_period_start=MARCH, current_period_end=APRIL
    )
    subscription = subscription_of_tenant(tenant=tenant_a.tenant)
    assert subscription is not None
    return subscription


def _add_on(code: str) -> AddOn:
    return AddOn.objects.get(code=code)


def test_buying_mid_period_charges_the_rest_of_the_period_and_counts_at_once(
    tenant_a, alpha, django_capture_on_commit_callbacks
):
    agents_before = entitlements_for(tenant=tenant_a.tenant).limits["agents"]

    at = datetime(2026, 3, 21, tzinfo=UTC)
    with time_machine.travel(at, tick=False), django_capture_on_commit_callbacks(execute=True):
        _, invoice = tenant_add_on_purchase(
            tenant=tenant_a.tenant, add_on=_add_on("extra_agents_10"), quantity=2, actor=TESTS
        )

    assert invoice is not None
    assert [(line.amount, line.is_proration) for line in invoice.lines.all()] == [(2058, True)]
    assert (invoice.total, invoice.period_end) == (2058, APRIL)
    assert entitlements_for(tenant=tenant_a.tenant).limits["agents"] == agents_before + 20
    with schema_context(tenant_a.schema):
        event = WebhookEvent.objects.get(type="subscription.updated", data__change="add_on_purchased")
    assert event.data["add_on"] == {"code": "extra_agents_10", "quantity": 2, "active": True}


def test_every_renewal_invoice_bills_active_add_ons_on_the_cycle(tenant_a, alpha):
    tenant_add_on_purchase(tenant=tenant_a.tenant, add_on=_add_on("extra_agents_10"), actor=TESTS)
    Subscription.objects.filter(pk=alpha.pk).update(billing_cycle="quarterly")
    alpha.refresh_from_db()

    renewal = invoice_for_period(subscription=alpha, start=APRIL)

    assert [(line.quantity, line.unit_amount, line.amount) for line in renewal.lines.all()][1:] == [(1, 8700, 8700)]


def test_removing_takes_effect_at_once_and_leaves_the_next_renewal(tenant_a, alpha):
    add_on = _add_on("lead_capture")
    tenant_add_on_purchase(tenant=tenant_a.tenant, add_on=add_on, actor=TESTS)
    assert entitlements_for(tenant=tenant_a.tenant).has_feature("lead_capture")

    tenant_add_on_cancel(tenant=tenant_a.tenant, add_on=add_on, actor=TESTS)

    assert not entitlements_for(tenant=tenant_a.tenant).has_feature("lead_capture")
    assert len(invoice_for_period(subscription=alpha, start=APRIL).lines.all()) == 1
    offer = next(o for o in add_on_offers_for_tenant(tenant=tenant_a.tenant) if o.add_on.code == "lead_capture")
    assert (offer.is_active, offer.amount_per_cycle) == (False, 1900)


def test_buying_during_a_trial_charges_nothing_until_the_first_invoice(tenant_b):
    trial = subscription_start_trial(tenant=tenant_b.tenant, actor=TESTS)

    _, invoice = tenant_add_on_purchase(tenant=tenant_b.tenant, add_on=_add_on("analytics"), actor=TESTS)

    assert invoice is None
    first = invoice_for_period(subscription=trial, start=trial.trial_ends_at)
    assert [line.amount for line in first.lines.all()] == [4900, 2900]


def test_buying_is_refused_when_held_retired_cancelled_or_held_by_stripe(tenant_a, alpha):
    add_on = _add_on("analytics")
    tenant_add_on_purchase(tenant=tenant_a.tenant, add_on=add_on, actor=TESTS)
    with pytest.raises(Conflict, match="already active"):
        tenant_add_on_purchase(tenant=tenant_a.tenant, add_on=add_on, actor=TESTS)
    with pytest.raises(ValidationFailed):
        tenant_add_on_purchase(tenant=tenant_a.tenant, add_on=_add_on("white_label"), quantity=0, actor=TESTS)
    AddOn.objects.filter(code="white_label").update(is_public=False)
    with pytest.raises(Conflict, match="no longer sold"):
        tenant_add_on_purchase(tenant=tenant_a.tenant, add_on=_add_on("white_label"), actor=TESTS)
    Subscription.objects.filter(pk=alpha.pk).update(provider_subscription_id="sub_123")
    with pytest.raises(Conflict, match="Stripe"):
        tenant_add_on_cancel(tenant=tenant_a.tenant, add_on=add_on, actor=TESTS)
    Subscription.objects.filter(pk=alpha.pk).update(status=SubscriptionStatus.CANCELLED, provider_subscription_id="")
    with pytest.raises(Conflict, match="cancelled"):
        tenant_add_on_purchase(tenant=tenant_a.tenant, add_on=_add_on("lead_capture"), actor=TESTS)


def test_removing_an_add_on_not_held_is_refused(tenant_a, alpha):
    with pytest.raises(Conflict, match="not active"):
        tenant_add_on_cancel(tenant=tenant_a.tenant, add_on=_add_on("analytics"), actor=TESTS)


def test_a_purchase_on_the_last_second_of_the_period_costs_nothing(tenant_a, alpha):
    with time_machine.travel(APRIL - timedelta(microseconds=1), tick=False):
        _, invoice = tenant_add_on_purchase(tenant=tenant_a.tenant, add_on=_add_on("analytics"), actor=TESTS)
    assert invoice is None
