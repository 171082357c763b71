"""Billing writes: validated, audited in public (with tenant_slug) and in the tenant's own trail."""

from __future__ import annotations

import pytest
from django_tenants.utils import get_public_schema_name, schema_context

from audit.models import AuditEvent
from billing.models import AddOn, BillingCycle, Currency, Plan, PlanPrice, TenantAddOn
from billing.services import (
    catalog_price_delete,
    catalog_price_save,
    plan_save,
    tenant_add_on_set,
    tenant_entitlement_override_create,
    tenant_entitlement_override_delete,
)
from billing.tests.factories import TESTS, add_on_give, override_give
from config.errors import ValidationFailed


def _public_events(action: str) -> list[AuditEvent]:
    with schema_context(get_public_schema_name()):
        return list(AuditEvent.objects.filter(action=action).order_by("id"))


def _tenant_events(tenant_fixture, action: str) -> list[AuditEvent]:
    with schema_context(tenant_fixture.schema):
        return list(AuditEvent.objects.filter(action=action).order_by("id"))


# --- Tenant add-ons -------------------------------------------------------------------------


def test_tenant_add_on_set_is_audited_in_public_and_in_the_tenant(tenant_a, tenant_b):
    held = add_on_give(tenant_b.tenant, "extra_agents_10", quantity=2)

    [public] = _public_events("billing.add_on_changed")
    [own] = _tenant_events(tenant_b, "billing.add_on_changed")
    assert public.tenant_slug == "beta"
    assert public.data == own.data == {"add_on": "extra_agents_10", "quantity": [0, 2], "active": [False, True]}
    assert (own.target_type, own.target_id) == ("billing.tenantaddon", str(held.pk))
    assert _tenant_events(tenant_a, "billing.add_on_changed") == []


def test_tenant_add_on_set_again_updates_the_one_row(tenant_b):
    add_on = AddOn.objects.get(code="extra_agents_10")
    first = tenant_add_on_set(tenant=tenant_b.tenant, add_on=add_on, quantity=1, actor=TESTS)
    tenant_add_on_set(tenant=tenant_b.tenant, add_on=add_on, quantity=1, active=False, actor=TESTS)
    again = tenant_add_on_set(tenant=tenant_b.tenant, add_on=add_on, quantity=3, actor=TESTS)

    assert again.pk == first.pk
    assert TenantAddOn.objects.filter(tenant=tenant_b.tenant).count() == 1
    assert [event.data["quantity"] for event in _public_events("billing.add_on_changed")] == [[0, 1], [1, 1], [1, 3]]


def test_tenant_add_on_set_without_a_change_records_nothing(tenant_b):
    add_on_give(tenant_b.tenant, "lead_capture")
    add_on_give(tenant_b.tenant, "lead_capture")

    assert len(_public_events("billing.add_on_changed")) == 1


def test_tenant_add_on_set_refuses_a_quantity_below_one(tenant_b):
    with pytest.raises(ValidationFailed) as refused:
        add_on_give(tenant_b.tenant, "extra_agents_10", quantity=0)

    assert "quantity" in refused.value.errors
    assert not TenantAddOn.objects.filter(tenant=tenant_b.tenant).exists()


# --- Overrides ------------------------------------------------------------------------------


def test_override_create_records_who_and_why_and_audits_both_trails(tenant_b):
    override = tenant_entitlement_override_create(
        tenant=tenant_b.tenant,
        limits={"agents": 40},
        features=["sso"],
        reason="  Pilot agreed with sales  ",
        actor=TESTS,
    )

    assert (override.reason, override.created_by_type, override.created_by_label) == (
        "Pilot agreed with sales",
        "system",
        "tests",
    )
    [public] = _public_events("billing.override_created")
    [own] = _tenant_events(tenant_b, "billing.override_created")
    assert public.tenant_slug == "beta"
    assert own.data == {"limits": {"agents": 40}, "features": ["sso"], "reason": "Pilot agreed with sales"}


@pytest.mark.parametrize(
    ("limits", "features", "reason", "field"),
    [
        ({"seats": 3}, [], "why", "limits"),
        ({"agents": -1}, [], "why", "limits"),
        ({}, ["teleport"], "why", "features"),
        ({}, [], "why", "__all__"),
        ({"agents": 3}, [], "   ", "reason"),
    ],
)
def test_override_create_refuses_bad_input(tenant_b, limits, features, reason, field):
    with pytest.raises(ValidationFailed) as refused:
        tenant_entitlement_override_create(
            tenant=tenant_b.tenant, limits=limits, features=features, reason=reason, actor=TESTS
        )

    assert field in refused.value.errors
    assert _public_events("billing.override_created") == []


def test_override_delete_is_audited_with_what_it_granted(tenant_b):
    override = override_give(tenant_b.tenant, limits={"agents": 9})

    tenant_entitlement_override_delete(override=override, actor=TESTS)

    [own] = _tenant_events(tenant_b, "billing.override_deleted")
    assert own.data["limits"] == {"agents": 9}
    assert _public_events("billing.override_deleted")[0].tenant_slug == "beta"


# --- Catalog --------------------------------------------------------------------------------


def test_plan_save_audits_what_changed(db):
    starter = Plan.objects.get(code="starter")
    starter.sla = "99.2%"
    plan_save(plan=starter, actor=TESTS)
    plan_save(plan=starter, actor=TESTS)  # nothing changed: nothing recorded

    [event] = _public_events("billing.plan_updated")
    assert event.data == {"changes": {"sla": ["99.0%", "99.2%"]}}
    assert event.tenant_slug == ""


def test_catalog_price_save_and_delete_are_audited(db):
    starter = Plan.objects.get(code="starter")
    price = PlanPrice.objects.get(plan=starter, billing_cycle=BillingCycle.MONTHLY, currency=Currency.EUR)
    price.amount = 4_700
    catalog_price_save(price=price, actor=TESTS)
    catalog_price_delete(price=price, actor=TESTS)

    [saved] = _public_events("billing.price_set")
    [deleted] = _public_events("billing.price_deleted")
    assert saved.data["amount"] == [4_500, 4_700]
    assert (saved.target_type, saved.target_id) == ("billing.plan", str(starter.pk))
    assert deleted.data["amount"] == 4_700
    assert not PlanPrice.objects.filter(pk=price.pk).exists()
