"""Add-ons on the Stripe backend: subscription items, and the mirror that derives `TenantAddOn` from them.

Alpha is on Professional monthly (USD) with a Stripe subscription; "10 extra agents" is
29.00 USD a unit and month (`price_addon_extra_agents_10_monthly`), 348.00 a year.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.test import Client
from django_tenants.utils import get_public_schema_name, schema_context

from accounts.models import User
from apikeys.tests.factories import IssuedApiKeyFactory, api_client
from audit.models import AuditEvent
from audit.services import Actor
from billing.backends import billing_backend
from billing.entitlements import entitlements_for
from billing.models import AddOn, Plan, Subscription, TenantAddOn
from billing.services import tenant_add_on_set
from config.errors import Conflict
from conftest import PASSWORD, client_for, signed_in_client
from stripe_billing.models import StripeAddOnItem, StripeCustomerLink
from stripe_billing.refresh import subscription_refresh
from stripe_billing.tests import stripe_objects
from stripe_billing.tests.conftest import PUBLIC_HOST, Catalog, link_customer, post_event
from stripe_billing.tests.fake_stripe import FakeStripe
from stripe_billing.webhooks import webhook_event_process
from tenants.models import Tenant
from webhooks.models import WebhookEvent

NOW = int(time.time())
PERIOD = (NOW - 10 * stripe_objects.DAY, NOW + 20 * stripe_objects.DAY)
ACTOR = Actor.system("tests")
STAFF = Actor.system("staff")


def _add_on(code: str) -> AddOn:
    return AddOn.objects.get(code=code)


def _item(catalog: Catalog, item_id: str, code: str, quantity: int) -> tuple[str, dict[str, Any], int]:
    """An add-on item of a subscription: (item id, the add-on's monthly Price, quantity)."""
    return (item_id, catalog.add_on_price(code), quantity)


def _subscription(catalog: Catalog, tenant: Tenant, *, add_ons: tuple = (), **fields: Any) -> dict[str, Any]:
    customer_id = f"cus_{tenant.slug}"
    return stripe_objects.subscription(
        f"sub_{tenant.slug}",
        customer_id=customer_id,
        price_data=catalog.price("professional"),
        period_start=PERIOD[0],
        period_end=PERIOD[1],
        add_ons=add_ons,
        **fields,
    )


def _subscribed(fake: FakeStripe, catalog: Catalog, tenant: Tenant, *, add_ons: tuple = ()) -> dict[str, Any]:
    """The tenant subscribed through checkout: its Stripe subscription (with `add_ons` items), applied."""
    link = link_customer(fake, tenant, f"cus_{tenant.slug}")
    data = _subscription(catalog, tenant, add_ons=add_ons)
    fake.put(data)
    _refresh(link.customer_id, data["id"])
    return data


def _refresh(customer_id: str, subscription_id: str) -> None:
    locked = StripeCustomerLink.objects.select_for_update().get(customer_id=customer_id)
    subscription_refresh(link=locked, subscription_id=subscription_id)


def _item_handlers(fake: FakeStripe, catalog: Catalog) -> None:
    """POST /v1/subscription_items and DELETE /v1/subscription_items/<id>, over the fake's subscriptions."""

    def create(params: dict[str, str], match: Any) -> dict[str, Any]:
        subscription = fake.objects[params["subscription"]]
        price = next(p for p in catalog.add_on_prices.values() if p["id"] == params["price"])
        item = stripe_objects.subscription_item(
            f"si_new{len(fake.requests)}",
            subscription_id=subscription["id"],
            price_data=price,
            period_start=PERIOD[0],
            period_end=PERIOD[1],
            quantity=int(params["quantity"]),
            created=NOW,
        )
        item["metadata"] = {"agentry_add_on": params["metadata[agentry_add_on]"]}
        subscription["items"]["data"].append(item)
        return item

    def delete(params: dict[str, str], match: Any) -> dict[str, Any]:
        for subscription in fake.objects.values():
            if subscription.get("object") == "subscription":
                items = subscription["items"]["data"]
                items[:] = [item for item in items if item["id"] != match["id"]]
        return stripe_objects.deleted_subscription_item(match["id"])

    fake.on("POST", "/v1/subscription_items", create)
    fake.on("DELETE", r"/v1/subscription_items/(?P<id>si_\w+)", delete)


def _holding(tenant: Tenant, code: str) -> tuple[bool, int] | None:
    held = TenantAddOn.objects.filter(tenant=tenant, add_on__code=code).first()
    return (held.active, held.quantity) if held else None


def _audits(tenant: Tenant, action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(tenant_slug=tenant.slug, action=action))


def test_purchase_adds_a_prorated_item_and_the_add_on_counts_at_once(
    tenant_a, fake_stripe, catalog, django_capture_on_commit_callbacks
):
    tenant = tenant_a.tenant
    data = _subscribed(fake_stripe, catalog, tenant)
    _item_handlers(fake_stripe, catalog)
    agents = entitlements_for(tenant=tenant).limits["agents"]

    with django_capture_on_commit_callbacks(execute=True):
        held, invoice = billing_backend().purchase_add_on(
            tenant=tenant, add_on=_add_on("extra_agents_10"), quantity=2, actor=ACTOR
        )

    (request,) = fake_stripe.sent("POST", "/v1/subscription_items")
    assert request.params == {
        "subscription": data["id"],
        "price": "price_addon_extra_agents_10_monthly",
        "quantity": "2",
        "proration_behavior": "create_prorations",
        "metadata[agentry_add_on]": "extra_agents_10",
    }
    assert request.idempotency_key == f"agentry-add-on-{tenant.pk}-{data['id']}-extra_agents_10-1"
    assert invoice is None  # Stripe bills the prorated rest of the period on the next invoice
    assert (held.active, held.quantity) == (True, 2)
    assert entitlements_for(tenant=tenant).limits["agents"] == agents + 20
    item = StripeAddOnItem.objects.get(tenant=tenant, ended_at__isnull=True)
    assert (item.add_on.code, item.quantity, item.subscription_id) == ("extra_agents_10", 2, data["id"])
    (audit,) = _audits(tenant, "billing.add_on_purchased")
    assert audit.actor_label == ACTOR.label  # the buyer, not "stripe"
    with schema_context(tenant_a.schema):
        event = WebhookEvent.objects.get(type="subscription.updated", data__change="add_on_purchased")
    assert event.data["add_on"] == {"code": "extra_agents_10", "quantity": 2, "active": True}


def test_purchase_is_refused_without_a_price_while_a_change_is_scheduled_and_when_held(tenant_a, fake_stripe, catalog):
    tenant = tenant_a.tenant
    data = _subscribed(fake_stripe, catalog, tenant, add_ons=(_item(catalog, "si_agents", "extra_agents_10", 1),))
    backend = billing_backend()

    with pytest.raises(Conflict, match="already active"):
        backend.purchase_add_on(tenant=tenant, add_on=_add_on("extra_agents_10"), quantity=1, actor=ACTOR)
    data["schedule"] = "sub_sched_pending"
    with pytest.raises(Conflict, match="scheduled"):
        backend.purchase_add_on(tenant=tenant, add_on=_add_on("analytics"), quantity=1, actor=ACTOR)
    data["schedule"] = None
    Subscription.objects.filter(tenant=tenant).update(currency="EUR")  # no EUR Price was synced to Stripe
    with pytest.raises(Conflict, match="cannot be bought online"):
        backend.purchase_add_on(tenant=tenant, add_on=_add_on("analytics"), quantity=1, actor=ACTOR)
    assert fake_stripe.sent("POST", "/v1/subscription_items") == []


def test_webhook_with_an_add_on_item_activates_it_whatever_the_order_and_once(
    tenant_a, fake_stripe, catalog, django_capture_on_commit_callbacks
):
    """An item added in the Stripe Dashboard: events arrive late, twice, and with older snapshots."""
    tenant = tenant_a.tenant
    before = _subscribed(fake_stripe, catalog, tenant)
    after = _subscription(
        catalog,
        tenant,
        add_ons=(
            _item(catalog, "si_agents", "extra_agents_10", 3),
            _item(catalog, "si_leads", "lead_capture", 1),
        ),
    )
    fake_stripe.put(after)  # Stripe's state now
    client = Client(HTTP_HOST=PUBLIC_HOST)
    agents = entitlements_for(tenant=tenant).limits["agents"]
    newer = stripe_objects.event("evt_new", type="customer.subscription.updated", data=after, created=NOW)
    older = stripe_objects.event("evt_old", type="customer.subscription.updated", data=before, created=NOW - 60)

    with django_capture_on_commit_callbacks(execute=True):
        for event in (newer, older, newer):  # out of order, and one delivered twice
            post_event(client, event)
        for event_id in ("evt_new", "evt_old"):
            webhook_event_process(event_id=event_id)

    assert _holding(tenant, "extra_agents_10") == (True, 3)
    assert _holding(tenant, "lead_capture") == (True, 1)
    assert entitlements_for(tenant=tenant).limits["agents"] == agents + 30
    assert entitlements_for(tenant=tenant).has_feature("lead_capture")
    assert len(_audits(tenant, "billing.add_on_purchased")) == 2
    with schema_context(tenant_a.schema):
        assert WebhookEvent.objects.filter(data__change="add_on_purchased").count() == 2

    fake_stripe.put(_subscription(catalog, tenant, add_ons=(_item(catalog, "si_agents", "extra_agents_10", 3),)))
    late = stripe_objects.event("evt_late", type="customer.subscription.updated", data=after, created=NOW - 30)
    post_event(client, late)  # carries the old snapshot with lead capture; Stripe has dropped it since
    webhook_event_process(event_id="evt_late")

    assert _holding(tenant, "lead_capture") == (False, 1)
    assert _holding(tenant, "extra_agents_10") == (True, 3)
    assert not entitlements_for(tenant=tenant).has_feature("lead_capture")
    assert len(_audits(tenant, "billing.add_on_cancelled")) == 1

    fake_stripe.put(_subscription(catalog, tenant, add_ons=(_item(catalog, "si_agents", "extra_agents_10", 1),)))
    with django_capture_on_commit_callbacks(execute=True):
        _refresh(f"cus_{tenant.slug}", after["id"])  # the quantity lowered in the Dashboard
    assert _holding(tenant, "extra_agents_10") == (True, 1)
    assert entitlements_for(tenant=tenant).limits["agents"] == agents + 10
    with schema_context(tenant_a.schema):
        [changed] = WebhookEvent.objects.filter(data__change="add_on_changed")
    assert (changed.type, changed.data["add_on"]) == (
        "subscription.updated",
        {"code": "extra_agents_10", "quantity": 1, "active": True},
    )


def test_removal_deletes_the_item_without_proration_and_ends_the_add_on(
    tenant_a, fake_stripe, catalog, django_capture_on_commit_callbacks
):
    tenant = tenant_a.tenant
    _subscribed(fake_stripe, catalog, tenant, add_ons=(_item(catalog, "si_leads", "lead_capture", 1),))
    _item_handlers(fake_stripe, catalog)
    assert entitlements_for(tenant=tenant).has_feature("lead_capture")

    with django_capture_on_commit_callbacks(execute=True):
        held = billing_backend().cancel_add_on(tenant=tenant, add_on=_add_on("lead_capture"), actor=ACTOR)

    (request,) = fake_stripe.sent("DELETE", "/v1/subscription_items/si_leads")
    assert request.params == {"proration_behavior": "none"}  # no credit for the unused time
    assert (held.active, held.quantity) == (False, 1)
    assert not entitlements_for(tenant=tenant).has_feature("lead_capture")
    assert StripeAddOnItem.objects.get(subscription_item_id="si_leads").ended_at is not None
    with schema_context(tenant_a.schema):
        event = WebhookEvent.objects.get(data__change="add_on_cancelled")
    assert event.data["add_on"] == {"code": "lead_capture", "quantity": 1, "active": False}
    with pytest.raises(Conflict, match="not active"):
        billing_backend().cancel_add_on(tenant=tenant, add_on=_add_on("lead_capture"), actor=ACTOR)


def test_buying_again_after_a_removal_uses_a_new_idempotency_key(tenant_a, fake_stripe, catalog):
    tenant = tenant_a.tenant
    data = _subscribed(fake_stripe, catalog, tenant)
    _item_handlers(fake_stripe, catalog)
    backend, analytics = billing_backend(), _add_on("analytics")

    backend.purchase_add_on(tenant=tenant, add_on=analytics, quantity=1, actor=ACTOR)
    backend.cancel_add_on(tenant=tenant, add_on=analytics, actor=ACTOR)
    backend.purchase_add_on(tenant=tenant, add_on=analytics, quantity=1, actor=ACTOR)

    keys = [r.idempotency_key for r in fake_stripe.sent("POST", "/v1/subscription_items")]
    assert keys == [f"agentry-add-on-{tenant.pk}-{data['id']}-analytics-{n}" for n in (1, 2)]
    assert _holding(tenant, "analytics") == (True, 1)


def test_staff_given_add_ons_are_left_alone_by_the_mirror(tenant_a, fake_stripe, catalog):
    tenant = tenant_a.tenant
    tenant_add_on_set(tenant=tenant, add_on=_add_on("white_label"), quantity=1, actor=STAFF)
    tenant_add_on_set(tenant=tenant, add_on=_add_on("extra_agents_10"), quantity=5, actor=STAFF)
    # Stripe also sells extra agents (e.g. added in the Dashboard) while staff gave five packs.
    _subscribed(fake_stripe, catalog, tenant, add_ons=(_item(catalog, "si_agents", "extra_agents_10", 1),))
    fake_stripe.put(_subscription(catalog, tenant))  # and then the item is gone again
    _refresh(f"cus_{tenant.slug}", f"sub_{tenant.slug}")

    assert _holding(tenant, "white_label") == (True, 1)
    assert _holding(tenant, "extra_agents_10") == (True, 5)  # staff's quantity, never adopted nor ended
    assert not StripeAddOnItem.objects.filter(tenant=tenant).exists()

    # Removing a staff-given add-on on the Stripe backend ends it without asking Stripe.
    billing_backend().cancel_add_on(tenant=tenant, add_on=_add_on("white_label"), actor=ACTOR)
    assert _holding(tenant, "white_label") == (False, 1)
    assert fake_stripe.sent("DELETE", r"/v1/subscription_items/.*") == []


def test_a_cancelled_subscription_ends_its_add_ons_but_not_staffs(tenant_a, fake_stripe, catalog):
    tenant = tenant_a.tenant
    tenant_add_on_set(tenant=tenant, add_on=_add_on("white_label"), quantity=1, actor=STAFF)
    data = _subscribed(fake_stripe, catalog, tenant, add_ons=(_item(catalog, "si_an", "analytics", 1),))
    assert _holding(tenant, "analytics") == (True, 1)

    data.update(status="canceled", ended_at=PERIOD[1])
    _refresh(f"cus_{tenant.slug}", data["id"])

    assert _holding(tenant, "analytics") == (False, 1)
    assert _holding(tenant, "white_label") == (True, 1)


def test_cycle_change_carries_add_on_items_onto_the_new_cycles_prices(tenant_a, fake_stripe, catalog):
    tenant = tenant_a.tenant
    data = _subscribed(fake_stripe, catalog, tenant, add_ons=(_item(catalog, "si_agents", "extra_agents_10", 2),))
    schedule = stripe_objects.subscription_schedule(
        "sub_sched_1",
        customer_id=data["customer"],
        subscription_id=data["id"],
        phases=[(PERIOD[0], PERIOD[1], "price_professional_monthly")],
    )

    def create(params: dict[str, str], match: Any) -> dict[str, Any]:
        fake_stripe.put(schedule)
        return schedule

    fake_stripe.on("POST", "/v1/subscription_schedules", create)
    fake_stripe.on("POST", "/v1/subscription_schedules/sub_sched_1", lambda params, match: schedule)

    billing_backend().change_plan(
        tenant=tenant, plan=Plan.objects.get(code="professional"), billing_cycle="annual", actor=ACTOR
    )

    (update,) = fake_stripe.sent("POST", "/v1/subscription_schedules/sub_sched_1")
    phases = {key: value for key, value in update.params.items() if "[items]" in key}
    assert phases == {
        "phases[0][items][0][price]": "price_professional_monthly",
        "phases[0][items][0][quantity]": "1",
        "phases[0][items][1][price]": "price_addon_extra_agents_10_monthly",
        "phases[0][items][1][quantity]": "2",
        "phases[1][items][0][price]": "price_professional_annual",
        "phases[1][items][0][quantity]": "1",
        "phases[1][items][1][price]": "price_addon_extra_agents_10_annual",
        "phases[1][items][1][quantity]": "2",
    }
    assert _holding(tenant, "extra_agents_10") == (True, 2)


def _api(tenant_fixture: Any, scopes: list[str]) -> Client:
    issued = IssuedApiKeyFactory.create(tenant=tenant_fixture.tenant, scopes=scopes)
    return api_client(tenant_fixture.host, issued.secret)


def test_add_on_api_buys_on_stripe_and_another_tenant_sees_nothing_of_it(tenant_a, tenant_b, fake_stripe, catalog):
    _subscribed(fake_stripe, catalog, tenant_a.tenant)
    _item_handlers(fake_stripe, catalog)

    response = _api(tenant_a, ["billing:write"]).post(
        "/api/v1/add-ons/analytics/purchase", data={"quantity": 1}, content_type="application/json"
    )

    assert response.status_code == 201, response.content
    body = json.loads(response.content)
    assert (body["active"], body["quantity"], body["invoice"]) == (True, 1, None)
    listed = json.loads(_api(tenant_b, ["billing:read"]).get("/api/v1/add-ons").content)
    assert next(a for a in listed if a["code"] == "analytics")["active"] is False
    assert _holding(tenant_b.tenant, "analytics") is None
    cancel = _api(tenant_b, ["billing:write"]).post("/api/v1/add-ons/analytics/cancel")
    assert cancel.status_code == 409  # beta cannot remove alpha's add-on
    assert _holding(tenant_a.tenant, "analytics") == (True, 1)


def test_portal_buy_page_on_stripe_explains_the_next_invoice_and_buys(tenant_a, fake_stripe, catalog):
    _subscribed(fake_stripe, catalog, tenant_a.tenant)
    _item_handlers(fake_stripe, catalog)
    client = signed_in_client(tenant_a)

    page = client.get("/billing/add-ons/analytics/buy/").content.decode()
    assert "added to your next invoice" in page

    response = client.post("/billing/add-ons/analytics/buy/", {"quantity": "1"}, follow=True)

    assert "Advanced analytics is active now" in response.content.decode()
    assert _holding(tenant_a.tenant, "analytics") == (True, 1)


def test_staff_see_stripe_add_on_items_read_only_in_admin(tenant_a, fake_stripe, catalog):
    _subscribed(fake_stripe, catalog, tenant_a.tenant, add_ons=(_item(catalog, "si_leads", "lead_capture", 1),))
    with schema_context(get_public_schema_name()):
        staff = User.objects.create_superuser(email="staff@agentry.test", password=PASSWORD)
    client = client_for("localhost")
    client.force_login(staff, backend="django.contrib.auth.backends.ModelBackend")

    page = client.get("/admin/stripe_billing/stripeaddonitem/", {"q": "alpha"}).content.decode()

    assert "si_leads" in page
    row = StripeAddOnItem.objects.get(subscription_item_id="si_leads")
    assert client.get(f"/admin/stripe_billing/stripeaddonitem/{row.pk}/change/").status_code == 200
    assert client.post(f"/admin/stripe_billing/stripeaddonitem/{row.pk}/delete/").status_code == 403
