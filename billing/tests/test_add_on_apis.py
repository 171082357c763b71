"""The add-on endpoints and POST /api/v1/subscription/reactivate: contract, scopes, errors."""

from __future__ import annotations

import json

from django.test import Client

from apikeys.tests.factories import IssuedApiKeyFactory, api_client
from billing.entitlements import entitlements_for
from billing.models import InvoiceStatus, Payment, Subscription, SubscriptionStatus
from billing.payment_methods import payment_method_set
from billing.payments import invoice_record_payment
from billing.selectors import invoice_list_of_tenant, subscription_of_tenant
from billing.tests.factories import TESTS
from tenants.models import Tenant, TenantStatus

READ, WRITE = ["billing:read"], ["billing:write"]


def _client(tenant_fixture, scopes: list[str]) -> Client:  # type: ignore[no-untyped-def]
    issued = IssuedApiKeyFactory.create(tenant=tenant_fixture.tenant, scopes=scopes)
    return api_client(tenant_fixture.host, issued.secret)


def _post(client: Client, path: str, body: dict | None = None) -> tuple[int, dict]:
    response = client.post(path, data=body or {}, content_type="application/json")
    return response.status_code, json.loads(response.content)


def test_add_ons_list_prices_in_the_subscriptions_currency_and_cycle(tenant_a):
    Subscription.objects.filter(tenant_id=tenant_a.tenant.pk).update(billing_cycle="annual")

    add_ons = json.loads(_client(tenant_a, READ).get("/api/v1/add-ons").content)

    pack = next(a for a in add_ons if a["code"] == "extra_agents_10")
    assert pack["price"] == {
        "currency": "USD",
        "billing_cycle": "annual",
        "amount_per_month": 2900,
        "amount_per_cycle": 34800,
    }
    assert (pack["limit_increments"], pack["active"], pack["quantity"]) == ({"agents": 10}, False, 0)
    assert {"lead_capture", "analytics", "white_label", "extra_api_calls_100k"} <= {a["code"] for a in add_ons}


def test_add_on_purchase_and_cancel_change_entitlements_at_once(tenant_a):
    client = _client(tenant_a, WRITE)
    agents = entitlements_for(tenant=tenant_a.tenant).limits["agents"]

    status, body = _post(client, "/api/v1/add-ons/extra_agents_10/purchase", {"quantity": 3})

    assert (status, body["active"], body["quantity"]) == (201, True, 3)
    assert body["invoice"] == invoice_list_of_tenant(tenant=tenant_a.tenant).first().number
    assert entitlements_for(tenant=tenant_a.tenant).limits["agents"] == agents + 30
    status, body = _post(client, "/api/v1/add-ons/extra_agents_10/cancel")
    assert (status, body["active"], body["quantity"]) == (200, False, 0)
    assert entitlements_for(tenant=tenant_a.tenant).limits["agents"] == agents


def test_add_on_endpoints_refuse_without_scope_unknown_codes_and_twice(tenant_a):
    assert _post(_client(tenant_a, READ), "/api/v1/add-ons/lead_capture/purchase")[0] == 403
    client = _client(tenant_a, WRITE)
    assert _post(client, "/api/v1/add-ons/no-such-thing/purchase")[1]["code"] == "not_found"
    assert _post(client, "/api/v1/add-ons/lead_capture/purchase", {"quantity": 0})[1]["code"] == "validation_error"
    assert _post(client, "/api/v1/add-ons/lead_capture/cancel")[1]["code"] == "conflict"
    _post(client, "/api/v1/add-ons/lead_capture/purchase")
    status, body = _post(client, "/api/v1/add-ons/lead_capture/purchase")
    assert (status, body["code"]) == (409, "conflict")


def test_subscription_reactivate_starts_a_cancelled_subscription_again(tenant_a):
    Subscription.objects.filter(tenant_id=tenant_a.tenant.pk).update(status=SubscriptionStatus.CANCELLED)
    Tenant.objects.filter(pk=tenant_a.tenant.pk).update(status=TenantStatus.CANCELLED)

    status, body = _post(_client(tenant_a, WRITE), "/api/v1/subscription/reactivate")

    assert (status, body["status"]) == (200, "active")
    assert Tenant.objects.get(pk=tenant_a.tenant.pk).status == TenantStatus.ACTIVE
    assert subscription_of_tenant(tenant=tenant_a.tenant).cancelled_at is None


def test_subscription_reactivate_settles_a_suspended_workspace_with_the_card_on_file(tenant_a):
    [invoice] = invoice_list_of_tenant(tenant=tenant_a.tenant)
    invoice_record_payment(invoice=invoice, succeeded=False, actor=TESTS)
    Tenant.objects.filter(pk=tenant_a.tenant.pk).update(status=TenantStatus.SUSPENDED)
    client = _client(tenant_a, WRITE)
    status, body = _post(client, "/api/v1/subscription/reactivate")
    assert (status, body["code"]) == (409, "conflict")  # no card on file

    payment_method_set(tenant=tenant_a.tenant, card_number="4000000000000002", exp_month=1, exp_year=2040, actor=TESTS)
    status, body = _post(client, "/api/v1/subscription/reactivate")
    assert (status, body["code"]) == (402, "payment_declined")
    assert Payment.objects.filter(invoice=invoice).count() == 1  # the declined attempt left nothing behind

    payment_method_set(tenant=tenant_a.tenant, card_number="4242424242424242", exp_month=1, exp_year=2040, actor=TESTS)
    status, body = _post(client, "/api/v1/subscription/reactivate")
    assert (status, body["status"]) == (200, "active")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert Tenant.objects.get(pk=tenant_a.tenant.pk).status == TenantStatus.ACTIVE


def test_subscription_reactivate_leaves_a_running_subscription_as_it_is(tenant_b):
    before = subscription_of_tenant(tenant=tenant_b.tenant)

    status, body = _post(_client(tenant_b, WRITE), "/api/v1/subscription/reactivate")

    assert (status, body["status"]) == (200, "trialing")
    after = subscription_of_tenant(tenant=tenant_b.tenant)
    assert (after.status, after.current_period_end, after.updated_at) == (
        before.status,
        before.current_period_end,
        before.updated_at,
    )
