"""The entitlements service: plan + add-ons × quantity + staff overrides, cached per tenant, and the
refusals (`feature_not_in_plan`, `plan_limit_reached`) with their upgrade hints."""

from __future__ import annotations

import json

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from redis.exceptions import RedisError

from billing.entitlements import (
    entitlement_has_feature,
    entitlement_require_capacity,
    entitlement_require_feature,
    entitlements_for,
)
from billing.models import AddOn, Feature, Limit, Plan, TenantAddOn
from billing.services import (
    add_on_save,
    plan_save,
    tenant_add_on_set,
    tenant_entitlement_override_delete,
)
from billing.tests.factories import TESTS, add_on_give, override_give
from billing.tests.test_catalog import GB, ISSUE_TABLE
from config.errors import FeatureNotInPlan, PlanLimitReached
from config.problems import api_exception_handler
from tenants.models import Tenant
from tenants.services import tenant_billing_fields_update


def _on_plan(tenant_fixture, code: str) -> Tenant:
    """Move the tenant to plan `code` the way billing's services do (tenant_billing_fields_update)."""
    tenant = Tenant.objects.get(pk=tenant_fixture.tenant.pk)
    tenant.plan = Plan.objects.get(code=code)
    return tenant_billing_fields_update(tenant=tenant, changed_fields=["plan"], actor=TESTS)


# --- Per plan -------------------------------------------------------------------------------


@pytest.mark.parametrize("code", list(ISSUE_TABLE))
def test_entitlements_per_plan_are_the_plans_features_and_limits(tenant_b, code):
    entitlements = entitlements_for(tenant=_on_plan(tenant_b, code))

    assert entitlements.plan == code
    assert entitlements.features == frozenset(ISSUE_TABLE[code]["features"])
    assert entitlements.limits == ISSUE_TABLE[code]["limits"]


def test_entitlements_for_the_session_tenants(tenant_a, tenant_b):
    assert entitlements_for(tenant=tenant_a.tenant).limits[Limit.AGENTS] == 25  # professional
    assert entitlements_for(tenant=tenant_b.tenant).limits[Limit.AGENTS] == 5  # starter
    assert entitlement_has_feature(tenant=tenant_a.tenant, feature=Feature.WEBHOOKS)
    assert not entitlement_has_feature(tenant=tenant_b.tenant, feature=Feature.WEBHOOKS)


def test_entitlements_remaining_counts_down_and_unlimited_has_no_end(tenant_b):
    starter = entitlements_for(tenant=tenant_b.tenant)
    enterprise = entitlements_for(tenant=_on_plan(tenant_b, "enterprise"))

    assert [starter.remaining(Limit.AGENTS, current_usage=n) for n in (0, 4, 5, 9)] == [5, 1, 0, 0]
    assert enterprise.remaining(Limit.AGENTS, current_usage=10**6) is None


# --- Per add-on -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "limit", "expected"),
    [("extra_agents_10", Limit.AGENTS, 15), ("extra_api_calls_100k", Limit.API_CALLS_PER_MONTH, 110_000)],
)
def test_entitlements_limit_add_on_raises_the_limit(tenant_b, code, limit, expected):
    add_on_give(tenant_b.tenant, code)

    entitlements = entitlements_for(tenant=tenant_b.tenant)

    assert entitlements.limits[limit] == expected
    assert entitlements.features == frozenset(ISSUE_TABLE["starter"]["features"])


def test_entitlements_add_on_quantity_two_doubles_the_increment(tenant_b):
    add_on_give(tenant_b.tenant, "extra_agents_10", quantity=2)

    assert entitlements_for(tenant=tenant_b.tenant).limits[Limit.AGENTS] == 5 + 2 * 10


@pytest.mark.parametrize(
    ("code", "feature"),
    [
        ("lead_capture", Feature.LEAD_CAPTURE),
        ("analytics", Feature.ADVANCED_ANALYTICS),
        ("white_label", Feature.REMOVE_BRANDING),
    ],
)
def test_entitlements_feature_add_on_grants_its_feature(tenant_b, code, feature):
    assert not entitlement_has_feature(tenant=tenant_b.tenant, feature=feature)

    add_on_give(tenant_b.tenant, code)

    assert entitlement_has_feature(tenant=tenant_b.tenant, feature=feature)
    assert entitlements_for(tenant=tenant_b.tenant).limits == ISSUE_TABLE["starter"]["limits"]


def test_entitlements_unlimited_stays_unlimited_with_add_ons(tenant_b):
    tenant = _on_plan(tenant_b, "enterprise")
    add_on_give(tenant, "extra_agents_10", quantity=3)

    assert entitlements_for(tenant=tenant).limits[Limit.AGENTS] is None


def test_entitlements_inactive_add_on_grants_nothing(tenant_b):
    add_on = AddOn.objects.get(code="extra_agents_10")
    tenant_add_on_set(tenant=tenant_b.tenant, add_on=add_on, quantity=2, active=False, actor=TESTS)

    assert entitlements_for(tenant=tenant_b.tenant).limits[Limit.AGENTS] == 5


def test_entitlements_retired_add_on_still_counts_for_tenants_holding_it(tenant_b):
    add_on_give(tenant_b.tenant, "lead_capture")
    add_on = AddOn.objects.get(code="lead_capture")
    add_on.is_public = False
    add_on_save(add_on=add_on, actor=TESTS)

    assert entitlement_has_feature(tenant=tenant_b.tenant, feature=Feature.LEAD_CAPTURE)


def test_entitlements_add_ons_of_one_tenant_never_reach_another(tenant_a, tenant_b):
    add_on_give(tenant_a.tenant, "white_label")
    add_on_give(tenant_a.tenant, "extra_agents_10", quantity=4)

    assert not entitlement_has_feature(tenant=tenant_b.tenant, feature=Feature.REMOVE_BRANDING)
    assert entitlements_for(tenant=tenant_b.tenant).limits[Limit.AGENTS] == 5


# --- Staff overrides ------------------------------------------------------------------------


def test_entitlements_override_beats_plan_and_add_ons(tenant_b):
    add_on_give(tenant_b.tenant, "extra_agents_10")
    override_give(tenant_b.tenant, limits={Limit.AGENTS: 40, Limit.TEAM_MEMBERS: None}, features=[Feature.SSO])

    entitlements = entitlements_for(tenant=tenant_b.tenant)

    assert entitlements.limits[Limit.AGENTS] == 40  # not 5 + 10, nor 50
    assert entitlements.limits[Limit.TEAM_MEMBERS] is None  # null: unlimited
    assert entitlements.limits[Limit.API_CALLS_PER_MONTH] == 10_000  # untouched limits keep the plan's
    assert Feature.SSO in entitlements.features


def test_entitlements_override_can_lower_a_limit(tenant_a):
    override_give(tenant_a.tenant, limits={Limit.AGENTS: 2})

    assert entitlements_for(tenant=tenant_a.tenant).limits[Limit.AGENTS] == 2


def test_entitlements_later_override_wins(tenant_b):
    override_give(tenant_b.tenant, limits={Limit.AGENTS: 40})
    override_give(tenant_b.tenant, limits={Limit.AGENTS: 12})

    assert entitlements_for(tenant=tenant_b.tenant).limits[Limit.AGENTS] == 12


# --- Cache and its invalidation -------------------------------------------------------------


def test_entitlements_cached_costs_no_query(tenant_a, django_assert_num_queries):
    with CaptureQueriesContext(connection) as cold:
        first = entitlements_for(tenant=tenant_a.tenant)
    with django_assert_num_queries(0):
        second = entitlements_for(tenant=tenant_a.tenant)

    assert first == second
    selects = [query["sql"] for query in cold.captured_queries if query["sql"].startswith("SELECT")]
    assert len(selects) == 3  # plan, add-ons, overrides


def test_entitlements_cache_holds_until_invalidated(tenant_b):
    entitlements_for(tenant=tenant_b.tenant)
    add_on_give(tenant_b.tenant, "extra_agents_10")  # drops the entry …
    assert entitlements_for(tenant=tenant_b.tenant).limits[Limit.AGENTS] == 15

    TenantAddOn.objects.filter(tenant=tenant_b.tenant).update(quantity=3)  # … a raw update does not

    assert entitlements_for(tenant=tenant_b.tenant).limits[Limit.AGENTS] == 15


def test_entitlements_invalidated_when_the_tenants_plan_changes(tenant_b):
    assert entitlements_for(tenant=tenant_b.tenant).plan == "starter"

    _on_plan(tenant_b, "professional")

    assert entitlements_for(tenant=tenant_b.tenant).limits[Limit.AGENTS] == 25


def test_entitlements_invalidated_when_the_plan_itself_is_edited(tenant_a, tenant_b):
    assert entitlements_for(tenant=tenant_b.tenant).limits[Limit.TEAM_MEMBERS] == 5
    assert entitlements_for(tenant=tenant_a.tenant).limits[Limit.TEAM_MEMBERS] == 50

    starter = Plan.objects.get(code="starter")
    starter.limits = {**starter.limits, Limit.TEAM_MEMBERS: 7}
    plan_save(plan=starter, actor=TESTS)

    assert entitlements_for(tenant=tenant_b.tenant).limits[Limit.TEAM_MEMBERS] == 7
    assert entitlements_for(tenant=tenant_a.tenant).limits[Limit.TEAM_MEMBERS] == 50


def test_entitlements_invalidated_when_a_held_add_on_is_edited(tenant_b):
    add_on_give(tenant_b.tenant, "extra_agents_10", quantity=2)
    assert entitlements_for(tenant=tenant_b.tenant).limits[Limit.AGENTS] == 25

    add_on = AddOn.objects.get(code="extra_agents_10")
    add_on.limit_increments = {Limit.AGENTS: 20}
    add_on_save(add_on=add_on, actor=TESTS)

    assert entitlements_for(tenant=tenant_b.tenant).limits[Limit.AGENTS] == 45


def test_entitlements_invalidated_when_an_add_on_is_deactivated(tenant_b):
    add_on_give(tenant_b.tenant, "lead_capture")
    assert entitlement_has_feature(tenant=tenant_b.tenant, feature=Feature.LEAD_CAPTURE)

    tenant_add_on_set(tenant=tenant_b.tenant, add_on=AddOn.objects.get(code="lead_capture"), active=False, actor=TESTS)

    assert not entitlement_has_feature(tenant=tenant_b.tenant, feature=Feature.LEAD_CAPTURE)


def test_entitlements_invalidated_when_an_override_is_created_or_deleted(tenant_b):
    assert entitlements_for(tenant=tenant_b.tenant).limits[Limit.AGENTS] == 5

    override = override_give(tenant_b.tenant, limits={Limit.AGENTS: 9})
    assert entitlements_for(tenant=tenant_b.tenant).limits[Limit.AGENTS] == 9

    tenant_entitlement_override_delete(override=override, actor=TESTS)
    assert entitlements_for(tenant=tenant_b.tenant).limits[Limit.AGENTS] == 5


def test_entitlements_invalidated_when_the_tenant_row_is_saved_outside_the_services(tenant_b):
    entitlements_for(tenant=tenant_b.tenant)
    tenant = Tenant.objects.get(pk=tenant_b.tenant.pk)
    tenant.plan = Plan.objects.get(code="enterprise")

    tenant.save()  # a shell or data-migration write: the post_save signal drops the entry

    assert entitlements_for(tenant=tenant_b.tenant).plan == "enterprise"


def test_entitlements_ignore_a_stale_tenant_instance(tenant_b):
    stale = Tenant.objects.get(pk=tenant_b.tenant.pk)  # e.g. one from the routing cache
    _on_plan(tenant_b, "enterprise")

    assert entitlements_for(tenant=stale).plan == "enterprise"


def test_entitlements_without_redis_come_from_the_database(tenant_b, monkeypatch):
    add_on_give(tenant_b.tenant, "extra_agents_10")

    def unavailable(*args, **kwargs):
        raise RedisError("down")

    monkeypatch.setattr(caches["routing"], "get", unavailable)
    monkeypatch.setattr(caches["routing"], "delete_many", unavailable)

    assert entitlements_for(tenant=tenant_b.tenant).limits[Limit.AGENTS] == 15
    add_on_give(tenant_b.tenant, "extra_agents_10", quantity=2)  # invalidation fails quietly, logged
    assert entitlements_for(tenant=tenant_b.tenant).limits[Limit.AGENTS] == 25


# --- Refusals -------------------------------------------------------------------------------


def test_require_feature_passes_when_the_tenant_has_it(tenant_a):
    entitlement_require_feature(tenant=tenant_a.tenant, feature=Feature.WEBHOOKS)


@pytest.mark.parametrize(
    ("feature", "plan", "add_on"),
    [
        (Feature.WEBHOOKS, "professional", None),
        (Feature.SSO, "enterprise", None),
        (Feature.REMOVE_BRANDING, "enterprise", "white_label"),
        (Feature.ADVANCED_ANALYTICS, "professional", "analytics"),
        (Feature.LEAD_CAPTURE, None, "lead_capture"),
    ],
)
def test_require_feature_refuses_with_the_cheapest_upgrade(tenant_b, feature, plan, add_on):
    with pytest.raises(FeatureNotInPlan) as refused:
        entitlement_require_feature(tenant=tenant_b.tenant, feature=feature)

    error = refused.value
    assert (error.code, error.status) == ("feature_not_in_plan", 403)
    assert error.extra["feature"] == feature
    assert (error.extra["upgrade_plan"] or {}).get("code") == plan
    assert (error.extra["upgrade_add_on"] or {}).get("code") == add_on
    assert Feature(feature).label in error.detail


def test_require_feature_hint_skips_non_public_plans(tenant_b):
    Plan.objects.filter(code="professional").update(is_public=False)

    with pytest.raises(FeatureNotInPlan) as refused:
        entitlement_require_feature(tenant=tenant_b.tenant, feature=Feature.WEBHOOKS)

    assert refused.value.extra["upgrade_plan"] == {"code": "enterprise", "name": "Enterprise"}


def test_require_capacity_passes_up_to_the_limit(tenant_b):
    entitlement_require_capacity(tenant=tenant_b.tenant, limit=Limit.AGENTS, current_usage=4)
    entitlement_require_capacity(tenant=tenant_b.tenant, limit=Limit.AGENTS, current_usage=0, adding=5)


def test_require_capacity_refuses_past_the_limit_with_limit_usage_and_hints(tenant_b):
    with pytest.raises(PlanLimitReached) as refused:
        entitlement_require_capacity(tenant=tenant_b.tenant, limit=Limit.AGENTS, current_usage=5)

    error = refused.value
    assert (error.code, error.status) == ("plan_limit_reached", 403)
    assert error.extra == {
        "limit": "agents",
        "allowed": 5,
        "current_usage": 5,
        "requested": 1,
        "upgrade_plan": {"code": "professional", "name": "Professional"},
        "upgrade_add_on": {"code": "extra_agents_10", "name": "10 extra agents"},
    }
    assert error.detail == (
        "This workspace's limit of 5 agents is reached (5 in use). "
        "Upgrade to Professional, or add the 10 extra agents add-on."
    )


def test_require_capacity_hint_is_a_plan_that_fits_the_need(tenant_b):
    with pytest.raises(PlanLimitReached) as refused:
        entitlement_require_capacity(tenant=tenant_b.tenant, limit=Limit.AGENTS, current_usage=30)

    assert refused.value.extra["upgrade_plan"]["code"] == "enterprise"  # professional's 25 would not do


def test_require_capacity_without_an_upgrade_says_contact_us(tenant_b):
    tenant = _on_plan(tenant_b, "enterprise")

    with pytest.raises(PlanLimitReached) as refused:
        entitlement_require_capacity(
            tenant=tenant, limit=Limit.KNOWLEDGE_STORAGE_BYTES, current_usage=100 * GB, adding=1
        )

    assert refused.value.extra["upgrade_plan"] is None
    assert refused.value.extra["upgrade_add_on"] is None
    assert refused.value.detail.endswith("Contact us to raise it.")
    assert "100.0\xa0GB of knowledge storage" in refused.value.detail


def test_require_capacity_unlimited_never_refuses(tenant_b):
    tenant = _on_plan(tenant_b, "enterprise")

    entitlement_require_capacity(tenant=tenant, limit=Limit.AGENTS, current_usage=10**9, adding=10**6)


def test_require_capacity_counts_add_ons_and_overrides(tenant_b):
    add_on_give(tenant_b.tenant, "extra_agents_10")
    entitlement_require_capacity(tenant=tenant_b.tenant, limit=Limit.AGENTS, current_usage=14)

    override_give(tenant_b.tenant, limits={Limit.AGENTS: 3})
    with pytest.raises(PlanLimitReached):
        entitlement_require_capacity(tenant=tenant_b.tenant, limit=Limit.AGENTS, current_usage=3)


@pytest.mark.parametrize(
    "error",
    [
        FeatureNotInPlan("Nope.", extra={"feature": "sso", "upgrade_plan": None, "upgrade_add_on": None}),
        PlanLimitReached("Full.", extra={"limit": "agents", "allowed": 5, "current_usage": 5, "requested": 1}),
    ],
)
def test_refusals_become_problem_json_with_their_members(error):
    response = api_exception_handler(error, {"request": None})

    body = json.loads(json.dumps(response.data))
    assert (response.status_code, body["code"]) == (403, error.code)
    assert body["type"].endswith(f"#{error.code}")
    assert {key: body[key] for key in error.extra} == error.extra
