"""GET /api/v1/audit-log (scope audit:read): the tenant's append-only audit trail."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import TenantApi
from api.pagination import CreatedCursorPagination
from apikeys.scopes import Scope
from audit.selectors import audit_event_list


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

    def get_actor(self, event) -> dict[str, str]:  # type: ignore[no-untyped-def]
        return {"type": event.actor_type, "id": event.actor_id, "name": event.actor_label}

    def get_target(self, event) -> dict[str, str]:  # type: ignore[no-untyped-def]
        return {"type": event.target_type, "id": event.target_id, "name": event.target_label}


class AuditFilters(serializers.Serializer):
    action = serializers.CharField(required=False, help_text="Exact action, or a prefix ending in '.' (api_key.).")
    actor = serializers.CharField(required=False, help_text="Actor id (key_…, user id) or email.")
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)

    def validate(self, attrs):  # type: ignore[no-untyped-def]
        if attrs.get("since") and attrs.get("until") and attrs["since"] > attrs["until"]:
            raise serializers.ValidationError({"until": "Must be after `since`."})
        return attrs


class AuditPagination(CreatedCursorPagination):
    ordering = ("-occurred_at", "-pk")


class AuditLogApi(TenantApi):
    required_scopes = (Scope.AUDIT_READ,)

    @extend_schema(
        operation_id="audit_log_list",
        tags=["Audit log"],
        parameters=[AuditFilters],
        responses=AuditEventOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = self.validated(AuditFilters, request.query_params)
        events = audit_event_list(**filters)
        paginator = AuditPagination()
        page = paginator.paginate_queryset(events, request, view=self)
        return paginator.get_paginated_response(AuditEventOutput(page, many=True).data)
