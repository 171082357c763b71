"""GET /api/v1/tenant: the caller's workspace, its plan, and its entitlements (features and limits)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import TenantApi
from billing.entitlements import Entitlements, entitlements_for
from tenants.context import current_tenant
from tenants.models import Tenant


class TenantOutput(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=["trialing", "active", "past_due", "suspended", "cancelled"])
    plan = serializers.CharField(source="plan.code")
    plan_name = serializers.CharField(source="plan.name")
    trial_ends_at = serializers.DateTimeField(allow_null=True)
    locale = serializers.CharField()
    timezone = serializers.CharField()
    currency = serializers.CharField()
    features = serializers.SerializerMethodField(
        help_text="What the workspace may use: its plan's features plus its add-ons' and any granted by staff."
    )
    limits = serializers.SerializerMethodField(
        help_text="Every limit, from the plan, add-ons (× quantity) and staff overrides; null means unlimited."
    )
    created_at = serializers.DateTimeField()

    def _entitlements(self) -> Entitlements:
        return self.context["entitlements"]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_features(self, tenant: Tenant) -> list[str]:
        return sorted(self._entitlements().features)

    @extend_schema_field(serializers.DictField(child=serializers.IntegerField(allow_null=True)))
    def get_limits(self, tenant: Tenant) -> dict[str, int | None]:
        return self._entitlements().limits


class TenantDetailApi(TenantApi):
    @extend_schema(
        operation_id="tenant_retrieve",
        responses=TenantOutput,
        tags=["Workspace"],
        summary="The caller's workspace",
        description=(
            "The workspace the key (or signed-in user) belongs to: status, plan, and what it may use. "
            "`features` and `limits` are its entitlements: the plan's, plus its add-ons (here the Lead capture "
            "add-on and one pack of 10 extra agents), plus any staff overrides."
        ),
        examples=[
            OpenApiExample(
                "A workspace on the Professional plan with two add-ons",
                response_only=True,
                value={
                    "slug": "acme",
                    "name": "Acme Corp",
                    "status": "active",
                    "plan": "professional",
                    "plan_name": "Professional",
                    "trial_ends_at": None,
                    "locale": "en",
                    "timezone": "Europe/Berlin",
                    "currency": "EUR",
                    "features": [
                        "advanced_analytics",
                        "custom_domain",
                        "email_support",
                        "lead_capture",
                        "multi_language",
                        "overage_billing",
                        "portal_analytics",
                        "webhooks",
                    ],
                    "limits": {
                        "agents": 35,
                        "api_calls_per_month": 100000,
                        "chat_messages_per_month": 20000,
                        "tokens_per_month": 20000000,
                        "team_members": 50,
                        "knowledge_storage_bytes": 10737418240,
                        "requests_per_minute": 300,
                        "burst": 600,
                    },
                    "created_at": "2026-01-12T10:03:55.000000Z",
                },
            )
        ],
    )
    def get(self, request: Request) -> Response:
        tenant = current_tenant()
        return Response(TenantOutput(tenant, context={"entitlements": entitlements_for(tenant=tenant)}).data)
