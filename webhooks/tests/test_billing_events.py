"""Billing announces payments and subscription changes through outgoing webhooks."""

from __future__ import annotations

from django_tenants.utils import schema_context

from billing.models import Invoice, Plan
from billing.payments import BillingEvent, billing_event_emit
from billing.subscriptions import subscription_upgrade
from tenants.tests.factories import ProvisionedTenantFactory
from webhooks.models import WebhookDelivery, WebhookEvent
from webhooks.tests.factories import TESTS, endpoint_give


def test_billing_payment_events_are_published(tenant_a):
    endpoint_give(tenant_a.tenant, event_types=[BillingEvent.PAYMENT_FAILED])
    invoice = Invoice.objects.filter(tenant=tenant_a.tenant).first()
    assert invoice is not None

    billing_event_emit(BillingEvent.PAYMENT_FAILED, tenant=tenant_a.tenant, invoice=invoice)

    with schema_context(tenant_a.schema):
        event = WebhookEvent.objects.get(type="billing.payment_failed")
        assert WebhookDelivery.objects.filter(event=event).count() == 1
    assert (event.type, event.data["invoice"], event.data["total"]) == (
        "billing.payment_failed",
        invoice.number,
        invoice.total,
    )


def test_provisioning_a_paid_tenant_publishes_subscription_created(tenant_a):
    # The session tenant was provisioned on Professional: its subscription start was announced.
    with schema_context(tenant_a.schema):
        created = WebhookEvent.objects.get(type="subscription.created")
    assert created.data["subscription"]["plan"] == "professional"


def test_subscription_upgrade_publishes_subscription_upgraded_on_commit(db, django_capture_on_commit_callbacks):
    tenant = ProvisionedTenantFactory(plan_code="professional").tenant
    endpoint_give(tenant, event_types=["subscription.upgraded"])

    with django_capture_on_commit_callbacks(execute=True):
        subscription_upgrade(tenant=tenant, plan=Plan.objects.get(code="enterprise"), actor=TESTS)

    with schema_context(tenant.schema_name):
        event = WebhookEvent.objects.get(type="subscription.upgraded")
        assert WebhookDelivery.objects.filter(event=event).count() == 1
    assert event.data["change"] == "subscription_upgraded"
    assert event.data["subscription"]["plan"] == "enterprise"
