"""API output shapes of webhook endpoints, events and deliveries (shared by the API views)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from webhooks.models import SUBSCRIBABLE_EVENT_TYPE_CHOICES, DeliveryStatus, DeliveryTrigger, EventType, WebhookEndpoint
from webhooks.services import IssuedWebhookEndpoint


class WebhookEndpointOutput(serializers.Serializer):
    id = serializers.CharField(help_text="Stable id, `ep_…`.")
    url = serializers.URLField()
    description = serializers.CharField()
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=SUBSCRIBABLE_EVENT_TYPE_CHOICES))
    is_enabled = serializers.BooleanField()
    disabled_at = serializers.DateTimeField(allow_null=True)
    disabled_reason = serializers.CharField(help_text="Why it was disabled: by whom, or after failing for days.")
    failing_since = serializers.DateTimeField(
        allow_null=True, help_text="Start of the current run of failed attempts (null: the last one succeeded)."
    )
    previous_secret_expires_at = serializers.SerializerMethodField(
        help_text="After a rotation: until when the previous secret also signs (null: it no longer does)."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_previous_secret_expires_at(self, endpoint: WebhookEndpoint) -> str | None:
        expires = endpoint.previous_secret_expires_at
        return serializers.DateTimeField().to_representation(expires) if expires else None


class IssuedWebhookEndpointOutput(WebhookEndpointOutput):
    secret = serializers.CharField(
        help_text="The signing secret, `whsec_…`. Shown only in this response: store it now."
    )


def issued_output(issued: IssuedWebhookEndpoint) -> dict[str, Any]:
    return {**WebhookEndpointOutput(issued.endpoint).data, "secret": issued.secret}


class WebhookEventOutput(serializers.Serializer):
    id = serializers.CharField(help_text="`msg_…`; also the `webhook-id` header of its deliveries.")
    type = serializers.ChoiceField(choices=EventType.choices)
    timestamp = serializers.DateTimeField(source="created_at")
    data = serializers.JSONField()  # type: ignore[assignment]  # a field, popped by the metaclass; .data stays


class WebhookAttemptOutput(serializers.Serializer):
    number = serializers.IntegerField()
    attempted_at = serializers.DateTimeField()
    status_code = serializers.IntegerField(allow_null=True, help_text="Null when no HTTP response came back.")
    latency_ms = serializers.IntegerField(allow_null=True)
    response_excerpt = serializers.CharField(help_text="The first 1 KiB of the response body.")
    error = serializers.CharField(help_text="Timeout, connection or TLS error, refused target, redirect not followed.")
    succeeded = serializers.BooleanField()


class WebhookDeliveryOutput(serializers.Serializer):
    id = serializers.CharField(help_text="`dlv_…`.")
    event_id = serializers.CharField()
    event_type = serializers.CharField(source="event.type")
    endpoint_id = serializers.CharField()
    trigger = serializers.ChoiceField(choices=DeliveryTrigger.choices)
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    attempt_count = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    attempts = WebhookAttemptOutput(many=True)


ENDPOINT_EXAMPLE = {
    "id": "ep_4f8Kq2ZxR7mN1bVc9TyL",
    "url": "https://hooks.acme.example/agentry",
    "description": "CRM sync",
    "event_types": ["lead.created", "subscription.updated"],
    "is_enabled": True,
    "disabled_at": None,
    "disabled_reason": "",
    "failing_since": None,
    "previous_secret_expires_at": None,
    "created_at": "2026-03-02T09:14:07.120000Z",
    "updated_at": "2026-03-02T09:14:07.120000Z",
}
ISSUED_EXAMPLE = {**ENDPOINT_EXAMPLE, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw/vs1e0BbsnQ="}
EVENT_EXAMPLE = {
    "id": "msg_2mX9pQ4rT7vL1nB8cK3sW6yZ",
    "type": "lead.created",
    "timestamp": "2026-03-04T16:40:00.000000Z",
    "data": {"lead": {"id": "lead_91", "email": "jane@example.com"}},
}
DELIVERY_EXAMPLE = {
    "id": "dlv_8Hc2Lq9ZpT4wX1rN6bVm",
    "event_id": EVENT_EXAMPLE["id"],
    "event_type": "lead.created",
    "endpoint_id": ENDPOINT_EXAMPLE["id"],
    "trigger": "event",
    "status": "succeeded",
    "attempt_count": 2,
    "next_attempt_at": None,
    "last_attempt_at": "2026-03-04T16:40:05.210000Z",
    "created_at": "2026-03-04T16:40:00.010000Z",
    "attempts": [
        {
            "number": 1,
            "attempted_at": "2026-03-04T16:40:00.020000Z",
            "status_code": 503,
            "latency_ms": 112,
            "response_excerpt": "upstream unavailable",
            "error": "",
            "succeeded": False,
        },
        {
            "number": 2,
            "attempted_at": "2026-03-04T16:40:05.120000Z",
            "status_code": 200,
            "latency_ms": 87,
            "response_excerpt": "ok",
            "error": "",
            "succeeded": True,
        },
    ],
}
