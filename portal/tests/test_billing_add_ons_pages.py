"""Billing → Add-ons, cycle change and reactivation through HTTP: effects, roles, two tenants."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from accounts.models import Role
from billing.adjustments import credit_grant
from billing.models import PlanPrice, Subscription, SubscriptionStatus, TenantAddOn
from billing.selectors import invoice_list_of_tenant, subscription_of_tenant
from billing.tests.factories import TESTS, add_on_give
from conftest import make_member, signed_in_client
from tenants.models import Tenant, TenantStatus


def _paid(tenant_fixture) -> Subscription:
    Subscription.objects.filter(tenant_id=tenant_fixture.tenant.pk).update(
        status=SubscriptionStatus.ACTIVE, current_period_start=timezone.now() - timedelta(days=5)
    )
    subscription = subscription_of_tenant(tenant=tenant_fixture.tenant)
    assert subscription is not None
    return subscription


def test_add_ons_page_lists_the_catalog_with_prices_and_what_each_grants(tenant_a):
    add_on_give(tenant_a.tenant, "lead_capture")

    page = signed_in_client(tenant_a).get("/billing/add-ons/").content.decode()

    assert "10 extra agents" in page and "29.00 USD" in page and "+10 agents per unit" in page
    assert 'href="/billing/add-ons/extra_agents_10/buy/"' in page
    assert 'href="/billing/add-ons/lead_capture/remove/"' in page and "Active × 1" in page


def test_add_on_buy_confirms_the_charge_then_buys_with_a_prorated_invoice(tenant_a):
    _paid(tenant_a)
    client = signed_in_client(tenant_a)
    before = invoice_list_of_tenant(tenant=tenant_a.tenant).count()

    confirmation = client.get("/billing/add-ons/analytics/buy/?quantity=2").content.decode()
    response = client.post("/billing/add-ons/analytics/buy/", {"quantity": "2"})

    assert "58.00 USD" in confirmation and "for the rest of this period" in confirmation
    assert response.status_code == 302
    assert TenantAddOn.objects.get(tenant=tenant_a.tenant, add_on__code="analytics").quantity == 2
    assert invoice_list_of_tenant(tenant=tenant_a.tenant).count() == before + 1
    assert not TenantAddOn.objects.filter(tenant__slug="beta").exists()


def test_add_on_remove_needs_confirmation_and_a_second_buy_is_explained(tenant_a):
    add_on_give(tenant_a.tenant, "white_label")
    client = signed_in_client(tenant_a)
    assert "Remove now" in client.get("/billing/add-ons/white_label/remove/").content.decode()

    client.post("/billing/add-ons/white_label/remove/")
    assert not TenantAddOn.objects.get(tenant=tenant_a.tenant, add_on__code="white_label").active
    client.post("/billing/add-ons/lead_capture/buy/")
    page = client.post("/billing/add-ons/lead_capture/buy/", follow=True).content.decode()
    assert "already active" in page


def test_add_ons_are_read_only_for_members(tenant_a):
    make_member(tenant_a, email="member-addons@alpha.test", role=Role.MEMBER)
    client = signed_in_client(tenant_a, "member-addons@alpha.test")

    page = client.get("/billing/add-ons/").content.decode()

    assert "Only owners and admins can buy or remove add-ons." in page and "/buy/" not in page
    assert client.post("/billing/add-ons/lead_capture/buy/").status_code == 403
    assert not TenantAddOn.objects.filter(tenant=tenant_a.tenant).exists()


def test_cycle_change_shows_each_cycles_price_and_schedules_it_for_period_end(tenant_a):
    subscription = _paid(tenant_a)
    client = signed_in_client(tenant_a)

    page = client.get("/billing/cycle/").content.decode()
    response = client.post("/billing/cycle/", {"billing_cycle": "annual"}, follow=True).content.decode()

    annual = PlanPrice.objects.get(plan__code="professional", billing_cycle="annual", currency="USD").amount
    assert f"{annual / 100:,.2f} USD" in page and "Annual" in page
    assert f"from {subscription.current_period_end:%Y-%m-%d}" in response
    assert subscription_of_tenant(tenant=tenant_a.tenant).scheduled_cycle == "annual"
    again = client.post("/billing/cycle/", {"billing_cycle": "annual"}, follow=True).content.decode()
    assert "other than the current one" in again


def test_reactivate_a_cancelled_workspace_from_the_billing_page(tenant_a):
    Subscription.objects.filter(tenant_id=tenant_a.tenant.pk).update(status=SubscriptionStatus.CANCELLED)
    Tenant.objects.filter(pk=tenant_a.tenant.pk).update(status=TenantStatus.CANCELLED)
    client = signed_in_client(tenant_a)

    assert 'href="/billing/reactivate/"' in client.get("/billing/").content.decode()
    assert "starts again today" in client.get("/billing/reactivate/").content.decode()
    client.post("/billing/reactivate/")

    assert subscription_of_tenant(tenant=tenant_a.tenant).status == SubscriptionStatus.ACTIVE
    assert Tenant.objects.get(pk=tenant_a.tenant.pk).status == TenantStatus.ACTIVE


def test_reactivating_a_suspended_workspace_without_a_card_explains_why(tenant_a):
    Subscription.objects.filter(tenant_id=tenant_a.tenant.pk).update(status=SubscriptionStatus.PAST_DUE)
    Tenant.objects.filter(pk=tenant_a.tenant.pk).update(status=TenantStatus.SUSPENDED)

    page = signed_in_client(tenant_a).post("/billing/reactivate/", follow=True).content.decode()

    assert "no card on file" in page
    assert Tenant.objects.get(pk=tenant_a.tenant.pk).status == TenantStatus.SUSPENDED


def test_billing_page_shows_the_credit_balance(tenant_a):
    credit_grant(tenant=tenant_a.tenant, amount=2500, currency="USD", reason="Goodwill", actor=TESTS)

    page = signed_in_client(tenant_a).get("/billing/").content.decode()

    assert "Credit balance" in page and "25.00 USD" in page


def test_one_workspaces_add_ons_and_credits_never_show_in_another(tenant_a, tenant_b):
    add_on_give(tenant_a.tenant, "white_label", quantity=3)
    credit_grant(tenant=tenant_a.tenant, amount=4321, currency="USD", reason="Alpha only", actor=TESTS)
    client = signed_in_client(tenant_b)

    add_ons = client.get("/billing/add-ons/").content.decode()
    billing = client.get("/billing/").content.decode()

    assert "Active ×" not in add_ons and "/remove/" not in add_ons
    assert "43.21" not in billing and "Credit balance" not in billing and "white label" not in billing.lower()
    assert client.post("/billing/add-ons/white_label/remove/", follow=True).status_code == 200
    assert TenantAddOn.objects.get(tenant=tenant_a.tenant, add_on__code="white_label").active
