"""GET /api/v1/tenant: the caller's workspace, its plan, features and limits."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import TenantApi
from tenants.context import current_tenant


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
    features = serializers.ListField(child=serializers.CharField(), source="plan.features")
    limits = serializers.DictField(
        child=serializers.IntegerField(allow_null=True),
        source="plan.limits",
        help_text="Plan limits; null means unlimited.",
    )
    created_at = serializers.DateTimeField()


class TenantDetailApi(TenantApi):
    @extend_schema(
        operation_id="tenant_retrieve",
        responses=TenantOutput,
        tags=["Workspace"],
        summary="The caller's workspace",
        description="The workspace the key (or signed-in user) belongs to: status, plan, features and limits.",
        examples=[
            OpenApiExample(
                "A workspace on the Professional plan",
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
                    "features": ["portal_analytics", "email_support", "webhooks", "custom_domain"],
                    "limits": {
                        "agents": 25,
                        "api_calls_per_month": 100000,
                        "team_members": 50,
                        "requests_per_minute": 300,
                        "burst": 600,
                    },
                    "created_at": "2026-01-12T10:03:55.000000Z",
                },
            )
        ],
    )
    def get(self, request: Request) -> Response:
        return Response(TenantOutput(current_tenant()).data)
