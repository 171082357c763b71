"""Staff drive the local backend's lifecycle from admin: invoices marked paid or failed."""

from __future__ import annotations

import pytest
from django.test import Client
from django_tenants.utils import get_public_schema_name, schema_context

from accounts.models import User
from billing.models import Invoice, InvoiceStatus
from billing.selectors import invoice_list_of_tenant, subscription_of_tenant
from conftest import PASSWORD, client_for
from tenants.models import Tenant, TenantStatus


@pytest.fixture
def staff_client(two_tenants, db) -> Client:
    with schema_context(get_public_schema_name()):
        staff = User.objects.create_superuser(email="staff@agentry.test", password=PASSWORD)
    client = client_for("localhost")
    client.force_login(staff, backend="django.contrib.auth.backends.ModelBackend")
    return client


def _act(client: Client, action: str, invoice: Invoice):  # type: ignore[no-untyped-def]
    return client.post(
        "/admin/billing/invoice/",
        {"action": action, "_selected_action": [invoice.pk]},
        follow=True,
    )


def test_admin_invoice_list_and_detail_show_the_invoice(staff_client, tenant_a):
    [invoice] = invoice_list_of_tenant(tenant=tenant_a.tenant)
    listing = staff_client.get("/admin/billing/invoice/", {"q": "alpha"})
    detail = staff_client.get(f"/admin/billing/invoice/{invoice.pk}/change/")

    assert listing.status_code == detail.status_code == 200
    assert invoice.number in listing.content.decode()
    assert "149.00" in listing.content.decode()


def test_admin_mark_failed_then_paid_drives_past_due_then_active(staff_client, tenant_a):
    [invoice] = invoice_list_of_tenant(tenant=tenant_a.tenant)

    failed = _act(staff_client, "mark_failed", invoice)
    assert f"Recorded a failed payment for {invoice.number}" in failed.content.decode()
    assert Tenant.objects.get(pk=tenant_a.tenant.pk).status == TenantStatus.PAST_DUE
    assert subscription_of_tenant(tenant=tenant_a.tenant).status == "past_due"

    _act(staff_client, "mark_paid", invoice)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and invoice.paid_at is not None
    assert Tenant.objects.get(pk=tenant_a.tenant.pk).status == TenantStatus.ACTIVE
    assert list(invoice.payments.order_by("id").values_list("status", flat=True)) == ["failed", "succeeded"]


def test_admin_mark_paid_twice_reports_the_refusal(staff_client, tenant_a):
    [invoice] = invoice_list_of_tenant(tenant=tenant_a.tenant)
    _act(staff_client, "mark_paid", invoice)
    again = _act(staff_client, "mark_paid", invoice)

    assert "only an open invoice can be paid" in again.content.decode()
    assert invoice.payments.count() == 1


def test_admin_subscription_and_payment_lists_are_read_only(staff_client, tenant_b):
    subscriptions = staff_client.get("/admin/billing/subscription/", {"q": "beta"})
    assert subscriptions.status_code == 200 and "Beta Ltd" in subscriptions.content.decode()
    assert staff_client.get("/admin/billing/payment/").status_code == 200
    assert staff_client.get("/admin/billing/subscription/add/").status_code == 403
