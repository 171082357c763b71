"""/api/v1/api-keys: list, create, read, rotate, revoke (scope keys:manage)."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import TenantApi, query_param_choice
from api.pagination import CreatedCursorPagination
from api.schema import error_responses
from apikeys.models import ApiKey, KeyKind
from apikeys.scopes import SCOPE_DESCRIPTIONS, Scope
from apikeys.selectors import api_key_get, api_key_list
from apikeys.services import IssuedApiKey, api_key_create, api_key_revoke, api_key_rotate
from config.errors import Conflict, PermissionDeniedError
from tenants.context import current_tenant

STATUSES = ("active", "revoked", "expired")
# Labelled, so the OpenAPI document describes each scope (enum "ScopeEnum").
SCOPE_CHOICES = sorted(SCOPE_DESCRIPTIONS.items())
KEY_ID_PARAMETER = OpenApiParameter("key_id", str, OpenApiParameter.PATH, description="The key's id, `key_…`.")


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
    kind = serializers.ChoiceField(
        choices=KeyKind.choices, help_text="`publishable`: a website widget's key (`pk_live_…`), see docs/widget.md."
    )
    agent = serializers.CharField(source="agent_id", help_text="Publishable keys: their agent. Empty otherwise.")
    allowed_origins = serializers.ListField(
        child=serializers.CharField(), help_text="Publishable keys: the websites that may use them."
    )

    def get_display(self, key: ApiKey) -> str:
        return f"{key.prefix}…{key.last4}"


class IssuedApiKeyOutput(ApiKeyOutput):
    secret = serializers.CharField(help_text="The full key. Shown only in this response: store it now.")
    signing_secret = serializers.CharField(allow_null=True, help_text="Only when signing_required; shown once.")


_KEY_EXAMPLE = {
    "id": "key_7QbX2mTz9LwK4rVn",
    "name": "CRM sync",
    "display": "agk_live_Ab12…1Hk2",
    "scopes": ["agents:read", "usage:read"],
    "status": "active",
    "allowed_cidrs": ["203.0.113.0/24"],
    "signing_required": False,
    "rate_limit_per_minute": None,
    "rate_limit_burst": None,
    "created_at": "2026-03-02T09:14:07.120000Z",
    "created_by": {"type": "user", "id": "1", "name": "owner@acme.test"},
    "expires_at": None,
    "last_used_at": "2026-03-04T16:40:00.000000Z",
    "revoked_at": None,
    "previous_secret_valid_until": None,
    "kind": "secret",
    "agent": "",
    "allowed_origins": [],
}
_ISSUED_EXAMPLE = {
    **_KEY_EXAMPLE,
    "last_used_at": None,
    "secret": "agk_live_Ab12cD34eF56gH78iJ90kL12mN34wxyz0g1Hk2",
    "signing_secret": None,
}


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
    pagination_class = CreatedCursorPagination

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        scopes = serializers.ListField(child=serializers.ChoiceField(choices=SCOPE_CHOICES), allow_empty=False)
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
        summary="List API keys",
        description="The workspace's keys, newest first. Secrets are never shown again: only `display`.",
        responses=ApiKeyOutput(many=True),
        parameters=[OpenApiParameter("status", enum=STATUSES, description="Only keys in this state.")],
    )
    def get(self, request: Request) -> Response:
        keys = api_key_list(tenant=current_tenant(), status=query_param_choice(request, "status", STATUSES))
        return self.paginated(keys, ApiKeyOutput)

    @extend_schema(
        operation_id="api_keys_create",
        tags=["API keys"],
        summary="Create an API key",
        description=(
            "Issues a key. The full `secret` (and `signing_secret`, when `signing_required`) is in this "
            "response only: store it now. A key cannot get scopes its creator lacks (403 "
            "`permission_denied` with `scopes_not_held`)."
        ),
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
            ),
            OpenApiExample("Issued key", response_only=True, status_codes=["201"], value=_ISSUED_EXAMPLE),
        ],
    )
    @error_responses(PermissionDeniedError, Conflict)
    def post(self, request: Request) -> Response:
        data = self.validated(self.InputSerializer, request.data)
        issued = api_key_create(
            tenant=current_tenant(), actor=self.principal.actor, granter_scopes=self.principal.scopes, **data
        )
        return Response(_issued(issued), status=201)


class ApiKeyDetailApi(TenantApi):
    required_scopes = (Scope.KEYS_MANAGE,)

    @extend_schema(
        operation_id="api_keys_retrieve",
        parameters=[KEY_ID_PARAMETER],
        tags=["API keys"],
        summary="Get an API key",
        responses=ApiKeyOutput,
        examples=[OpenApiExample("A key", response_only=True, value=_KEY_EXAMPLE)],
    )
    def get(self, request: Request, key_id: str) -> Response:
        return Response(ApiKeyOutput(_key_or_404(key_id)).data)


class ApiKeyRotateApi(TenantApi):
    required_scopes = (Scope.KEYS_MANAGE,)

    class InputSerializer(serializers.Serializer):
        overlap_seconds = serializers.IntegerField(
            default=0, min_value=0, max_value=604_800, help_text="How long the old secret keeps working (≤ 7 days)."
        )

    @extend_schema(
        operation_id="api_keys_rotate",
        parameters=[KEY_ID_PARAMETER],
        tags=["API keys"],
        summary="Rotate an API key",
        description=(
            "Gives the key a new secret, returned in this response only. The old secret keeps working for "
            "`overlap_seconds` (0, the default, stops it at once), so deployments can switch over. Only "
            "active keys, and only keys whose scopes the caller holds, can be rotated."
        ),
        request=InputSerializer,
        responses=IssuedApiKeyOutput,
        examples=[
            OpenApiExample("One hour of overlap", request_only=True, value={"overlap_seconds": 3600}),
            OpenApiExample(
                "Rotated key",
                response_only=True,
                value={**_ISSUED_EXAMPLE, "previous_secret_valid_until": "2026-03-04T17:40:00.000000Z"},
            ),
        ],
    )
    @error_responses(PermissionDeniedError, Conflict)
    def post(self, request: Request, key_id: str) -> Response:
        data = self.validated(self.InputSerializer, request.data)
        issued = api_key_rotate(
            key=_key_or_404(key_id), actor=self.principal.actor, granter_scopes=self.principal.scopes, **data
        )
        return Response(_issued(issued))


class ApiKeyRevokeApi(TenantApi):
    required_scopes = (Scope.KEYS_MANAGE,)

    @extend_schema(
        operation_id="api_keys_revoke",
        parameters=[KEY_ID_PARAMETER],
        tags=["API keys"],
        summary="Revoke an API key",
        description="Stops the key (and a previous secret still in its rotation overlap) at once, on every server.",
        request=None,
        responses=ApiKeyOutput,
        examples=[
            OpenApiExample(
                "Revoked key",
                response_only=True,
                value={**_KEY_EXAMPLE, "status": "revoked", "revoked_at": "2026-03-05T08:00:00.000000Z"},
            )
        ],
    )
    @error_responses(Conflict)
    def post(self, request: Request, key_id: str) -> Response:
        return Response(ApiKeyOutput(api_key_revoke(key=_key_or_404(key_id), actor=self.principal.actor)).data)
