"""Catalog rows and tenant holdings made the real way (through `billing.services`)."""

from __future__ import annotations

from typing import Any

import factory

from audit.services import Actor
from billing.models import AddOn, Plan, TenantAddOn, TenantEntitlementOverride
from billing.services import add_on_save, plan_save, tenant_add_on_set, tenant_entitlement_override_create

TESTS = Actor.system("tests")


class PlanFactory(factory.Factory):
    """A public plan with every limit set (override any of them with `limits={...}`)."""

    class Meta:
        model = Plan

    code = factory.Sequence(lambda n: f"plan-{n}")
    name = factory.Sequence(lambda n: f"Plan {n}")
    limits = factory.LazyFunction(
        lambda: {
            "agents": 1,
            "api_calls_per_month": 1_000,
            "chat_messages_per_month": 100,
            "tokens_per_month": 100_000,
            "team_members": 1,
            "knowledge_storage_bytes": 1_000,
            "requests_per_minute": 10,
            "burst": 20,
        }
    )
    features = factory.LazyFunction(list)
    sort_order = 99

    @classmethod
    def _create(cls, model_class: type, **kwargs: Any) -> Plan:
        return plan_save(plan=Plan(**kwargs), actor=TESTS)


class AddOnFactory(factory.Factory):
    class Meta:
        model = AddOn

    code = factory.Sequence(lambda n: f"add-on-{n}")
    name = factory.Sequence(lambda n: f"Add-on {n}")
    features = factory.LazyFunction(list)
    limit_increments = factory.LazyFunction(lambda: {"agents": 1})
    sort_order = 99

    @classmethod
    def _create(cls, model_class: type, **kwargs: Any) -> AddOn:
        return add_on_save(add_on=AddOn(**kwargs), actor=TESTS)


def add_on_give(tenant: Any, code: str, quantity: int = 1) -> TenantAddOn:
    """Give a tenant (a Tenant row) a seeded add-on."""
    return tenant_add_on_set(tenant=tenant, add_on=AddOn.objects.get(code=code), quantity=quantity, actor=TESTS)


def add_on_path_ids(tenant: Any) -> dict[str, str]:
    """`{add_on_code}` for API path tests: an add-on the tenant holds."""
    return {"add_on_code": add_on_give(tenant, "extra_agents_10").add_on.code}


def override_give(
    tenant: Any, *, limits: dict | None = None, features: list | None = None
) -> TenantEntitlementOverride:
    return tenant_entitlement_override_create(
        tenant=tenant, limits=limits or {}, features=features or [], reason="tests", actor=TESTS
    )
