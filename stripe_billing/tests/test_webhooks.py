"""The webhook endpoint and event processing: signatures, the inbox, duplicates, ordering, retries."""

from __future__ import annotations

import json
import time

import pytest
import stripe as stripe_error
from django.conf import settings
from django.test import Client
from djstripe.models import APIKey
from djstripe.models import Subscription as MirroredSubscription

from audit.models import AuditEvent
from billing.models import Invoice, InvoiceStatus, Payment, PaymentStatus, Subscription, SubscriptionStatus
from stripe_billing.mirror import UnmappedStripePrice
from stripe_billing.models import StripeAccountBinding, StripeWebhookEvent, WebhookEventStatus
from stripe_billing.tests import stripe_objects
from stripe_billing.tests.conftest import PUBLIC_HOST, Catalog, link_customer, post_event
from stripe_billing.tests.fake_stripe import FakeStripe
from stripe_billing.webhooks import webhook_event_process
from tenants.models import Tenant, TenantStatus

NOW = int(time.time())
PERIOD = (NOW - 10 * stripe_objects.DAY, NOW + 20 * stripe_objects.DAY)


@pytest.fixture
def client(db: None) -> Client:
    return Client(HTTP_HOST=PUBLIC_HOST)


def _subscription(catalog: Catalog, customer_id: str, *, plan: str = "enterprise", **fields: object) -> dict:
    return stripe_objects.subscription(
        f"sub_{customer_id[4:]}",
        customer_id=customer_id,
        price_data=catalog.price(plan),
        period_start=PERIOD[0],
        period_end=PERIOD[1],
        **fields,  # type: ignore[arg-type]
    )


def test_subscription_event_is_recorded_then_applied_from_stripes_current_state(
    client, tenant_a, fake_stripe: FakeStripe, catalog: Catalog
):
    link = link_customer(fake_stripe, tenant_a.tenant)
    current = _subscription(catalog, link.customer_id, plan="enterprise")
    fake_stripe.put(current)
    event = stripe_objects.event("evt_1", type="customer.subscription.updated", data=current, created=NOW)

    response = post_event(client, event)

    assert response.status_code == 200
    assert response.json() == {"received": "evt_1", "duplicate": False}
    recorded = StripeWebhookEvent.objects.get(event_id="evt_1")
    assert recorded.status == WebhookEventStatus.PENDING
    assert recorded.object_id == current["id"]

    assert webhook_event_process(event_id="evt_1") == WebhookEventStatus.PROCESSED

    subscription = Subscription.objects.get(tenant=tenant_a.tenant)
    assert subscription.plan.code == "enterprise"
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert subscription.current_period_end.timestamp() == PERIOD[1]
    assert Tenant.objects.get(pk=tenant_a.tenant.pk).plan.code == "enterprise"
    link.refresh_from_db()
    assert link.subscription_id == current["id"]
    assert fake_stripe.sent("GET", f"/v1/subscriptions/{current['id']}")


def _audit_count(action: str, tenant: Tenant) -> int:
    return AuditEvent.objects.filter(action=action, tenant_slug=tenant.slug).count()


def test_bad_signature_is_refused_with_problem_json_and_nothing_recorded(client, fake_stripe, caplog):
    event = stripe_objects.event("evt_bad", type="customer.subscription.updated", data={"id": "sub_x"}, created=NOW)
    forged = stripe_objects.signature_header("{}", secret="whsec_someoneelsessecret1234567")

    response = post_event(client, event, signature=forged)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "webhook_signature_invalid"
    assert not StripeWebhookEvent.objects.exists()
    assert "refused" in caplog.text
    assert forged not in caplog.text and "sub_x" not in caplog.text  # neither header nor payload is logged


@pytest.mark.parametrize(
    "signature",
    [
        "",  # missing
        "t=notanumber,v1=abc",  # malformed
        stripe_objects.signature_header("{}", timestamp=NOW - 3600),  # signed an hour ago: a replay
    ],
)
def test_missing_malformed_or_stale_signatures_are_refused(client, fake_stripe, signature):
    event = stripe_objects.event("evt_stale", type="invoice.paid", data={"id": "in_x"}, created=NOW)
    if signature.startswith("t=") and "v1=abc" not in signature:  # sign this very payload, an hour ago
        signature = stripe_objects.signature_header(json.dumps(event), timestamp=NOW - 3600)

    assert post_event(client, event, signature=signature).status_code == 400
    assert not StripeWebhookEvent.objects.exists()


def test_duplicate_delivery_is_counted_once_and_has_one_effect(client, tenant_a, fake_stripe, catalog):
    link = link_customer(fake_stripe, tenant_a.tenant)
    current = _subscription(catalog, link.customer_id)
    fake_stripe.put(current)
    event = stripe_objects.event("evt_dup", type="customer.subscription.updated", data=current, created=NOW)

    first, second = post_event(client, event), post_event(client, event)
    webhook_event_process(event_id="evt_dup")
    webhook_event_process(event_id="evt_dup")  # a task that ran twice

    assert first.json()["duplicate"] is False and second.json()["duplicate"] is True
    recorded = StripeWebhookEvent.objects.get()
    assert (recorded.deliveries, recorded.attempts, recorded.status) == (2, 1, WebhookEventStatus.PROCESSED)
    assert _audit_count("billing.stripe_subscription_synced", tenant_a.tenant) == 1
    assert len(fake_stripe.sent("GET", f"/v1/subscriptions/{current['id']}")) == 1


def test_an_older_event_processed_last_never_overwrites_newer_state(client, tenant_a, fake_stripe, catalog):
    link = link_customer(fake_stripe, tenant_a.tenant)
    older = _subscription(catalog, link.customer_id, plan="enterprise")
    newer = _subscription(catalog, link.customer_id, plan="enterprise", cancel_at_period_end=True)
    fake_stripe.put(newer)  # Stripe's state now
    post_event(client, stripe_objects.event("evt_old", type="customer.subscription.updated", data=older, created=NOW))
    post_event(client, stripe_objects.event("evt_new", type="customer.subscription.updated", data=newer, created=NOW))

    webhook_event_process(event_id="evt_new")
    webhook_event_process(event_id="evt_old")  # arrives late, carrying the state before the cancellation

    subscription = Subscription.objects.get(tenant=tenant_a.tenant)
    assert subscription.cancel_at_period_end is True
    assert subscription.plan.code == "enterprise"
    assert _audit_count("billing.stripe_subscription_synced", tenant_a.tenant) == 1


def test_failed_payment_makes_the_tenant_past_due_and_payment_makes_it_active(client, tenant_a, fake_stripe, catalog):
    tenant = tenant_a.tenant
    link = link_customer(fake_stripe, tenant)
    invoice = stripe_objects.invoice(
        "in_renewal",
        customer_id=link.customer_id,
        subscription_id=f"sub_{link.customer_id[4:]}",
        status="open",
        total=14900,
        created=NOW,
        period_start=PERIOD[0],
        period_end=PERIOD[1],
        attempt_count=1,
    )
    fake_stripe.put(invoice, _subscription(catalog, link.customer_id, plan="professional", status="past_due"))
    post_event(client, stripe_objects.event("evt_fail", type="invoice.payment_failed", data=invoice, created=NOW))

    webhook_event_process(event_id="evt_fail")

    assert Subscription.objects.get(tenant=tenant).status == SubscriptionStatus.PAST_DUE
    assert Tenant.objects.get(pk=tenant.pk).status == TenantStatus.PAST_DUE
    ours = Invoice.objects.get(stripe_link__stripe_invoice_id="in_renewal")
    assert (ours.status, ours.total, ours.currency) == (InvoiceStatus.OPEN, 14900, "USD")
    assert ours.number.startswith("AGY-")
    assert _audit_count("billing.payment_failed", tenant) == 1

    paid = {**invoice, "status": "paid", "attempt_count": 2, "amount_paid": 14900, "amount_remaining": 0}
    fake_stripe.put(paid, _subscription(catalog, link.customer_id, plan="professional", status="active"))
    post_event(client, stripe_objects.event("evt_paid", type="invoice.paid", data=paid, created=NOW + 60))
    webhook_event_process(event_id="evt_paid")

    assert Subscription.objects.get(tenant=tenant).status == SubscriptionStatus.ACTIVE
    assert Tenant.objects.get(pk=tenant.pk).status == TenantStatus.ACTIVE
    ours.refresh_from_db()
    assert ours.status == InvoiceStatus.PAID
    assert list(Payment.objects.filter(invoice=ours).values_list("status", flat=True).order_by("id")) == [
        PaymentStatus.FAILED,
        PaymentStatus.SUCCEEDED,
    ]
    assert _audit_count("billing.payment_succeeded", tenant) == 1


def test_processing_failure_is_recorded_and_the_retry_succeeds(client, tenant_a, fake_stripe, catalog, monkeypatch):
    monkeypatch.setattr("stripe_billing.client.NETWORK_RETRIES", 0)
    link = link_customer(fake_stripe, tenant_a.tenant)
    current = _subscription(catalog, link.customer_id)
    fake_stripe.put(current)
    fake_stripe.fail("GET", f"/v1/subscriptions/{current['id']}", status=500)
    post_event(
        client, stripe_objects.event("evt_flaky", type="customer.subscription.updated", data=current, created=NOW)
    )

    with pytest.raises(stripe_error.APIError):
        webhook_event_process(event_id="evt_flaky")
    failed = StripeWebhookEvent.objects.get(event_id="evt_flaky")
    assert (failed.status, failed.attempts) == (WebhookEventStatus.FAILED, 1)
    assert failed.last_error.startswith("APIError")
    assert Subscription.objects.get(tenant=tenant_a.tenant).plan.code == "professional"  # nothing half-applied

    assert webhook_event_process(event_id="evt_flaky") == WebhookEventStatus.PROCESSED
    done = StripeWebhookEvent.objects.get(event_id="evt_flaky")
    assert (done.attempts, done.last_error) == (2, "")
    assert Subscription.objects.get(tenant=tenant_a.tenant).plan.code == "enterprise"


def test_price_not_linked_to_the_catalog_fails_visibly(client, tenant_a, fake_stripe, catalog):
    link = link_customer(fake_stripe, tenant_a.tenant)
    stray = stripe_objects.price("price_unknown", product_id="prod_other", amount=999)
    current = stripe_objects.subscription(
        "sub_stray", customer_id=link.customer_id, price_data=stray, period_start=PERIOD[0], period_end=PERIOD[1]
    )
    fake_stripe.put(current, stripe_objects.product("prod_other", name="Something else"))
    post_event(
        client, stripe_objects.event("evt_stray", type="customer.subscription.created", data=current, created=NOW)
    )

    with pytest.raises(UnmappedStripePrice):
        webhook_event_process(event_id="evt_stray")
    assert "sells no Price linked" in StripeWebhookEvent.objects.get(event_id="evt_stray").last_error


def test_events_of_unknown_customers_or_types_are_ignored(client, tenant_a, fake_stripe, catalog):
    foreign = _subscription(catalog, "cus_someoneelse")
    post_event(
        client, stripe_objects.event("evt_foreign", type="customer.subscription.updated", data=foreign, created=NOW)
    )
    link_customer(fake_stripe, tenant_a.tenant)
    charge = {"id": "ch_1", "object": "charge", "customer": f"cus_{tenant_a.tenant.slug}"}
    post_event(client, stripe_objects.event("evt_charge", type="charge.succeeded", data=charge, created=NOW))

    assert webhook_event_process(event_id="evt_foreign") == WebhookEventStatus.IGNORED
    assert webhook_event_process(event_id="evt_charge") == WebhookEventStatus.IGNORED
    assert fake_stripe.requests == []


def test_event_of_another_api_version_is_applied_from_the_pinned_version(client, tenant_a, fake_stripe, catalog):
    link = link_customer(fake_stripe, tenant_a.tenant)
    current = _subscription(catalog, link.customer_id, plan="enterprise")
    fake_stripe.put(current)
    # A 2024 shape: periods on the subscription, no item periods. Only the ids are read from it.
    legacy = {"id": current["id"], "object": "subscription", "customer": link.customer_id, "status": "active"}
    legacy.update(current_period_start=PERIOD[0] - 999, current_period_end=PERIOD[1] - 999, items={"data": []})
    event = stripe_objects.event(
        "evt_legacy", type="customer.subscription.updated", data=legacy, created=NOW, api_version="2024-06-20"
    )
    post_event(client, event)

    assert webhook_event_process(event_id="evt_legacy") == WebhookEventStatus.PROCESSED
    assert StripeWebhookEvent.objects.get(event_id="evt_legacy").api_version == "2024-06-20"
    assert Subscription.objects.get(tenant=tenant_a.tenant).current_period_end.timestamp() == PERIOD[1]
    (fetch,) = fake_stripe.sent("GET", f"/v1/subscriptions/{current['id']}")
    assert fetch.method == "GET"


def test_no_secret_key_is_stored_to_find_the_owning_account(client, tenant_a, fake_stripe, catalog):
    link = link_customer(fake_stripe, tenant_a.tenant)
    fake_stripe.put(_subscription(catalog, link.customer_id))
    post_event(
        client,
        stripe_objects.event(
            "evt_acct", type="customer.subscription.updated", data=_subscription(catalog, link.customer_id), created=NOW
        ),
    )
    webhook_event_process(event_id="evt_acct")

    assert not APIKey.objects.exists()
    binding = StripeAccountBinding.objects.get()
    assert binding.account_id == "acct_agentrytest"
    assert settings.STRIPE_SECRET_KEY not in binding.key_fingerprint
    assert MirroredSubscription.objects.get().djstripe_owner_account_id == "acct_agentrytest"
