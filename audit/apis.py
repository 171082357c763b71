"""GET /api/v1/audit-log (scope audit:read): the tenant's append-only audit trail."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import TenantApi
from api.pagination import CreatedCursorPagination
from apikeys.scopes import Scope
from audit.selectors import audit_event_list


class AuditPartyOutput(serializers.Serializer):
    type = serializers.CharField(
        help_text="Actor: user, staff, api_key or system. Target: the kind of object, e.g. apikeys.apikey."
    )
    id = serializers.CharField(help_text="User id, key id (key_…), …; empty when there is none.")
    name = serializers.CharField(help_text="Email, key name or other label, as it was at the time.")


class AuditEventOutput(serializers.Serializer):
    id = serializers.SerializerMethodField(help_text="`aud_…`")
    occurred_at = serializers.DateTimeField()
    action = serializers.CharField(help_text="e.g. api_key.created, team.role_changed, auth.login_failed")
    actor = serializers.SerializerMethodField()
    target = serializers.SerializerMethodField()
    details = serializers.DictField(source="data", help_text="Details; before/after values where meaningful.")
    ip_address = serializers.IPAddressField(allow_null=True)
    request_id = serializers.CharField()

    def get_id(self, event) -> str:  # type: ignore[no-untyped-def]
        return f"aud_{event.pk}"

    @extend_schema_field(AuditPartyOutput)
    def get_actor(self, event) -> dict[str, str]:  # type: ignore[no-untyped-def]
        return {"type": event.actor_type, "id": event.actor_id, "name": event.actor_label}

    @extend_schema_field(AuditPartyOutput)
    def get_target(self, event) -> dict[str, str]:  # type: ignore[no-untyped-def]
        return {"type": event.target_type, "id": event.target_id, "name": event.target_label}


class AuditFilters(serializers.Serializer):
    action = serializers.CharField(required=False, help_text="Exact action, or a prefix ending in '.' (api_key.).")
    actor = serializers.CharField(required=False, help_text="Actor id (key_…, user id) or email.")
    since = serializers.DateTimeField(required=False, help_text="At or after, ISO 8601 (2026-03-01T00:00:00Z).")
    until = serializers.DateTimeField(required=False, help_text="At or before, ISO 8601.")

    def validate(self, attrs):  # type: ignore[no-untyped-def]
        if attrs.get("since") and attrs.get("until") and attrs["since"] > attrs["until"]:
            raise serializers.ValidationError({"until": "Must be after `since`."})
        return attrs


class AuditPagination(CreatedCursorPagination):
    ordering = ("-occurred_at", "-pk")


class AuditLogApi(TenantApi):
    required_scopes = (Scope.AUDIT_READ,)
    pagination_class = AuditPagination

    @extend_schema(
        operation_id="audit_log_list",
        tags=["Audit log"],
        summary="List audit events",
        description=(
            "Security-relevant changes in the workspace, newest first: keys created, rotated and revoked, "
            "role changes, sign-ins and failed sign-ins, plan and settings changes, and more. The log is "
            "append-only. Filters combine."
        ),
        parameters=[AuditFilters],
        responses=AuditEventOutput(many=True),
        examples=[
            OpenApiExample(
                "A key was rotated",
                response_only=True,
                value={
                    "id": "aud_4812",
                    "occurred_at": "2026-03-04T16:40:12.503000Z",
                    "action": "api_key.rotated",
                    "actor": {"type": "user", "id": "1", "name": "owner@acme.test"},
                    "target": {
                        "type": "apikeys.apikey",
                        "id": "key_7QbX2mTz9LwK4rVn",
                        "name": "CRM sync (agk_live_Ab12…1Hk2)",
                    },
                    "details": {"overlap_seconds": 3600},
                    "ip_address": "203.0.113.7",
                    "request_id": "req_5f0c6a3e9b1d4c7a8e2f1b0d3c4a5e6f",
                },
            )
        ],
    )
    def get(self, request: Request) -> Response:
        filters = self.validated(AuditFilters, request.query_params)
        events = audit_event_list(**filters)
        return self.paginated(events, AuditEventOutput)
