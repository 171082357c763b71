"""A replay of 1,000+ recorded-shape Stripe events over 12 tenants (add-on items included), shuffled, with duplicate
deliveries and forged signatures mixed in, through the real webhook view and the real Celery
task (run eagerly): every tenant must end in exactly the state Stripe holds."""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEvent
from audit.services import Actor
from billing.models import AddOn, Invoice, InvoiceStatus, Payment, PaymentStatus, Subscription, TenantAddOn
from billing.services import tenant_add_on_set
from config.celery import app as celery_app
from stripe_billing.models import StripeInvoiceLink, StripeWebhookEvent, WebhookEventStatus
from stripe_billing.tests import stripe_objects
from stripe_billing.tests.conftest import PUBLIC_HOST, Catalog, link_customer
from stripe_billing.tests.fake_stripe import FakeStripe
from tenants.models import Tenant
from tenants.services import tenant_provision

DAY = stripe_objects.DAY
T0 = int(time.time()) - 40 * DAY
PERIOD_1 = (T0, T0 + 30 * DAY)
PERIOD_2 = (T0 + 30 * DAY, T0 + 60 * DAY)
TENANTS = 12
EVENTS_PER_TENANT = 90


@dataclass
class Story:
    """One tenant's Stripe history: snapshots as events carried them, and how it ends."""

    tenant: Tenant
    customer_id: str
    events: list[dict[str, Any]] = field(default_factory=list)
    final: dict[str, dict[str, Any]] = field(default_factory=dict)  # Stripe's state now, by object id
    expect_status: str = ""
    expect_tenant_status: str = ""
    expect_plan: str = ""
    expect_cancel_at_period_end: bool = False
    expect_payment_failed_events: int = 0
    expect_add_ons: dict[str, int] = field(default_factory=dict)  # active holdings: code → quantity
    staff_add_ons: tuple[str, ...] = ()  # given by staff before any event: the mirror must leave them

    def happen(self, type: str, data: dict[str, Any]) -> None:
        self.events.append(
            stripe_objects.event(f"evt_{self.customer_id}_{len(self.events)}", type=type, data=data, created=T0)
        )
        self.final[data["id"]] = data


def _sub(story: Story, catalog: Catalog, *, plan: str, period: tuple[int, int], **fields: Any) -> dict[str, Any]:
    return stripe_objects.subscription(
        f"sub_{story.customer_id[4:]}",
        customer_id=story.customer_id,
        price_data=catalog.price(plan),
        period_start=period[0],
        period_end=period[1],
        created=T0,
        **fields,
    )


def _inv(story: Story, suffix: str, *, status: str, total: int, period: tuple[int, int], attempts: int = 0) -> dict:
    return stripe_objects.invoice(
        f"in_{story.customer_id[4:]}_{suffix}",
        customer_id=story.customer_id,
        subscription_id=f"sub_{story.customer_id[4:]}",
        status=status,
        total=total,
        created=period[0],
        period_start=period[0],
        period_end=period[1],
        attempt_count=attempts,
    )


def _past_due(story: Story, catalog: Catalog) -> dict[str, Any]:
    return _sub(story, catalog, plan="professional", period=PERIOD_2, status="past_due")


def _foreign_invoice(number: int) -> dict[str, Any]:
    return {"id": f"in_foreign{number}", "object": "invoice", "customer": "cus_foreign"}


def _first_period_paid(story: Story, catalog: Catalog) -> None:
    session = stripe_objects.template("checkout.session", id=f"cs_{story.customer_id}", mode="subscription")
    session.update(customer=story.customer_id, subscription=f"sub_{story.customer_id[4:]}")
    story.happen("checkout.session.completed", session)
    story.happen("customer.subscription.created", _sub(story, catalog, plan="professional", period=PERIOD_1))
    story.happen("invoice.finalized", _inv(story, "1", status="open", total=14900, period=PERIOD_1))
    story.happen("invoice.paid", _inv(story, "1", status="paid", total=14900, period=PERIOD_1, attempts=1))


def _renewal_paid(story: Story, catalog: Catalog) -> None:
    _first_period_paid(story, catalog)
    story.happen("customer.subscription.updated", _sub(story, catalog, plan="professional", period=PERIOD_2))
    story.happen("invoice.paid", _inv(story, "2", status="paid", total=14900, period=PERIOD_2, attempts=1))
    story.expect_status, story.expect_tenant_status, story.expect_plan = "active", "active", "professional"


def _dunning_recovered(story: Story, catalog: Catalog) -> None:
    _first_period_paid(story, catalog)
    for attempt in (1, 2):
        story.happen(
            "invoice.payment_failed", _inv(story, "2", status="open", total=14900, period=PERIOD_2, attempts=attempt)
        )
        story.happen("customer.subscription.updated", _past_due(story, catalog))
    story.happen("invoice.paid", _inv(story, "2", status="paid", total=14900, period=PERIOD_2, attempts=3))
    story.happen("customer.subscription.updated", _sub(story, catalog, plan="professional", period=PERIOD_2))
    story.expect_status, story.expect_tenant_status, story.expect_plan = "active", "active", "professional"


def _dunning_ongoing(story: Story, catalog: Catalog) -> None:
    _first_period_paid(story, catalog)
    for attempt in (1, 2, 3):
        story.happen(
            "invoice.payment_failed", _inv(story, "2", status="open", total=14900, period=PERIOD_2, attempts=attempt)
        )
    story.happen("customer.subscription.updated", _past_due(story, catalog))
    story.expect_status, story.expect_tenant_status, story.expect_plan = "past_due", "past_due", "professional"
    story.expect_payment_failed_events = 1  # one notice for the failures it learnt of at once, not one per event


def _upgraded_then_cancelling(story: Story, catalog: Catalog) -> None:
    _first_period_paid(story, catalog)
    story.happen("customer.subscription.updated", _sub(story, catalog, plan="enterprise", period=PERIOD_1))
    story.happen("invoice.paid", _inv(story, "prorate", status="paid", total=20000, period=PERIOD_1, attempts=1))
    cancelling = _sub(story, catalog, plan="enterprise", period=PERIOD_1, cancel_at_period_end=True)
    story.happen("customer.subscription.updated", cancelling)
    story.expect_status, story.expect_tenant_status, story.expect_plan = "active", "active", "enterprise"
    story.expect_cancel_at_period_end = True


def _cancelled(story: Story, catalog: Catalog) -> None:
    _first_period_paid(story, catalog)
    cancelling = _sub(story, catalog, plan="professional", period=PERIOD_1, cancel_at_period_end=True)
    story.happen("customer.subscription.updated", cancelling)
    story.happen("customer.subscription.deleted", {**cancelling, "status": "canceled", "ended_at": PERIOD_1[1]})
    story.expect_status, story.expect_tenant_status, story.expect_plan = "cancelled", "cancelled", "professional"
    story.expect_cancel_at_period_end = True


def _add_ons_bought_one_removed(story: Story, catalog: Catalog) -> None:
    """Two add-ons bought mid-period as subscription items (prorated invoice paid), one removed again,
    beside an add-on staff gave."""
    _first_period_paid(story, catalog)
    pack = (f"si_{story.customer_id[4:]}_agents", catalog.add_on_price("extra_agents_10"), 2)
    leads = (f"si_{story.customer_id[4:]}_leads", catalog.add_on_price("lead_capture"), 1)
    both = _sub(story, catalog, plan="professional", period=PERIOD_1, add_ons=(pack, leads))
    story.happen("customer.subscription.updated", both)
    story.happen("invoice.paid", _inv(story, "addons", status="paid", total=3900, period=PERIOD_1, attempts=1))
    pack_only = _sub(story, catalog, plan="professional", period=PERIOD_1, add_ons=(pack,))
    story.happen("customer.subscription.updated", pack_only)
    story.expect_status, story.expect_tenant_status, story.expect_plan = "active", "active", "professional"
    story.staff_add_ons = ("white_label",)
    story.expect_add_ons = {"extra_agents_10": 2, "white_label": 1}


SCENARIOS = [
    _renewal_paid,
    _dunning_recovered,
    _dunning_ongoing,
    _upgraded_then_cancelling,
    _cancelled,
    _add_ons_bought_one_removed,
]


def _pad(story: Story, rng: random.Random) -> None:
    """Stripe re-sends state changes many times over (invoice.updated, subscription updates, events
    we do not act on): repeat the story's snapshots under new event ids up to EVENTS_PER_TENANT."""
    snapshots = [event["data"]["object"] for event in story.events]
    while len(story.events) < EVENTS_PER_TENANT:
        data = rng.choice(snapshots)
        if data["object"] == "subscription":
            type = "customer.subscription.updated"
        elif data["object"] == "invoice":
            type = rng.choice(["invoice.updated", "invoice.finalized"])
        else:
            type = "charge.succeeded"  # recorded, ignored
            data = {"id": f"ch_{len(story.events)}", "object": "charge", "customer": story.customer_id}
        story.events.append(
            stripe_objects.event(f"evt_{story.customer_id}_{len(story.events)}", type=type, data=data, created=T0)
        )


def _forge(event: dict[str, Any]) -> tuple[str, str]:
    """A delivery whose payload was altered after signing (e.g. to cancel someone's subscription)."""
    payload = json.dumps(event)
    signature = stripe_objects.signature_header(payload)
    tampered = json.loads(payload)
    tampered["data"]["object"]["customer"] = "cus_attacker"
    return json.dumps(tampered), signature


@pytest.mark.django_db
def test_replay_of_shuffled_events_with_duplicates_and_forgeries_ends_in_stripes_state(
    fake_stripe: FakeStripe, catalog: Catalog, django_capture_on_commit_callbacks, monkeypatch
):
    rng = random.Random(20261123)
    stories = []
    for index in range(TENANTS):
        tenant = tenant_provision(
            slug=f"replay{index}",
            name=f"Replay {index}",
            owner_email=f"owner@replay{index}.test",
            owner_password=None,
            plan_code="starter",
            actor=Actor.system("tests"),
        ).tenant
        story = Story(tenant=tenant, customer_id=f"cus_replay{index}")
        link_customer(fake_stripe, tenant, story.customer_id)
        SCENARIOS[index % len(SCENARIOS)](story, catalog)
        for code in story.staff_add_ons:
            tenant_add_on_set(tenant=tenant, add_on=AddOn.objects.get(code=code), actor=Actor.system("staff"))
        _pad(story, rng)
        fake_stripe.put(*story.final.values())
        stories.append(story)
    # A customer of another application on the same Stripe account.
    foreign = [
        stripe_objects.event(f"evt_foreign_{n}", type="invoice.paid", data=_foreign_invoice(n), created=T0)
        for n in range(20)
    ]

    valid = [event for story in stories for event in story.events] + foreign
    deliveries = valid + rng.sample(valid, 120)  # Stripe delivers some events more than once
    rng.shuffle(deliveries)
    forged = [_forge(event) for event in rng.sample(valid, 60)]
    client = Client(HTTP_HOST=PUBLIC_HOST)
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    monkeypatch.setitem(celery_app.conf, "task_eager_propagates", True)

    statuses: Counter[int] = Counter()
    with django_capture_on_commit_callbacks() as queued:
        for position, event in enumerate(deliveries):
            payload = json.dumps(event)
            response = client.post(
                "/stripe/webhook/",
                data=payload,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=stripe_objects.signature_header(payload),
            )
            statuses[response.status_code] += 1
            if position % 20 == 0 and forged:
                payload, signature = forged.pop()
                bad = client.post(
                    "/stripe/webhook/", data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
                )
                statuses[bad.status_code] += 1
    for task_send in queued:  # the real task, through Celery, in delivery order
        task_send()

    assert len(valid) >= 1_000
    assert statuses == {200: len(deliveries), 400: 60}
    assert StripeWebhookEvent.objects.count() == len(valid)
    assert set(StripeWebhookEvent.objects.values_list("status", flat=True)) == {
        WebhookEventStatus.PROCESSED,
        WebhookEventStatus.IGNORED,
    }
    assert sum(StripeWebhookEvent.objects.values_list("deliveries", flat=True)) == len(deliveries)
    for story in stories:
        _assert_story_end(story)


def _assert_story_end(story: Story) -> None:
    tenant = Tenant.objects.get(pk=story.tenant.pk)
    subscription = Subscription.objects.select_related("plan").get(tenant=tenant)
    final_sub = next(data for data in story.final.values() if data["object"] == "subscription")
    where = f"tenant {tenant.slug}"
    assert subscription.status == story.expect_status, where
    assert tenant.status == story.expect_tenant_status, where
    assert (subscription.plan.code, tenant.plan.code) == (story.expect_plan, story.expect_plan), where
    assert subscription.cancel_at_period_end is story.expect_cancel_at_period_end, where
    assert subscription.current_period_end.timestamp() == final_sub["items"]["data"][0]["current_period_end"], where
    stripe_invoices = {key: data for key, data in story.final.items() if data["object"] == "invoice"}
    links = StripeInvoiceLink.objects.filter(invoice__tenant=tenant).select_related("invoice")
    assert {link.stripe_invoice_id: link.invoice.status for link in links} == {
        key: data["status"] for key, data in stripe_invoices.items()
    }, where
    for link in links:
        succeeded = Payment.objects.filter(invoice=link.invoice, status=PaymentStatus.SUCCEEDED).count()
        assert succeeded == (1 if link.invoice.status == InvoiceStatus.PAID else 0), where
        assert link.invoice.total == stripe_invoices[link.stripe_invoice_id]["total"], where
    paid = sum(1 for data in stripe_invoices.values() if data["status"] == "paid")
    audit = Counter(AuditEvent.objects.filter(tenant_slug=tenant.slug).values_list("action", flat=True))
    assert audit["billing.payment_succeeded"] == paid, where
    assert audit["billing.payment_failed"] == story.expect_payment_failed_events, where
    assert Invoice.objects.filter(tenant=tenant).count() == len(stripe_invoices), where  # no local invoices
    held = TenantAddOn.objects.filter(tenant=tenant, active=True).values_list("add_on__code", "quantity")
    assert dict(held) == story.expect_add_ons, where
    # Whatever number of events carried them, each add-on Stripe sells now was announced once.
    assert audit["billing.add_on_purchased"] == len(set(story.expect_add_ons) - set(story.staff_add_ons)), where
