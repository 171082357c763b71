"""The billing pages through HTTP: each action's effect on the subscription, roles, tenants, suspension."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from billing.models import Subscription, SubscriptionStatus
from billing.selectors import invoice_list_of_tenant, plan_get, subscription_of_tenant
from conftest import client_for, make_member, signed_in_client
from tenants.models import Tenant, TenantStatus


def _subscription(tenant_fixture) -> Subscription:
    subscription = subscription_of_tenant(tenant=tenant_fixture.tenant)
    assert subscription is not None
    return subscription


def _paid(tenant_fixture) -> Subscription:
    """tenant_a as an active, paying Professional subscription, a few days into its period."""
    subscription = _subscription(tenant_fixture)
    subscription.status = SubscriptionStatus.ACTIVE
    subscription.current_period_start = timezone.now() - timedelta(days=5)
    subscription.save()
    return subscription


def test_billing_page_shows_plan_usage_comparison_and_invoices(tenant_a):
    _paid(tenant_a)
    page = signed_in_client(tenant_a).get("/billing/").content.decode()

    assert "Current plan: Professional" in page
    assert "Team members" in page and "Next renewal" in page
    assert 'href="/billing/change/enterprise/"' in page and 'href="/billing/change/starter/"' in page
    assert 'href="/billing/cancel/"' in page
    for invoice in invoice_list_of_tenant(tenant=tenant_a.tenant):
        assert f'href="/billing/invoices/{invoice.number}/"' in page


def test_billing_upgrade_confirmation_previews_proration_then_upgrades_with_an_invoice(tenant_a):
    _paid(tenant_a)
    client = signed_in_client(tenant_a)
    invoices_before = invoice_list_of_tenant(tenant=tenant_a.tenant).count()

    preview = client.get("/billing/change/enterprise/").content.decode()
    response = client.post("/billing/change/enterprise/")

    assert "Proration preview" in preview and "Due now" in preview
    assert response.status_code == 302
    assert _subscription(tenant_a).plan.code == "enterprise"
    assert Tenant.objects.get(pk=tenant_a.tenant.pk).plan.code == "enterprise"
    assert invoice_list_of_tenant(tenant=tenant_a.tenant).count() == invoices_before + 1
    assert "You are now on Enterprise." in client.get("/billing/").content.decode()


def test_billing_downgrade_is_scheduled_at_period_end_and_can_be_undone(tenant_a):
    _paid(tenant_a)
    client = signed_in_client(tenant_a)

    assert "Confirm downgrade" in client.get("/billing/change/starter/").content.decode()
    client.post("/billing/change/starter/")

    subscription = _subscription(tenant_a)
    assert subscription.plan.code == "professional" and subscription.scheduled_plan == plan_get(code="starter")
    assert "Undo scheduled change" in client.get("/billing/").content.decode()

    client.post("/billing/scheduled-change/undo/")
    subscription = _subscription(tenant_a)
    assert subscription.scheduled_plan is None and subscription.scheduled_cycle == ""


def test_billing_downgrade_blocked_by_the_guard_lists_what_to_reduce(tenant_a):
    _paid(tenant_a)
    for number in range(5):
        make_member(tenant_a, email=f"seat{number}@alpha.test")
    client = signed_in_client(tenant_a)

    page = client.get("/billing/change/starter/").content.decode()
    client.post("/billing/change/starter/")

    assert "Reduce first" in page and "Team members: 6 in use, 5 allowed — remove 1" in page
    assert "Confirm downgrade" not in page
    assert _subscription(tenant_a).scheduled_plan is None


def test_billing_cancel_then_undo(tenant_a):
    _paid(tenant_a)
    client = signed_in_client(tenant_a)

    assert "Cancel at period end" in client.get("/billing/cancel/").content.decode()
    client.post("/billing/cancel/")
    assert _subscription(tenant_a).cancel_at_period_end
    assert "Undo cancellation" in client.get("/billing/").content.decode()

    client.post("/billing/cancel/undo/")
    assert not _subscription(tenant_a).cancel_at_period_end


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
def test_billing_changes_refused_to_roles_without_manage_billing(tenant_a, role):
    _paid(tenant_a)
    make_member(tenant_a, email=f"{role}@alpha.test", role=role)
    client = signed_in_client(tenant_a, f"{role}@alpha.test")

    page = client.get("/billing/")
    refusals = [
        client.get("/billing/change/enterprise/").status_code,
        client.post("/billing/change/enterprise/").status_code,
        client.post("/billing/cancel/").status_code,
        client.post("/billing/cancel/undo/").status_code,
        client.post("/billing/scheduled-change/undo/").status_code,
    ]

    assert page.status_code == 200 and "Current plan: Professional" in page.content.decode()
    assert "/billing/change/" not in page.content.decode() and "/billing/cancel/" not in page.content.decode()
    assert refusals == [403, 403, 403, 403, 403]
    subscription = _subscription(tenant_a)
    assert subscription.plan.code == "professional" and not subscription.cancel_at_period_end


def test_billing_invoice_page_shows_own_invoice_and_404s_for_another_tenants(tenant_a, tenant_b):
    invoice = invoice_list_of_tenant(tenant=tenant_a.tenant).first()
    assert invoice is not None

    own = signed_in_client(tenant_a).get(f"/billing/invoices/{invoice.number}/")
    other = signed_in_client(tenant_b).get(f"/billing/invoices/{invoice.number}/")

    assert own.status_code == 200 and f"Invoice {invoice.number}" in own.content.decode()
    assert other.status_code == 404
    assert invoice.number not in signed_in_client(tenant_b).get("/billing/").content.decode()


def test_billing_page_requires_sign_in(tenant_a):
    assert client_for(tenant_a.host).get("/billing/").status_code == 302


def test_billing_page_opens_for_a_suspended_tenant(tenant_a):
    Tenant.objects.filter(pk=tenant_a.tenant.pk).update(status=TenantStatus.SUSPENDED)

    response = signed_in_client(tenant_a).get("/billing/")

    assert response.status_code == 200
    assert "Your workspace is locked" in response.content.decode()
