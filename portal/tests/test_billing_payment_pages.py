"""The card on file and "Pay now" through HTTP: effects, roles, another workspace, the Stripe backend."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.models import Role
from billing.models import InvoiceStatus, PaymentMethod, SubscriptionStatus
from billing.payment_methods import payment_method_set
from billing.selectors import invoice_list_of_tenant, subscription_of_tenant
from billing.tests.factories import TESTS
from conftest import make_member, signed_in_client

YEAR = timezone.now().year + 2


def _card(tenant_fixture, number: str) -> None:
    payment_method_set(tenant=tenant_fixture.tenant, card_number=number, exp_month=12, exp_year=YEAR, actor=TESTS)


def _open_invoice(tenant_fixture):  # type: ignore[no-untyped-def]
    [invoice] = invoice_list_of_tenant(tenant=tenant_fixture.tenant)
    assert invoice.status == InvoiceStatus.OPEN
    return invoice


def test_owner_adds_a_card_and_the_billing_page_shows_it_without_the_number(tenant_a):
    client = signed_in_client(tenant_a)
    form = client.get("/billing/payment-method/")
    response = client.post(
        "/billing/payment-method/", {"card_number": "4242 4242 4242 4242", "exp_month": "12", "exp_year": str(YEAR)}
    )

    assert "Add a card" in form.content.decode()
    assert response.status_code == 302
    page = client.get("/billing/").content.decode()
    assert f"Visa •••• 4242, expires 12/{YEAR}" in page
    assert "Visa •••• 4242 is now the card on file." in page
    assert "4242 4242 4242 4242" not in page and "4242424242424242" not in page
    assert PaymentMethod.objects.get().tenant_id == tenant_a.tenant.pk


def test_an_invalid_card_is_shown_as_a_form_error(tenant_a):
    response = signed_in_client(tenant_a).post(
        "/billing/payment-method/", {"card_number": "4242 4242 4242 4241", "exp_month": "12", "exp_year": str(YEAR)}
    )

    assert response.status_code == 200
    assert "Enter a valid card number." in response.content.decode()
    assert not PaymentMethod.objects.exists()


def test_pay_now_with_a_good_card_pays_the_invoice(tenant_a):
    _card(tenant_a, "4242424242424242")
    invoice = _open_invoice(tenant_a)
    client = signed_in_client(tenant_a)

    assert f'action="/billing/invoices/{invoice.number}/pay/"' in client.get("/billing/").content.decode()
    response = client.post(f"/billing/invoices/{invoice.number}/pay/", follow=True)

    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert f"Invoice {invoice.number} is paid. Thank you." in response.content.decode()


def test_pay_now_with_a_declining_card_says_so_and_the_workspace_is_past_due(tenant_a):
    _card(tenant_a, "4000000000000002")
    invoice = _open_invoice(tenant_a)

    response = signed_in_client(tenant_a).post(f"/billing/invoices/{invoice.number}/pay/", follow=True)

    assert "Visa •••• 0002 was declined (card_declined)." in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN
    assert subscription_of_tenant(tenant=tenant_a.tenant).status == SubscriptionStatus.PAST_DUE


def test_pay_now_without_a_card_is_refused_with_a_message(tenant_a):
    invoice = _open_invoice(tenant_a)

    response = signed_in_client(tenant_a).post(f"/billing/invoices/{invoice.number}/pay/", follow=True)

    assert "There is no card on file to pay with; add one first." in response.content.decode()
    assert invoice.payments.count() == 0


def test_owner_removes_the_card(tenant_a):
    _card(tenant_a, "4242424242424242")

    response = signed_in_client(tenant_a).post("/billing/payment-method/remove/", follow=True)

    assert "The card was removed." in response.content.decode()
    assert not PaymentMethod.objects.exists()


def test_a_member_can_see_the_card_but_not_change_it_or_pay(tenant_a):
    _card(tenant_a, "4242424242424242")
    make_member(tenant_a, email="member@alpha.test", role=Role.MEMBER)
    client = signed_in_client(tenant_a, "member@alpha.test")
    invoice = _open_invoice(tenant_a)

    page = client.get("/billing/").content.decode()
    assert "Visa •••• 4242" in page and "Replace card" not in page and "Pay now" not in page
    assert client.get("/billing/payment-method/").status_code == 403
    assert client.post("/billing/payment-method/remove/").status_code == 403
    assert client.post(f"/billing/invoices/{invoice.number}/pay/").status_code == 403
    assert invoice.payments.count() == 0


def test_another_workspace_cannot_pay_or_see_this_ones_invoice_or_card(tenant_a, tenant_b):
    _card(tenant_a, "4242424242424242")
    _card(tenant_b, "5555555555554444")
    invoice = _open_invoice(tenant_a)
    client_b = signed_in_client(tenant_b)

    assert client_b.post(f"/billing/invoices/{invoice.number}/pay/").status_code == 404
    page = client_b.get("/billing/").content.decode()
    assert "Mastercard •••• 4444" in page and "4242" not in page
    assert invoice.payments.count() == 0


@pytest.mark.parametrize("path", ["/billing/payment-method/", "/billing/payment-method/remove/"])
def test_card_pages_do_not_exist_with_the_stripe_backend(tenant_a, settings, path):
    settings.BILLING_BACKEND = "stripe"

    client = signed_in_client(tenant_a)
    assert client.post(path).status_code == 404
    assert "Payment method" not in client.get("/billing/").content.decode()
