"""Billing details through HTTP: saved by managers, shown on the billing page and on invoices issued after."""

from __future__ import annotations

from accounts.models import Role
from billing.models import BillingProfile
from billing.selectors import invoice_list_of_tenant, plan_get, subscription_of_tenant
from billing.subscriptions import subscription_upgrade
from billing.tests.factories import TESTS
from conftest import make_member, signed_in_client

DETAILS = {"legal_name": "Alpha Trading LLC", "address": "1 King Road\nRiyadh", "country": "sa", "tax_id": ""}


def test_owner_saves_billing_details_and_the_next_invoice_carries_them_with_vat(tenant_a):
    client = signed_in_client(tenant_a)
    assert "No billing details yet" in client.get("/billing/").content.decode()

    response = client.post("/billing/profile/", DETAILS)

    assert response.status_code == 302
    page = client.get("/billing/").content.decode()
    assert "Alpha Trading LLC<br>1 King Road<br>Riyadh<br>SA" in page
    subscription = subscription_of_tenant(tenant=tenant_a.tenant)
    subscription.status = "active"
    subscription.save()
    _, invoice = subscription_upgrade(tenant=tenant_a.tenant, plan=plan_get(code="enterprise"), actor=TESTS)
    shown = client.get(f"/billing/invoices/{invoice.number}/").content.decode()
    assert "VAT 15 %" in shown and "Alpha Trading LLC" in shown and "Agentry Ltd" in shown


def test_reverse_charge_note_is_printed_on_the_invoice(tenant_a, settings):
    settings.BILLING_SELLER_COUNTRY = "IE"
    client = signed_in_client(tenant_a)
    client.post("/billing/profile/", {**DETAILS, "country": "DE", "tax_id": "DE123456789"})
    subscription = subscription_of_tenant(tenant=tenant_a.tenant)
    subscription.status = "active"
    subscription.save()
    _, invoice = subscription_upgrade(tenant=tenant_a.tenant, plan=plan_get(code="enterprise"), actor=TESTS)

    shown = client.get(f"/billing/invoices/{invoice.number}/").content.decode()

    assert "Reverse charge: VAT to be accounted for by the recipient" in shown
    assert "VAT 0 %" in shown


def test_a_bad_vat_id_is_a_form_error(tenant_a):
    response = signed_in_client(tenant_a).post("/billing/profile/", {**DETAILS, "country": "DE", "tax_id": "123"})

    assert response.status_code == 200
    assert "An EU VAT id starts with DE" in response.content.decode()
    assert not BillingProfile.objects.exists()


def test_a_member_cannot_edit_billing_details(tenant_a):
    make_member(tenant_a, email="member@alpha.test", role=Role.MEMBER)
    client = signed_in_client(tenant_a, "member@alpha.test")

    assert client.post("/billing/profile/", DETAILS).status_code == 403
    assert "Add billing details" not in client.get("/billing/").content.decode()
    assert not BillingProfile.objects.exists()


def test_another_workspace_never_sees_these_details(tenant_a, tenant_b):
    signed_in_client(tenant_a).post("/billing/profile/", DETAILS)

    page = signed_in_client(tenant_b).get("/billing/").content.decode()
    assert "Alpha Trading LLC" not in page and "No billing details yet" in page
    assert all(i.buyer_name != "Alpha Trading LLC" for i in invoice_list_of_tenant(tenant=tenant_b.tenant))
