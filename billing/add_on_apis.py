"""Add-on endpoints: GET /api/v1/add-ons, POST /api/v1/add-ons/{code}/purchase and …/cancel.

Scopes billing:read / billing:write. The work is the billing backend's (`purchase_add_on`,
`cancel_add_on`); these views only translate.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import TenantApi
from api.schema import error_responses
from apikeys.scopes import Scope
from billing.add_ons import MAX_ADD_ON_QUANTITY
from billing.backends import billing_backend
from billing.models import AddOn, BillingCycle, Currency
from billing.selectors import AddOnOffer, add_on_get_for_tenant, add_on_offers_for_tenant
from config.errors import Conflict, NotFound, PaymentProviderError
from tenants.context import current_tenant


class AddOnPriceOutput(serializers.Serializer):
    currency = serializers.ChoiceField(choices=Currency.choices)
    billing_cycle = serializers.ChoiceField(choices=BillingCycle.choices)
    amount_per_month = serializers.IntegerField(help_text="One unit for one month, in minor units.")
    amount_per_cycle = serializers.IntegerField(help_text="One unit for one billing cycle, in minor units.")


class AddOnOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    features = serializers.ListField(child=serializers.CharField(), help_text="Feature codes it grants.")
    limit_increments = serializers.DictField(
        child=serializers.IntegerField(), help_text="What it adds to each limit, per unit of quantity."
    )
    price = serializers.SerializerMethodField(
        help_text="In the subscription's currency and cycle; null when the add-on is not sold in that currency."
    )
    active = serializers.BooleanField(help_text="Whether the workspace holds it now.")
    quantity = serializers.IntegerField(help_text="Units held (0 when not active).")

    @extend_schema_field(AddOnPriceOutput(allow_null=True))
    def get_price(self, row: dict[str, Any]) -> dict[str, Any] | None:
        return row["price"]


def _row(offer: AddOnOffer) -> dict[str, Any]:
    add_on, price = offer.add_on, offer.price
    return {
        "code": add_on.code,
        "name": add_on.name,
        "description": add_on.description,
        "features": add_on.features,
        "limit_increments": add_on.limit_increments,
        "price": None
        if price is None
        else {
            "currency": price.currency,
            "billing_cycle": offer.billing_cycle,
            "amount_per_month": price.amount,
            "amount_per_cycle": offer.amount_per_cycle,
        },
        "active": offer.is_active,
        "quantity": offer.held.quantity if offer.held else 0,
    }


_EXAMPLE = {
    "code": "extra_agents_10",
    "name": "10 extra agents",
    "description": "Ten more agents on top of your plan.",
    "features": [],
    "limit_increments": {"agents": 10},
    "price": {"currency": "USD", "billing_cycle": "monthly", "amount_per_month": 2900, "amount_per_cycle": 2900},
    "active": True,
    "quantity": 1,
}


def _offer_row(code: str) -> dict[str, Any]:
    offer = next(o for o in add_on_offers_for_tenant(tenant=current_tenant()) if o.add_on.code == code)
    return _row(offer)


def _add_on_or_404(code: str) -> AddOn:
    add_on = add_on_get_for_tenant(tenant=current_tenant(), code=code)
    if add_on is None:
        raise NotFound(f"There is no add-on “{code}”.")
    return add_on


class AddOnListApi(TenantApi):
    required_scopes = (Scope.BILLING_READ,)

    @extend_schema(
        operation_id="add_ons_list",
        tags=["Billing"],
        summary="List add-ons",
        description=(
            "The add-on catalog (the public add-ons, and any the workspace still holds), in display order, "
            "priced in the subscription's currency and billing cycle, with what each grants and whether the "
            "workspace holds it."
        ),
        responses=AddOnOutput(many=True),
        examples=[OpenApiExample("One pack held", response_only=True, value=[_EXAMPLE])],
    )
    def get(self, request: Request) -> Response:
        rows = [_row(offer) for offer in add_on_offers_for_tenant(tenant=current_tenant())]
        return Response(AddOnOutput(rows, many=True).data)


class AddOnPurchaseOutput(AddOnOutput):
    invoice = serializers.CharField(
        allow_null=True,
        help_text="The number of the prorated invoice for the rest of the period, or null (always with Stripe).",
    )


class AddOnPurchaseApi(TenantApi):
    required_scopes = (Scope.BILLING_WRITE,)

    class InputSerializer(serializers.Serializer):
        quantity = serializers.IntegerField(min_value=1, max_value=MAX_ADD_ON_QUANTITY, default=1)

    @extend_schema(
        operation_id="add_ons_purchase",
        tags=["Billing"],
        summary="Buy an add-on",
        description=(
            "Adds the add-on now: what it grants counts at once. On a paid subscription the rest of the current "
            "period is charged at once on a new invoice (prorated to the second); during a trial nothing is "
            "charged until the first invoice. Every renewal invoice then bills it. With Stripe billing the add-on "
            "becomes an item of the Stripe subscription and Stripe bills the prorated rest of the period on the "
            "next invoice (`invoice` is null). Refused with `conflict` when it is already held (remove it first "
            "to change the quantity), retired, or the subscription is cancelled (with Stripe also: no Stripe "
            "subscription yet, or a plan change scheduled); `validation_error` when it is not sold in the "
            "subscription's currency."
        ),
        request=InputSerializer,
        responses={201: AddOnPurchaseOutput},
        examples=[
            OpenApiExample("Two packs", request_only=True, value={"quantity": 2}),
            OpenApiExample(
                "Bought", response_only=True, value={**_EXAMPLE, "quantity": 2, "invoice": "AGY-2026-000042"}
            ),
        ],
    )
    @error_responses(Conflict, NotFound, PaymentProviderError)
    def post(self, request: Request, code: str) -> Response:
        data = self.validated(self.InputSerializer, request.data or {})
        _, invoice = billing_backend().purchase_add_on(
            tenant=current_tenant(), add_on=_add_on_or_404(code), quantity=data["quantity"], actor=self.principal.actor
        )
        body = {**_offer_row(code), "invoice": invoice.number if invoice else None}
        return Response(AddOnPurchaseOutput(body).data, status=201)


class AddOnCancelApi(TenantApi):
    required_scopes = (Scope.BILLING_WRITE,)

    @extend_schema(
        operation_id="add_ons_cancel",
        tags=["Billing"],
        summary="Remove an add-on",
        description=(
            "Removes the add-on now: what it granted stops at once, and later renewal invoices no longer bill "
            "it. What was already invoiced is not refunded (with Stripe billing: the subscription item is deleted "
            "without proration). Refused with `conflict` when it is not held."
        ),
        request=None,
        responses=AddOnOutput,
        examples=[OpenApiExample("Removed", response_only=True, value={**_EXAMPLE, "active": False, "quantity": 0})],
    )
    @error_responses(Conflict, NotFound, PaymentProviderError)
    def post(self, request: Request, code: str) -> Response:
        billing_backend().cancel_add_on(
            tenant=current_tenant(), add_on=_add_on_or_404(code), actor=self.principal.actor
        )
        return Response(AddOnOutput(_offer_row(code)).data)
