"""/api/v1/api-keys: list, create, read, rotate, revoke (scope keys:manage)."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import TenantApi, query_param_choice
from api.pagination import CreatedCursorPagination
from apikeys.models import ApiKey
from apikeys.scopes import ALL_SCOPES, Scope
from apikeys.selectors import api_key_get, api_key_list
from apikeys.services import IssuedApiKey, api_key_create, api_key_revoke, api_key_rotate
from tenants.context import current_tenant

STATUSES = ("active", "revoked", "expired")


class CreatorOutput(serializers.Serializer):
    type = serializers.CharField(source="created_by_type")
    id = serializers.CharField(source="created_by_id")
    name = serializers.CharField(source="created_by_label")


class ApiKeyOutput(serializers.Serializer):
    id = serializers.CharField(help_text="Stable id, `key_…`.")
    name = serializers.CharField()
    display = serializers.SerializerMethodField(help_text="Prefix and last four characters, e.g. agk_live_Ab12…wxyz.")
    scopes = serializers.ListField(child=serializers.CharField())
    status = serializers.ChoiceField(choices=STATUSES)
    allowed_cidrs = serializers.ListField(child=serializers.CharField())
    signing_required = serializers.BooleanField()
    rate_limit_per_minute = serializers.IntegerField(allow_null=True)
    rate_limit_burst = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    created_by = CreatorOutput(source="*")
    expires_at = serializers.DateTimeField(allow_null=True)
    last_used_at = serializers.DateTimeField(allow_null=True, help_text="Updated at most every 5 minutes.")
    revoked_at = serializers.DateTimeField(allow_null=True)
    previous_secret_valid_until = serializers.DateTimeField(source="previous_valid_until", allow_null=True)

    def get_display(self, key: ApiKey) -> str:
        return f"{key.prefix}…{key.last4}"


class IssuedApiKeyOutput(ApiKeyOutput):
    secret = serializers.CharField(help_text="The full key. Shown only in this response: store it now.")
    signing_secret = serializers.CharField(allow_null=True, help_text="Only when signing_required; shown once.")


def _issued(issued: IssuedApiKey) -> dict:
    data = dict(ApiKeyOutput(issued.key).data)
    return {**data, "secret": issued.secret, "signing_secret": issued.signing_secret}


def _key_or_404(key_id: str) -> ApiKey:
    key = api_key_get(tenant=current_tenant(), key_id=key_id)
    if key is None:
        raise Http404
    return key


class ApiKeyListCreateApi(TenantApi):
    required_scopes = (Scope.KEYS_MANAGE,)
    idempotent_post = True

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        scopes = serializers.ListField(child=serializers.ChoiceField(choices=sorted(ALL_SCOPES)), allow_empty=False)
        expires_at = serializers.DateTimeField(required=False, allow_null=True)
        allowed_cidrs = serializers.ListField(child=serializers.CharField(max_length=64), required=False, max_length=50)
        signing_required = serializers.BooleanField(default=False)
        rate_limit_per_minute = serializers.IntegerField(
            required=False, allow_null=True, min_value=1, max_value=100_000
        )
        rate_limit_burst = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=100_000)

    @extend_schema(
        operation_id="api_keys_list",
        tags=["API keys"],
        responses=ApiKeyOutput(many=True),
        parameters=[
            OpenApiParameter("status", enum=STATUSES, description="Only keys in this state."),
            OpenApiParameter("limit", int, description="Page size (1–200, default 50)."),
        ],
    )
    def get(self, request: Request) -> Response:
        keys = api_key_list(tenant=current_tenant(), status=query_param_choice(request, "status", STATUSES))
        paginator = CreatedCursorPagination()
        page = paginator.paginate_queryset(keys, request, view=self)
        return paginator.get_paginated_response(ApiKeyOutput(page, many=True).data)

    @extend_schema(
        operation_id="api_keys_create",
        tags=["API keys"],
        request=InputSerializer,
        responses={201: IssuedApiKeyOutput},
        examples=[
            OpenApiExample(
                "Read-only key for a dashboard",
                request_only=True,
                value={
                    "name": "Dashboard",
                    "scopes": ["agents:read", "usage:read"],
                    "allowed_cidrs": ["203.0.113.0/24"],
                },
            )
        ],
    )
    def post(self, request: Request) -> Response:
        data = self.validated(self.InputSerializer, request.data)
        issued = api_key_create(
            tenant=current_tenant(), actor=self.principal.actor, granter_scopes=self.principal.scopes, **data
        )
        return Response(_issued(issued), status=201)


class ApiKeyDetailApi(TenantApi):
    required_scopes = (Scope.KEYS_MANAGE,)

    @extend_schema(operation_id="api_keys_retrieve", tags=["API keys"], responses=ApiKeyOutput)
    def get(self, request: Request, key_id: str) -> Response:
        return Response(ApiKeyOutput(_key_or_404(key_id)).data)


class ApiKeyRotateApi(TenantApi):
    required_scopes = (Scope.KEYS_MANAGE,)

    class InputSerializer(serializers.Serializer):
        overlap_seconds = serializers.IntegerField(
            default=0, min_value=0, max_value=604_800, help_text="How long the old secret keeps working (≤ 7 days)."
        )

    @extend_schema(
        operation_id="api_keys_rotate", tags=["API keys"], request=InputSerializer, responses=IssuedApiKeyOutput
    )
    def post(self, request: Request, key_id: str) -> Response:
        data = self.validated(self.InputSerializer, request.data)
        issued = api_key_rotate(key=_key_or_404(key_id), actor=self.principal.actor, **data)
        return Response(_issued(issued))


class ApiKeyRevokeApi(TenantApi):
    required_scopes = (Scope.KEYS_MANAGE,)

    @extend_schema(operation_id="api_keys_revoke", tags=["API keys"], request=None, responses=ApiKeyOutput)
    def post(self, request: Request, key_id: str) -> Response:
        return Response(ApiKeyOutput(api_key_revoke(key=_key_or_404(key_id), actor=self.principal.actor)).data)
