"""The Stripe backend's actions: checkout, the customer portal, plan changes, cancel/undo,
reactivation, paid provisioning and metered usage, each through the fake Stripe."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from djstripe.models import Customer as MirroredCustomer

from accounts.models import Role
from audit.services import Actor
from billing.backends import billing_backend
from billing.backends.local import LocalBillingBackend
from billing.models import (
    InvoiceStatus,
    OverageRecord,
    Plan,
    Subscription,
    SubscriptionStatus,
)
from billing.selectors import subscription_of_tenant
from config.errors import Conflict, PaymentDeclined
from conftest import make_member, signed_in_client
from stripe_billing.backend import StripeBillingBackend
from stripe_billing.models import StripeCustomerLink, StripeInvoiceLink
from stripe_billing.refresh import subscription_refresh
from stripe_billing.tests import stripe_objects
from stripe_billing.tests.conftest import Catalog, link_customer
from stripe_billing.tests.fake_stripe import FakeStripe
from tenants.models import Tenant, TenantStatus
from tenants.services import tenant_provision

NOW = int(time.time())
PERIOD = (NOW - 10 * stripe_objects.DAY, NOW + 20 * stripe_objects.DAY)
ACTOR = Actor.system("tests")


def test_billing_backend_setting_selects_the_stripe_backend():
    assert isinstance(billing_backend(), StripeBillingBackend)


def _customer_creation(fake: FakeStripe) -> None:
    def create(params: dict[str, str], match: Any) -> dict[str, Any]:
        metadata = {key[9:-1]: value for key, value in params.items() if key.startswith("metadata[")}
        customer = stripe_objects.customer("cus_new", email=params["email"], metadata=metadata)
        fake.put(customer)
        return customer

    fake.on("POST", "/v1/customers", create)


def test_checkout_redirects_to_stripe_with_the_plan_trial_and_return_urls(tenant_a, tenant_b, fake_stripe, catalog):
    _customer_creation(fake_stripe)
    fake_stripe.on(
        "POST",
        "/v1/checkout/sessions",
        lambda params, match: stripe_objects.template(
            "checkout.session", id="cs_1", url="https://checkout.stripe.com/c/pay/cs_1"
        ),
    )
    client = signed_in_client(tenant_b)  # trialing, 14 days left

    response = client.post("/billing/checkout/professional/")

    assert response.status_code == 302
    assert response["Location"] == "https://checkout.stripe.com/c/pay/cs_1"
    (session,) = fake_stripe.sent("POST", "/v1/checkout/sessions")
    assert session.params["mode"] == "subscription"
    assert session.params["customer"] == "cus_new"
    assert session.params["line_items[0][price]"] == "price_professional_monthly"
    assert session.params["success_url"] == f"http://{tenant_b.host}/billing/?checkout=success"
    assert session.params["cancel_url"] == f"http://{tenant_b.host}/billing/?checkout=cancelled"
    assert session.params["client_reference_id"] == str(tenant_b.tenant.pk)
    trial_end = subscription_of_tenant(tenant=tenant_b.tenant).trial_ends_at
    assert session.params["subscription_data[trial_end]"] == str(int(trial_end.timestamp()))
    (customer,) = fake_stripe.sent("POST", "/v1/customers")
    assert customer.idempotency_key == f"agentry-customer-{tenant_b.tenant.pk}"
    assert StripeCustomerLink.objects.get(tenant=tenant_b.tenant).customer_id == "cus_new"
    assert MirroredCustomer.objects.get(id="cus_new").subscriber_id == tenant_b.tenant.pk
    assert not StripeCustomerLink.objects.filter(tenant=tenant_a.tenant).exists()


def test_checkout_and_payment_portal_need_the_billing_permission(tenant_b, fake_stripe, catalog):
    member = make_member(tenant_b, email="member@beta.test", role=Role.MEMBER)
    client = signed_in_client(tenant_b, member.email)

    assert client.post("/billing/checkout/professional/").status_code == 403
    assert client.post("/billing/payment-portal/").status_code == 403
    assert fake_stripe.requests == []


def test_payment_portal_redirects_to_stripes_customer_portal(tenant_a, fake_stripe, catalog):
    link = link_customer(fake_stripe, tenant_a.tenant)
    fake_stripe.on(
        "POST",
        "/v1/billing_portal/sessions",
        lambda params, match: stripe_objects.template(
            "billing_portal.session", id="bps_1", url="https://billing.stripe.com/p/session/bps_1"
        ),
    )

    response = signed_in_client(tenant_a).post("/billing/payment-portal/")

    assert response.status_code == 302
    assert response["Location"] == "https://billing.stripe.com/p/session/bps_1"
    (request,) = fake_stripe.sent("POST", "/v1/billing_portal/sessions")
    assert request.params == {"customer": link.customer_id, "return_url": f"http://{tenant_a.host}/billing/"}


def test_payment_portal_before_subscribing_explains_instead_of_calling_stripe(tenant_b, fake_stripe, catalog):
    response = signed_in_client(tenant_b).post("/billing/payment-portal/", follow=True)

    assert "Subscribe first" in response.content.decode()
    assert fake_stripe.requests == []


def test_billing_page_offers_checkout_then_the_payment_portal(tenant_a, fake_stripe, catalog):
    client = signed_in_client(tenant_a)
    page = client.get("/billing/").content.decode()
    assert "Subscribe to Professional" in page and "Manage payment method" not in page

    _linked_subscription(fake_stripe, catalog, tenant_a.tenant)
    page = client.get("/billing/").content.decode()
    assert "Manage payment method" in page and "Subscribe to" not in page


def _linked_subscription(fake: FakeStripe, catalog: Catalog, tenant: Tenant, *, plan: str = "professional") -> str:
    """The tenant subscribed through checkout: linked customer and an active Stripe subscription, applied."""
    link = link_customer(fake, tenant)
    data = stripe_objects.subscription(
        f"sub_{link.customer_id[4:]}",
        customer_id=link.customer_id,
        price_data=catalog.price(plan),
        period_start=PERIOD[0],
        period_end=PERIOD[1],
    )
    fake.put(data)
    locked = StripeCustomerLink.objects.select_for_update().get(pk=link.pk)
    subscription_refresh(link=locked, subscription_id=data["id"])
    return data["id"]


def _subscription_update_handler(fake: FakeStripe, catalog: Catalog) -> None:
    def update(params: dict[str, str], match: Any) -> dict[str, Any]:
        current = fake.objects[match["id"]]
        if "items[0][price]" in params:
            price_data = next(p for p in catalog.prices.values() if p["id"] == params["items[0][price]"])
            current["items"]["data"][0]["price"] = price_data
            invoice = stripe_objects.invoice(
                "in_prorate",
                customer_id=current["customer"],
                subscription_id=current["id"],
                status="paid",
                total=23507,
                created=NOW,
                period_start=NOW,
                period_end=PERIOD[1],
                attempt_count=1,
                proration=True,
            )
            fake.put(invoice)
            current["latest_invoice"] = invoice["id"]
        if "cancel_at_period_end" in params:
            current["cancel_at_period_end"] = params["cancel_at_period_end"] == "true"
        return current

    fake.on("POST", r"/v1/subscriptions/(?P<id>sub_\w+)", update)


def test_upgrade_replaces_the_price_now_with_an_invoiced_proration(tenant_a, fake_stripe, catalog):
    subscription_id = _linked_subscription(fake_stripe, catalog, tenant_a.tenant)
    _subscription_update_handler(fake_stripe, catalog)
    enterprise = Plan.objects.get(code="enterprise")

    subscription = billing_backend().change_plan(
        tenant=tenant_a.tenant, plan=enterprise, billing_cycle="monthly", actor=ACTOR
    )

    (update,) = fake_stripe.sent("POST", f"/v1/subscriptions/{subscription_id}")
    assert update.params["proration_behavior"] == "always_invoice"
    assert update.params["items[0][price]"] == "price_enterprise_monthly"
    assert update.params["items[0][id]"] == f"si_{subscription_id[4:]}"
    assert subscription.plan.code == "enterprise"
    assert Tenant.objects.get(pk=tenant_a.tenant.pk).plan.code == "enterprise"
    invoice = StripeInvoiceLink.objects.get(stripe_invoice_id="in_prorate").invoice
    assert (invoice.status, invoice.total) == (InvoiceStatus.PAID, 23507)
    assert invoice.lines.get().is_proration is True


def _schedule_handlers(fake: FakeStripe) -> None:
    def create(params: dict[str, str], match: Any) -> dict[str, Any]:
        current = fake.objects[params["from_subscription"]]
        price_id = current["items"]["data"][0]["price"]["id"]
        schedule = stripe_objects.subscription_schedule(
            "sub_sched_1",
            customer_id=current["customer"],
            subscription_id=current["id"],
            phases=[(PERIOD[0], PERIOD[1], price_id)],
        )
        current["schedule"] = schedule["id"]
        fake.put(schedule)
        return schedule

    def update(params: dict[str, str], match: Any) -> dict[str, Any]:
        schedule = fake.objects[match["id"]]
        months = int(params["phases[1][duration][interval_count]"])
        current, start = schedule["phases"][0], int(params["phases[0][end_date]"])
        following = {
            **current,
            "start_date": start,
            "end_date": start + months * 30 * stripe_objects.DAY,
            "items": [{"price": params["phases[1][items][0][price]"], "quantity": 1}],
        }
        schedule["phases"] = [current, following]
        return schedule

    def release(params: dict[str, str], match: Any) -> dict[str, Any]:
        schedule = fake.objects[match["id"]]
        schedule.update(status="released", released_subscription=schedule["subscription"], subscription=None)
        fake.objects[schedule["released_subscription"]]["schedule"] = None
        return schedule

    fake.on("POST", "/v1/subscription_schedules", create)
    fake.on("POST", r"/v1/subscription_schedules/(?P<id>sub_sched_\w+)", update)
    fake.on("POST", r"/v1/subscription_schedules/(?P<id>sub_sched_\w+)/release", release)


def test_downgrade_is_scheduled_for_period_end_and_can_be_undone(tenant_a, fake_stripe, catalog):
    subscription_id = _linked_subscription(fake_stripe, catalog, tenant_a.tenant)
    _schedule_handlers(fake_stripe)
    starter = Plan.objects.get(code="starter")

    subscription = billing_backend().change_plan(
        tenant=tenant_a.tenant, plan=starter, billing_cycle="monthly", actor=ACTOR
    )

    (created,) = fake_stripe.sent("POST", "/v1/subscription_schedules")
    assert created.params == {"from_subscription": subscription_id}
    (update,) = fake_stripe.sent("POST", "/v1/subscription_schedules/sub_sched_1")
    assert update.params["phases[0][end_date]"] == str(PERIOD[1])
    assert update.params["phases[0][items][0][price]"] == "price_professional_monthly"
    assert update.params["phases[1][items][0][price]"] == "price_starter_monthly"
    assert update.params["end_behavior"] == "release"
    assert (subscription.plan.code, subscription.scheduled_plan.code) == ("professional", "starter")
    assert Tenant.objects.get(pk=tenant_a.tenant.pk).plan.code == "professional"  # data and limits kept until then

    subscription = billing_backend().undo_scheduled_change(tenant=tenant_a.tenant, actor=ACTOR)

    assert fake_stripe.sent("POST", "/v1/subscription_schedules/sub_sched_1/release")
    assert subscription.scheduled_plan is None and subscription.scheduled_cycle == ""


def test_cancel_at_period_end_and_undo(tenant_a, fake_stripe, catalog):
    subscription_id = _linked_subscription(fake_stripe, catalog, tenant_a.tenant)
    _subscription_update_handler(fake_stripe, catalog)

    assert billing_backend().cancel(tenant=tenant_a.tenant, actor=ACTOR).cancel_at_period_end is True
    with pytest.raises(Conflict):
        billing_backend().cancel(tenant=tenant_a.tenant, actor=ACTOR)
    assert billing_backend().undo_cancel(tenant=tenant_a.tenant, actor=ACTOR).cancel_at_period_end is False

    sent = [r.params["cancel_at_period_end"] for r in fake_stripe.sent("POST", f"/v1/subscriptions/{subscription_id}")]
    assert sent == ["true", "false"]


def test_plan_change_without_a_stripe_subscription_is_a_conflict(tenant_b, fake_stripe, catalog):
    with pytest.raises(Conflict, match="subscribe first"):
        billing_backend().change_plan(
            tenant=tenant_b.tenant, plan=Plan.objects.get(code="enterprise"), billing_cycle="monthly", actor=ACTOR
        )
    assert fake_stripe.requests == []


def _cancelled(fake: FakeStripe, catalog: Catalog, tenant: Tenant) -> None:
    subscription_id = _linked_subscription(fake, catalog, tenant)
    fake.objects[subscription_id]["status"] = "canceled"
    link = StripeCustomerLink.objects.select_for_update().get(tenant=tenant)
    subscription_refresh(link=link, subscription_id=subscription_id)
    assert Tenant.objects.get(pk=tenant.pk).status == TenantStatus.CANCELLED


def test_reactivation_charges_the_saved_card_for_a_new_subscription(tenant_a, fake_stripe, catalog):
    _cancelled(fake_stripe, catalog, tenant_a.tenant)

    def create(params: dict[str, str], match: Any) -> dict[str, Any]:
        data = stripe_objects.subscription(
            "sub_again",
            customer_id=params["customer"],
            price_data=catalog.price("professional"),
            period_start=NOW,
            period_end=NOW + 30 * stripe_objects.DAY,
            created=NOW,
        )
        fake_stripe.put(data)
        return data

    fake_stripe.on("POST", "/v1/subscriptions", create)

    subscription = billing_backend().reactivate(tenant=tenant_a.tenant, actor=ACTOR)

    (request,) = fake_stripe.sent("POST", "/v1/subscriptions")
    assert request.params["payment_behavior"] == "error_if_incomplete"
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert Tenant.objects.get(pk=tenant_a.tenant.pk).status == TenantStatus.ACTIVE
    assert StripeCustomerLink.objects.get(tenant=tenant_a.tenant).subscription_id == "sub_again"


def test_reactivation_with_a_declined_card_changes_nothing(tenant_a, fake_stripe, catalog):
    _cancelled(fake_stripe, catalog, tenant_a.tenant)
    declined = {"error": {"type": "card_error", "code": "card_declined", "message": "Your card was declined."}}
    fake_stripe.on("POST", "/v1/subscriptions", lambda params, match: (402, declined))

    with pytest.raises(PaymentDeclined, match=r"Your card was declined\."):
        billing_backend().reactivate(tenant=tenant_a.tenant, actor=ACTOR)
    assert Subscription.objects.get(tenant=tenant_a.tenant).status == SubscriptionStatus.CANCELLED


def test_tenant_provisioned_as_active_gets_a_stripe_subscription_billed_by_invoice(db, fake_stripe, catalog):
    _customer_creation(fake_stripe)

    def create(params: dict[str, str], match: Any) -> dict[str, Any]:
        data = stripe_objects.subscription(
            "sub_invoiced",
            customer_id=params["customer"],
            price_data=catalog.price("starter"),
            period_start=NOW,
            period_end=NOW + 30 * stripe_objects.DAY,
        )
        fake_stripe.put(data)
        return data

    fake_stripe.on("POST", "/v1/subscriptions", create)

    tenant = tenant_provision(
        slug="invoiced",
        name="Invoiced Ltd",
        owner_email="owner@invoiced.test",
        owner_password=None,
        plan_code="starter",
        status=TenantStatus.ACTIVE,
        actor=ACTOR,
    ).tenant

    (request,) = fake_stripe.sent("POST", "/v1/subscriptions")
    assert (request.params["collection_method"], request.params["days_until_due"]) == ("send_invoice", "14")
    assert request.idempotency_key == f"agentry-start-paid-{tenant.pk}"
    subscription = Subscription.objects.get(tenant=tenant)
    assert (subscription.status, subscription.plan.code) == (SubscriptionStatus.ACTIVE, "starter")


def test_metered_usage_is_reported_as_an_idempotent_meter_event(tenant_a, tenant_b, fake_stripe, catalog):
    link = link_customer(fake_stripe, tenant_a.tenant)
    fake_stripe.on(
        "POST", "/v1/billing/meter_events", lambda params, match: stripe_objects.template("billing.meter_event")
    )
    at = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

    billing_backend().report_metered_usage(
        tenant=tenant_a.tenant, meter="api_calls", quantity=1200, identifier="alpha-api-2026-11-20T12", timestamp=at
    )

    (request,) = fake_stripe.sent("POST", "/v1/billing/meter_events")
    assert request.params == {
        "event_name": "api_calls",
        "identifier": "alpha-api-2026-11-20T12",
        "timestamp": str(int(at.timestamp())),
        "payload[stripe_customer_id]": link.customer_id,
        "payload[value]": "1200",
    }
    with pytest.raises(Conflict):  # no Stripe customer: nothing to bill it to
        billing_backend().report_metered_usage(
            tenant=tenant_b.tenant, meter="api_calls", quantity=5, identifier="beta-1", timestamp=at
        )


def test_local_backend_records_metered_usage_as_overage(tenant_a, settings):
    settings.BILLING_BACKEND = "local"
    at = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

    LocalBillingBackend().report_metered_usage(
        tenant=tenant_a.tenant, meter="api_calls", quantity=7, identifier="alpha-local-1", timestamp=at
    )

    record = OverageRecord.objects.get(identifier="alpha-local-1")
    assert (record.quantity, record.meter) == (7, "api_calls")
