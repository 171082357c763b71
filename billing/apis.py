"""Billing endpoints: GET /api/v1/plans, the subscription (get, change plan or cycle, cancel/undo,
reactivate, proration preview) and GET /api/v1/invoices. Scopes billing:read / billing:write.
The add-on endpoints are in `billing.add_on_apis`."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import TenantApi, query_param_choice
from api.pagination import CreatedCursorPagination
from api.schema import error_responses
from apikeys.scopes import Scope
from billing.backends import billing_backend
from billing.entitlements import entitlements_compute
from billing.models import (
    CYCLE_MONTHS,
    BillingCycle,
    Currency,
    InvoiceStatus,
    Plan,
    PlanPrice,
    Subscription,
    SubscriptionStatus,
)
from billing.proration import Proration
from billing.selectors import invoice_list_of_tenant, plan_get, plan_list_public, subscription_of_tenant
from billing.subscriptions import subscription_price_per_month, subscription_proration_preview
from config.errors import Conflict, DowngradeBlocked, NotFound, PaymentDeclined, ValidationFailed
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
        "chat_messages_per_month": 2000,
        "tokens_per_month": 2000000,
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


# --- Subscription, invoices, proration preview --------------------------------------------------


class PlanRefOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class SubscriptionOutput(serializers.Serializer):
    plan = PlanRefOutput()
    billing_cycle = serializers.ChoiceField(choices=BillingCycle.choices)
    currency = serializers.ChoiceField(choices=Currency.choices)
    status = serializers.ChoiceField(choices=SubscriptionStatus.choices)
    current_period_start = serializers.DateTimeField()
    current_period_end = serializers.DateTimeField(help_text="When the period (or the trial) ends.")
    trial_ends_at = serializers.DateTimeField(allow_null=True)
    cancel_at_period_end = serializers.BooleanField(help_text="Set to cancel at `current_period_end`.")
    scheduled_plan = PlanRefOutput(allow_null=True, help_text="A downgrade taking effect at period end, or null.")
    scheduled_cycle = serializers.SerializerMethodField(
        help_text="A cycle change at period end (monthly, quarterly or annual), or null."
    )
    past_due_since = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_scheduled_cycle(self, subscription: Subscription) -> str | None:
        return subscription.scheduled_cycle or None


_SUBSCRIPTION_EXAMPLE = {
    "plan": {"code": "professional", "name": "Professional"},
    "billing_cycle": "monthly",
    "currency": "USD",
    "status": "active",
    "current_period_start": "2026-03-01T09:00:00Z",
    "current_period_end": "2026-04-01T09:00:00Z",
    "trial_ends_at": None,
    "cancel_at_period_end": False,
    "scheduled_plan": None,
    "scheduled_cycle": None,
    "past_due_since": None,
}


def _subscription_or_404() -> Subscription:
    subscription = subscription_of_tenant(tenant=current_tenant())
    if subscription is None:
        raise NotFound("This workspace has no subscription.")
    return subscription


def _public_plan(code: str) -> Plan:
    plan = plan_get(code=code)
    if plan is None or not plan.is_public:
        raise ValidationFailed(f"Unknown plan “{code}”.", errors={"plan": [f"Unknown plan “{code}”."]})
    return plan


class SubscriptionApi(TenantApi):
    required_scopes = (Scope.BILLING_READ,)

    @extend_schema(
        operation_id="subscription_retrieve",
        tags=["Billing"],
        summary="Get the subscription",
        description="The workspace's plan, billing cycle, currency, status, current period and scheduled changes.",
        responses=SubscriptionOutput,
        examples=[OpenApiExample("Active on Professional", response_only=True, value=_SUBSCRIPTION_EXAMPLE)],
    )
    def get(self, request: Request) -> Response:
        return Response(SubscriptionOutput(_subscription_or_404()).data)


class SubscriptionUpgradeApi(TenantApi):
    required_scopes = (Scope.BILLING_WRITE,)

    class InputSerializer(serializers.Serializer):
        plan = serializers.SlugField(help_text="A public plan's code, as in GET /api/v1/plans.")
        billing_cycle = serializers.ChoiceField(choices=BillingCycle.choices)

    @extend_schema(
        operation_id="subscription_change_plan",
        tags=["Billing"],
        summary="Change plan or billing cycle",
        description=(
            "A plan dearer per month than the current one takes effect at once: the unused time on the old "
            "price is credited and the remaining time on the new one charged on a new invoice (preview it with "
            "GET /api/v1/subscription/proration-preview). A cheaper plan takes effect at the end of the period "
            "and is refused with `downgrade_blocked` while usage exceeds its limits. A different billing cycle "
            "takes effect at the end of the period."
        ),
        request=InputSerializer,
        responses=SubscriptionOutput,
        examples=[
            OpenApiExample("Upgrade", request_only=True, value={"plan": "enterprise", "billing_cycle": "monthly"}),
            OpenApiExample(
                "Upgraded",
                response_only=True,
                value={**_SUBSCRIPTION_EXAMPLE, "plan": {"code": "enterprise", "name": "Enterprise"}},
            ),
        ],
    )
    @error_responses(Conflict, DowngradeBlocked)
    def post(self, request: Request) -> Response:
        data = self.validated(self.InputSerializer, request.data)
        subscription = billing_backend().change_plan(
            tenant=current_tenant(),
            plan=_public_plan(data["plan"]),
            billing_cycle=data["billing_cycle"],
            actor=self.principal.actor,
        )
        return Response(SubscriptionOutput(subscription).data)


class SubscriptionCancelApi(TenantApi):
    required_scopes = (Scope.BILLING_WRITE,)

    class InputSerializer(serializers.Serializer):
        undo = serializers.BooleanField(default=False, help_text="true: keep a subscription set to cancel.")

    @extend_schema(
        operation_id="subscription_cancel",
        tags=["Billing"],
        summary="Cancel at period end, or undo",
        description=(
            "Sets the subscription to cancel at the end of the current period (the workspace works until "
            'then), or with `{"undo": true}` keeps it. Refused with `conflict` when there is nothing to do.'
        ),
        request=InputSerializer,
        responses=SubscriptionOutput,
        examples=[
            OpenApiExample("Cancel", request_only=True, value={}),
            OpenApiExample("Undo", request_only=True, value={"undo": True}),
            OpenApiExample(
                "Set to cancel", response_only=True, value={**_SUBSCRIPTION_EXAMPLE, "cancel_at_period_end": True}
            ),
        ],
    )
    @error_responses(Conflict)
    def post(self, request: Request) -> Response:
        data = self.validated(self.InputSerializer, request.data or {})
        backend, tenant, actor = billing_backend(), current_tenant(), self.principal.actor
        if data["undo"]:
            subscription = backend.undo_cancel(tenant=tenant, actor=actor)
        else:
            subscription = backend.cancel(tenant=tenant, actor=actor)
        return Response(SubscriptionOutput(subscription).data)


class SubscriptionReactivateApi(TenantApi):
    required_scopes = (Scope.BILLING_WRITE,)

    @extend_schema(
        operation_id="subscription_reactivate",
        tags=["Billing"],
        summary="Reactivate the subscription",
        description=(
            "A cancelled subscription starts again from now on the same plan, cycle and currency (local billing: "
            "with the open invoice of the new period; Stripe: the saved card is charged now). A past-due or "
            "suspended one (local billing) is settled: every open invoice is paid with the card on file now and "
            "the workspace is active again at once. A trialing or active subscription is returned unchanged. "
            "Refused with `conflict` without a card on file, and `payment_declined` (nothing charged) when the "
            "card fails."
        ),
        request=None,
        responses=SubscriptionOutput,
        examples=[OpenApiExample("Active again", response_only=True, value=_SUBSCRIPTION_EXAMPLE)],
    )
    @error_responses(Conflict, PaymentDeclined)
    def post(self, request: Request) -> Response:
        current = _subscription_or_404()
        if current.status not in (SubscriptionStatus.CANCELLED, SubscriptionStatus.PAST_DUE):
            return Response(SubscriptionOutput(current).data)  # already running: nothing to do
        subscription = billing_backend().reactivate(tenant=current_tenant(), actor=self.principal.actor)
        return Response(SubscriptionOutput(subscription).data)


class ProrationPreviewOutput(serializers.Serializer):
    plan = serializers.CharField()
    billing_cycle = serializers.ChoiceField(choices=BillingCycle.choices)
    currency = serializers.ChoiceField(choices=Currency.choices)
    change = serializers.ChoiceField(
        choices=["upgrade", "downgrade", "cycle_change"], help_text="What POST /api/v1/subscription/upgrade would do."
    )
    effective_at = serializers.DateTimeField(help_text="Now for an upgrade, else the end of the period.")
    credit = serializers.IntegerField(help_text="Minor units, ≤ 0: unused time on the current price.")
    charge = serializers.IntegerField(help_text="Minor units: remaining time on the new price.")
    amount_due_now = serializers.IntegerField(help_text="credit + charge, in minor units.")


class ProrationPreviewApi(TenantApi):
    required_scopes = (Scope.BILLING_READ,)

    class QuerySerializer(serializers.Serializer):
        plan = serializers.SlugField()
        billing_cycle = serializers.ChoiceField(choices=BillingCycle.choices)

    @extend_schema(
        operation_id="subscription_proration_preview",
        tags=["Billing"],
        summary="Preview a plan change",
        description=(
            "What changing to `plan` and `billing_cycle` would cost now, computed like the change itself "
            "(proration rule in the billing docs). Changes nothing. Downgrades and cycle changes cost "
            "nothing now: they take effect at the end of the period."
        ),
        parameters=[QuerySerializer],
        responses=ProrationPreviewOutput,
        examples=[
            OpenApiExample(
                "Half-way through a month, Starter to Professional",
                response_only=True,
                value={
                    "plan": "professional",
                    "billing_cycle": "monthly",
                    "currency": "USD",
                    "change": "upgrade",
                    "effective_at": "2026-03-16T09:00:00Z",
                    "credit": -2450,
                    "charge": 7450,
                    "amount_due_now": 5000,
                },
            )
        ],
    )
    def get(self, request: Request) -> Response:
        query = self.validated(self.QuerySerializer, request.query_params)
        subscription, plan, now = _subscription_or_404(), _public_plan(query["plan"]), timezone.now()
        change, effective_at, proration = "cycle_change", subscription.current_period_end, Proration(0, 0)
        if plan.pk != subscription.plan_id:
            upgrade = subscription_price_per_month(subscription=subscription, plan=plan) > (
                subscription_price_per_month(subscription=subscription, plan=subscription.plan)
            )
            change = "upgrade" if upgrade else "downgrade"
            if upgrade:
                effective_at = now
                proration = subscription_proration_preview(subscription=subscription, plan=plan, at=now)
        body = {
            "plan": plan.code,
            "billing_cycle": query["billing_cycle"],
            "currency": subscription.currency,
            "change": change,
            "effective_at": effective_at,
            "credit": proration.credit,
            "charge": proration.charge,
            "amount_due_now": proration.net,
        }
        return Response(ProrationPreviewOutput(body).data)


class InvoiceLineOutput(serializers.Serializer):
    description = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_amount = serializers.IntegerField(help_text="Minor units; negative for a credit.")
    amount = serializers.IntegerField(help_text="Minor units.")
    is_proration = serializers.BooleanField()


class InvoiceOutput(serializers.Serializer):
    number = serializers.CharField(help_text="e.g. AGY-2026-000042: sequential across the platform.")
    status = serializers.ChoiceField(choices=InvoiceStatus.choices)
    currency = serializers.ChoiceField(choices=Currency.choices)
    subtotal = serializers.IntegerField(help_text="Minor units.")
    tax = serializers.IntegerField(help_text="Minor units.")
    total = serializers.IntegerField(help_text="Minor units.")
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    issued_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField()
    paid_at = serializers.DateTimeField(allow_null=True)
    lines = InvoiceLineOutput(many=True)


class InvoicePagination(CreatedCursorPagination):
    ordering = ("-issued_at", "-pk")


class InvoiceListApi(TenantApi):
    required_scopes = (Scope.BILLING_READ,)
    pagination_class = InvoicePagination

    @extend_schema(
        operation_id="invoices_list",
        tags=["Billing"],
        summary="List invoices",
        description="The workspace's invoices, newest first, with their lines. Amounts are in minor units.",
        responses=InvoiceOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        return self.paginated(invoice_list_of_tenant(tenant=current_tenant()), InvoiceOutput)
