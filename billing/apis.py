"""GET /api/v1/plans (scope billing:read): the public plans, their prices, limits and features."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import TenantApi, query_param_choice
from apikeys.scopes import Scope
from billing.entitlements import entitlements_compute
from billing.models import CYCLE_MONTHS, BillingCycle, Currency, Plan, PlanPrice
from billing.selectors import plan_list_public
from tenants.context import current_tenant

CURRENCIES = tuple(Currency.values)


class PlanPriceOutput(serializers.Serializer):
    billing_cycle = serializers.ChoiceField(choices=BillingCycle.choices)
    months = serializers.SerializerMethodField(help_text="Months one billing cycle covers: 1, 3 or 12.")
    currency = serializers.ChoiceField(choices=Currency.choices)
    amount = serializers.IntegerField(help_text="Price per billing cycle in minor units (cents; halalas for SAR).")

    def get_months(self, price: PlanPrice) -> int:
        return CYCLE_MONTHS[price.billing_cycle]


class PlanOutput(serializers.Serializer):
    code = serializers.CharField(help_text="What `plan` in GET /api/v1/tenant holds.")
    name = serializers.CharField()
    description = serializers.CharField()
    sla = serializers.CharField(help_text="Monthly uptime commitment, e.g. `99.5%`.")
    is_current = serializers.SerializerMethodField(help_text="Whether the caller's workspace is on this plan.")
    features = serializers.ListField(child=serializers.CharField(), help_text="Feature codes, in display order.")
    limits = serializers.SerializerMethodField(
        help_text="Every limit of the plan alone (add-ons and overrides come on top); null means unlimited."
    )
    prices = serializers.SerializerMethodField(
        help_text="One price per billing cycle and currency: monthly, quarterly (5% off) and annual (17% off)."
    )

    def get_is_current(self, plan: Plan) -> bool:
        return bool(plan.pk == self.context["current_plan_id"])

    @extend_schema_field(serializers.DictField(child=serializers.IntegerField(allow_null=True)))
    def get_limits(self, plan: Plan) -> dict[str, int | None]:
        return entitlements_compute(plan=plan, add_ons=(), overrides=()).limits

    @extend_schema_field(PlanPriceOutput(many=True))
    def get_prices(self, plan: Plan) -> list[dict[str, Any]]:
        currency = self.context["currency"]
        prices = [price for price in plan.prices.all() if currency in (None, price.currency)]
        prices.sort(key=lambda price: (CURRENCIES.index(price.currency), CYCLE_MONTHS[price.billing_cycle]))
        return list(PlanPriceOutput(prices, many=True).data)


_STARTER_EXAMPLE = {
    "code": "starter",
    "name": "Starter",
    "description": "For small teams putting their first agents to work.",
    "sla": "99.0%",
    "is_current": True,
    "features": ["portal_analytics", "email_support"],
    "limits": {
        "agents": 5,
        "api_calls_per_month": 10000,
        "team_members": 5,
        "knowledge_storage_bytes": 1073741824,
        "requests_per_minute": 60,
        "burst": 120,
    },
    "prices": [
        {"billing_cycle": "monthly", "months": 1, "currency": "USD", "amount": 4900},
        {"billing_cycle": "quarterly", "months": 3, "currency": "USD", "amount": 13965},
        {"billing_cycle": "annual", "months": 12, "currency": "USD", "amount": 48804},
    ],
}


class PlanListApi(TenantApi):
    required_scopes = (Scope.BILLING_READ,)

    @extend_schema(
        operation_id="plans_list",
        tags=["Billing"],
        summary="List plans",
        description=(
            "The public plans, in display order, with their prices in every billing cycle and currency, "
            "their limits and their features. `is_current` marks the caller's plan (a workspace on a "
            "custom, non-public plan finds none marked). What the workspace itself may use, add-ons "
            "included, is in GET /api/v1/tenant."
        ),
        parameters=[
            OpenApiParameter("currency", enum=CURRENCIES, description="Only prices in this currency."),
        ],
        responses=PlanOutput(many=True),
        examples=[OpenApiExample("Starter, prices in US dollars", response_only=True, value=[_STARTER_EXAMPLE])],
    )
    def get(self, request: Request) -> Response:
        currency = query_param_choice(request, "currency", CURRENCIES)
        context = {"current_plan_id": current_tenant().plan_id, "currency": currency}
        return Response(PlanOutput(plan_list_public(), many=True, context=context).data)
