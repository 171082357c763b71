"""Staff admin for the catalog and tenant holdings: every write goes through the services
(validated, audited, entitlements recomputed at once)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client
from django_tenants.utils import get_public_schema_name, schema_context

from accounts.models import User
from audit.models import ActorType, AuditEvent
from billing.entitlements import entitlements_for
from billing.models import AddOn, Plan, PlanPrice, TenantAddOn, TenantEntitlementOverride
from billing.tests.factories import add_on_give, override_give
from conftest import PASSWORD, client_for


@pytest.fixture
def staff_client(two_tenants, db) -> Client:
    with schema_context(get_public_schema_name()):
        staff = User.objects.create_superuser(email="staff@agentry.test", password=PASSWORD)
    client = client_for("localhost")
    client.force_login(staff, backend="django.contrib.auth.backends.ModelBackend")
    return client


def _form_data(response) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """What the change form would post back unchanged: the main form and every inline formset."""

    def fields_of(form) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        data = {}
        for name in form.fields:
            value = form[name].value()
            if value is True:
                value = "on"
            if value is not None and value is not False:  # `0` (an empty inline's TOTAL_FORMS) is kept
                data[form.add_prefix(name)] = value
        return data

    assert response.status_code == 200
    data = fields_of(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        data.update(fields_of(inline.formset.management_form))
        for form in inline.formset.forms:
            data.update(fields_of(form))
    return data


def _staff_events(action: str) -> list[AuditEvent]:
    with schema_context(get_public_schema_name()):
        return list(AuditEvent.objects.filter(action=action, actor_type=ActorType.STAFF))


def _listed(response) -> list[Any]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


# --- Plans and prices -----------------------------------------------------------------------


def test_admin_plan_list_shows_prices_and_tenant_counts(staff_client):
    response = staff_client.get("/admin/billing/plan/")

    assert [plan.code for plan in _listed(response)] == ["starter", "professional", "enterprise"]
    assert b"49.0" in response.content  # the USD monthly list price


def test_admin_plan_edit_goes_through_the_service_and_reaches_tenants_at_once(staff_client, tenant_b):
    starter = Plan.objects.get(code="starter")
    assert entitlements_for(tenant=tenant_b.tenant).limits["team_members"] == 5  # cached now
    url = f"/admin/billing/plan/{starter.pk}/change/"
    data = _form_data(staff_client.get(url))
    data["limits"] = json.dumps({**starter.limits, "team_members": 6})

    response = staff_client.post(url, data)

    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    assert entitlements_for(tenant=tenant_b.tenant).limits["team_members"] == 6
    [event] = _staff_events("billing.plan_updated")
    assert event.data["changes"]["limits"][1]["team_members"] == 6


def test_admin_plan_edit_refuses_an_incomplete_limits_object(staff_client):
    starter = Plan.objects.get(code="starter")
    url = f"/admin/billing/plan/{starter.pk}/change/"
    data = _form_data(staff_client.get(url))
    data["limits"] = json.dumps({"agents": 5})

    response = staff_client.post(url, data)

    assert response.status_code == 200
    assert "Missing limits" in str(response.context["adminform"].form.errors["limits"])
    assert Plan.objects.get(pk=starter.pk).limits == starter.limits


def test_admin_plan_price_inline_changes_are_audited(staff_client):
    starter = Plan.objects.get(code="starter")
    url = f"/admin/billing/plan/{starter.pk}/change/"
    response = staff_client.get(url)
    data = _form_data(response)
    forms = response.context["inline_admin_formsets"][0].formset.forms
    index = next(
        i for i, form in enumerate(forms) if (form.instance.currency, form.instance.billing_cycle) == ("EUR", "monthly")
    )
    data[f"prices-{index}-amount"] = "4700"

    assert staff_client.post(url, data).status_code == 302

    assert PlanPrice.objects.get(plan=starter, currency="EUR", billing_cycle="monthly").amount == 4_700
    [event] = _staff_events("billing.price_set")
    assert event.data["amount"] == [4_500, 4_700]


def test_admin_plans_and_add_ons_cannot_be_deleted(staff_client):
    starter = Plan.objects.get(code="starter")
    add_on = AddOn.objects.get(code="analytics")

    assert staff_client.get(f"/admin/billing/plan/{starter.pk}/delete/").status_code == 403
    assert staff_client.get(f"/admin/billing/addon/{add_on.pk}/delete/").status_code == 403


# --- Add-ons --------------------------------------------------------------------------------


def test_admin_add_on_list_and_edit(staff_client, tenant_b):
    add_on_give(tenant_b.tenant, "extra_agents_10")
    assert entitlements_for(tenant=tenant_b.tenant).limits["agents"] == 15
    add_on = AddOn.objects.get(code="extra_agents_10")
    url = f"/admin/billing/addon/{add_on.pk}/change/"
    data = _form_data(staff_client.get(url))
    data["limit_increments"] = json.dumps({"agents": 12})

    assert len(_listed(staff_client.get("/admin/billing/addon/"))) == 5
    assert staff_client.post(url, data).status_code == 302

    assert entitlements_for(tenant=tenant_b.tenant).limits["agents"] == 17
    assert _staff_events("billing.add_on_updated")


# --- Tenant add-ons -------------------------------------------------------------------------


def test_admin_tenant_add_on_add_is_audited_and_recomputes_entitlements(staff_client, tenant_b):
    add_on = AddOn.objects.get(code="extra_agents_10")
    assert entitlements_for(tenant=tenant_b.tenant).limits["agents"] == 5

    response = staff_client.post(
        "/admin/billing/tenantaddon/add/",
        {"tenant": tenant_b.tenant.pk, "add_on": add_on.pk, "quantity": 2, "active": "on"},
    )

    assert response.status_code == 302
    assert entitlements_for(tenant=tenant_b.tenant).limits["agents"] == 25
    [public] = _staff_events("billing.add_on_changed")
    assert public.tenant_slug == "beta"
    with schema_context(tenant_b.schema):
        assert AuditEvent.objects.filter(action="billing.add_on_changed", actor_type=ActorType.STAFF).count() == 1


def test_admin_tenant_add_on_deactivate(staff_client, tenant_b):
    held = add_on_give(tenant_b.tenant, "lead_capture")
    url = f"/admin/billing/tenantaddon/{held.pk}/change/"
    data = _form_data(staff_client.get(url))
    del data["active"]

    assert staff_client.post(url, data).status_code == 302

    assert TenantAddOn.objects.get(pk=held.pk).active is False
    assert "lead_capture" not in entitlements_for(tenant=tenant_b.tenant).features


def test_admin_tenant_add_on_search_by_slug_and_filter(staff_client, tenant_a, tenant_b):
    add_on_give(tenant_a.tenant, "white_label")
    add_on_give(tenant_b.tenant, "lead_capture")
    add_on_give(tenant_b.tenant, "analytics")

    assert [held.tenant.slug for held in _listed(staff_client.get("/admin/billing/tenantaddon/?q=alpha"))] == ["alpha"]
    lead = AddOn.objects.get(code="lead_capture")
    filtered = _listed(staff_client.get(f"/admin/billing/tenantaddon/?add_on__id__exact={lead.pk}"))
    assert [(held.tenant.slug, held.add_on.code) for held in filtered] == [("beta", "lead_capture")]


# --- Overrides ------------------------------------------------------------------------------


def test_admin_override_add_records_the_staff_member(staff_client, tenant_b):
    response = staff_client.post(
        "/admin/billing/tenantentitlementoverride/add/",
        {
            "tenant": tenant_b.tenant.pk,
            "limits": json.dumps({"team_members": 8}),
            "features": json.dumps(["sso"]),
            "reason": "Pilot",
        },
    )

    assert response.status_code == 302
    override = TenantEntitlementOverride.objects.get(tenant=tenant_b.tenant)
    assert (override.created_by_type, override.created_by_label) == ("staff", "staff@agentry.test")
    entitlements = entitlements_for(tenant=tenant_b.tenant)
    assert (entitlements.limits["team_members"], "sso" in entitlements.features) == (8, True)
    assert _staff_events("billing.override_created")[0].tenant_slug == "beta"


def test_admin_override_add_refuses_unknown_limits(staff_client, tenant_b):
    response = staff_client.post(
        "/admin/billing/tenantentitlementoverride/add/",
        {"tenant": tenant_b.tenant.pk, "limits": json.dumps({"seats": 8}), "features": "[]", "reason": "Pilot"},
    )

    assert response.status_code == 200
    assert "Unknown limits: seats" in str(response.context["adminform"].form.errors)
    assert not TenantEntitlementOverride.objects.exists()


def test_admin_override_delete_one_and_in_bulk_go_through_the_service(staff_client, tenant_a, tenant_b):
    first = override_give(tenant_b.tenant, limits={"agents": 9})
    override_give(tenant_b.tenant, features=["sso"])
    override_give(tenant_a.tenant, limits={"agents": 2})
    assert entitlements_for(tenant=tenant_b.tenant).limits["agents"] == 9

    staff_client.post(f"/admin/billing/tenantentitlementoverride/{first.pk}/delete/", {"post": "yes"})
    assert entitlements_for(tenant=tenant_b.tenant).limits["agents"] == 5
    rest = TenantEntitlementOverride.objects.values_list("pk", flat=True)
    staff_client.post(
        "/admin/billing/tenantentitlementoverride/",
        {"action": "delete_selected", ACTION_CHECKBOX_NAME: list(rest), "post": "yes"},
    )

    assert not TenantEntitlementOverride.objects.exists()
    assert len(_staff_events("billing.override_deleted")) == 3
    assert entitlements_for(tenant=tenant_a.tenant).limits["agents"] == 25


def test_admin_override_search_by_slug(staff_client, tenant_a, tenant_b):
    override_give(tenant_a.tenant, limits={"agents": 2})
    override_give(tenant_b.tenant, limits={"agents": 9})

    listed = _listed(staff_client.get("/admin/billing/tenantentitlementoverride/?q=beta"))

    assert [override.tenant.slug for override in listed] == ["beta"]
