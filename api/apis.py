"""GET /api/v1/me: who is calling, and with which scopes."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import TenantApi


class MeOutput(serializers.Serializer):
    type = serializers.ChoiceField(choices=["api_key", "user"])
    id = serializers.CharField()
    name = serializers.CharField(help_text="The key's name or the user's email.")
    scopes = serializers.ListField(child=serializers.CharField())
    role = serializers.CharField(allow_null=True, help_text="The user's role (null for API keys).")
    tenant = serializers.CharField(help_text="The workspace slug.")


class MeApi(TenantApi):
    @extend_schema(
        operation_id="me_retrieve",
        responses=MeOutput,
        tags=["Workspace"],
        summary="The caller",
        description="The API key or signed-in user making the request, with the scopes it holds.",
        examples=[
            OpenApiExample(
                "An API key",
                response_only=True,
                value={
                    "type": "api_key",
                    "id": "key_7QbX2mTz9LwK4rVn",
                    "name": "CRM sync",
                    "scopes": ["agents:read", "usage:read"],
                    "role": None,
                    "tenant": "acme",
                },
            )
        ],
    )
    def get(self, request: Request) -> Response:
        principal = self.principal
        return Response(
            MeOutput(
                {
                    "type": principal.kind,
                    "id": principal.id,
                    "name": principal.label,
                    "scopes": sorted(principal.scopes),
                    "role": principal.user.role if principal.user else None,
                    "tenant": request.tenant.slug,  # type: ignore[attr-defined]
                }
            ).data
        )
