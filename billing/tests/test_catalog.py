"""The seeded catalog is the issue's table, and catalog rows refuse data the entitlements cannot use."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from billing.models import AddOn, BillingCycle, Currency, Plan, PlanPrice
from billing.selectors import plan_list_public
from billing.services import plan_save
from billing.tests.factories import TESTS, AddOnFactory, PlanFactory
from config.errors import ValidationFailed

GB = 1024**3

# Issue 5, "Catalog and entitlements": the default catalog.
ISSUE_TABLE: dict[str, dict[str, Any]] = {
    "starter": {
        "usd_monthly": 4_900,
        "limits": {
            "agents": 5,
            "api_calls_per_month": 10_000,
            "chat_messages_per_month": 2_000,
            "tokens_per_month": 2_000_000,
            "team_members": 5,
            "knowledge_storage_bytes": 1 * GB,
            "requests_per_minute": 60,
            "burst": 120,
        },
        "sla": "99.0%",
        "features": {"portal_analytics", "email_support"},
    },
    "professional": {
        "usd_monthly": 14_900,
        "limits": {
            "agents": 25,
            "api_calls_per_month": 100_000,
            "chat_messages_per_month": 20_000,
            "tokens_per_month": 20_000_000,
            "team_members": 50,
            "knowledge_storage_bytes": 10 * GB,
            "requests_per_minute": 300,
            "burst": 600,
        },
        "sla": "99.5%",
        "features": {"portal_analytics", "email_support"}
        | {"webhooks", "custom_domain", "multi_language", "advanced_analytics", "overage_billing"},
    },
    "enterprise": {
        "usd_monthly": 49_900,
        "limits": {
            "agents": None,
            "api_calls_per_month": None,
            "chat_messages_per_month": None,
            "tokens_per_month": None,
            "team_members": None,
            "knowledge_storage_bytes": 100 * GB,
            "requests_per_minute": 1_000,
            "burst": 2_000,
        },
        "sla": "99.9%",
        "features": {"portal_analytics", "email_support"}
        | {"webhooks", "custom_domain", "multi_language", "advanced_analytics", "overage_billing"}
        | {"sso", "remove_branding", "custom_limits", "audit_export"},
    },
}
# Quarterly 5% off 3 × monthly, annual 17% off 12 × monthly.
DISCOUNTS = {BillingCycle.QUARTERLY: (3, Decimal("0.95")), BillingCycle.ANNUAL: (12, Decimal("0.83"))}


def _prices(plan: Plan) -> dict[tuple[str, str], int]:
    return {(price.billing_cycle, price.currency): price.amount for price in plan.prices.all()}


def _discounted(monthly: int, months: int, factor: Decimal) -> int:
    return int((Decimal(monthly) * months * factor).quantize(Decimal(1), rounding=ROUND_HALF_UP))


# --- Seed data ------------------------------------------------------------------------------


def test_seed_plans_match_the_issue_table(db):
    plans = {plan.code: plan for plan in plan_list_public()}

    assert list(plans) == ["starter", "professional", "enterprise"]
    for code, expected in ISSUE_TABLE.items():
        plan = plans[code]
        assert plan.limits == expected["limits"], code
        assert set(plan.features) == expected["features"], code
        assert plan.sla == expected["sla"], code
        assert _prices(plan)[(BillingCycle.MONTHLY, Currency.USD)] == expected["usd_monthly"], code
        assert plan.monthly_price == expected["usd_monthly"] / 100


def test_seed_prices_exist_for_every_cycle_and_currency(db):
    for plan in plan_list_public():
        assert set(_prices(plan)) == {(cycle, currency) for cycle in BillingCycle for currency in Currency}


@pytest.mark.parametrize("currency", Currency.values)
@pytest.mark.parametrize("cycle", list(DISCOUNTS))
def test_seed_prices_apply_the_cycle_discounts(db, cycle, currency):
    months, factor = DISCOUNTS[cycle]
    for plan in plan_list_public():
        prices = _prices(plan)
        monthly = prices[(BillingCycle.MONTHLY, currency)]
        assert prices[(cycle, currency)] == _discounted(monthly, months, factor), (plan.code, cycle, currency)


def test_seed_prices_worked_example_starter_usd(db):
    prices = _prices(Plan.objects.get(code="starter"))

    assert prices[(BillingCycle.QUARTERLY, Currency.USD)] == 13_965  # 3 × $49 = $147, 5% off = $139.65
    assert prices[(BillingCycle.ANNUAL, Currency.USD)] == 48_804  # 12 × $49 = $588, 17% off = $488.04


def test_seed_prices_other_currencies_are_round_conversions(db):
    for plan in plan_list_public():
        prices = _prices(plan)
        usd = prices[(BillingCycle.MONTHLY, Currency.USD)]
        eur, sar = prices[(BillingCycle.MONTHLY, Currency.EUR)], prices[(BillingCycle.MONTHLY, Currency.SAR)]
        assert eur % 100 == 0 and sar % 100 == 0, plan.code  # whole euros and riyals
        assert 0.85 <= eur / usd <= 0.95, plan.code
        assert 3.7 <= sar / usd <= 3.8, plan.code  # the riyal is pegged at 3.75


def test_seed_add_ons_grant_what_the_brief_says(db):
    add_ons = {add_on.code: add_on for add_on in AddOn.objects.prefetch_related("prices")}

    assert {code: (a.features, a.limit_increments) for code, a in add_ons.items()} == {
        "extra_agents_10": ([], {"agents": 10}),
        "extra_api_calls_100k": ([], {"api_calls_per_month": 100_000}),
        "lead_capture": (["lead_capture"], {}),
        "analytics": (["advanced_analytics"], {}),
        "white_label": (["remove_branding"], {}),
    }
    for add_on in add_ons.values():
        assert {price.currency for price in add_on.prices.all()} == set(Currency.values), add_on.code
        assert all(price.amount > 0 for price in add_on.prices.all())


# --- Validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limits", "problem"),
    [
        ({"agents": 1}, "Missing limits"),
        ({**ISSUE_TABLE["starter"]["limits"], "seats": 3}, "Unknown limits: seats"),
        ({**ISSUE_TABLE["starter"]["limits"], "agents": -1}, "0 or more"),
        ({**ISSUE_TABLE["starter"]["limits"], "agents": True}, "0 or more"),
        ({**ISSUE_TABLE["starter"]["limits"], "agents": "5"}, "0 or more"),
        ({**ISSUE_TABLE["starter"]["limits"], "requests_per_minute": None}, "cannot be unlimited"),
        ({**ISSUE_TABLE["starter"]["limits"], "burst": 0}, "cannot be unlimited"),
    ],
)
def test_plan_save_refuses_limits_the_entitlements_cannot_use(db, limits, problem):
    with pytest.raises(ValidationFailed) as refused:
        PlanFactory(limits=limits)

    assert problem in str(refused.value.errors["limits"])


def test_plan_save_refuses_unknown_or_repeated_features(db):
    with pytest.raises(ValidationFailed, match="Unknown features: teleport"):
        PlanFactory(features=["teleport"])
    with pytest.raises(ValidationFailed, match="listed twice"):
        PlanFactory(features=["sso", "sso"])


def test_add_on_save_refuses_empty_or_unlimited_grants(db):
    with pytest.raises(ValidationFailed, match="at least one"):
        AddOnFactory(features=[], limit_increments={})
    with pytest.raises(ValidationFailed, match="1 or more"):
        AddOnFactory(limit_increments={"agents": None})
    with pytest.raises(ValidationFailed, match="1 or more"):
        AddOnFactory(limit_increments={"agents": 0})


def test_plan_price_is_unique_per_plan_cycle_and_currency(db):
    from billing.services import catalog_price_save

    starter = Plan.objects.get(code="starter")
    duplicate = PlanPrice(plan=starter, billing_cycle=BillingCycle.MONTHLY, currency=Currency.USD, amount=1)

    with pytest.raises(ValidationFailed):
        catalog_price_save(price=duplicate, actor=TESTS)


def test_plan_save_keeps_existing_rows_valid(db):
    for plan in Plan.objects.all():
        plan_save(plan=plan, actor=TESTS)  # the seeded catalog passes its own validation
