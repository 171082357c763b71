"""/api/v1/webhook-endpoints and /api/v1/webhook-events (scope webhooks:manage).

Reads work on every plan (a workspace that lost the feature can still see and delete what it
had); creating, enabling, testing, rotating and replaying need the Webhooks feature.
"""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import TenantApi, query_param_choice
from api.pagination import CreatedCursorPagination
from api.schema import error_responses
from apikeys.scopes import Scope
from config.errors import Conflict, FeatureNotInPlan, WebhookTargetRefused
from tenants.context import current_tenant
from webhooks.models import SUBSCRIBABLE_EVENT_TYPE_CHOICES, DeliveryStatus, EventType, WebhookEndpoint, WebhookEvent
from webhooks.outputs import (
    DELIVERY_EXAMPLE,
    ENDPOINT_EXAMPLE,
    EVENT_EXAMPLE,
    ISSUED_EXAMPLE,
    IssuedWebhookEndpointOutput,
    WebhookDeliveryOutput,
    WebhookEndpointOutput,
    WebhookEventOutput,
    issued_output,
)
from webhooks.selectors import (
    webhook_delivery_list,
    webhook_endpoint_get,
    webhook_endpoint_list,
    webhook_event_get,
    webhook_event_list,
)
from webhooks.services import (
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_send_test,
    webhook_endpoint_update,
    webhook_event_replay,
)

TAG = "Webhooks"
ENDPOINT_ID = OpenApiParameter("endpoint_id", str, OpenApiParameter.PATH, description="The endpoint's id, `ep_…`.")
EVENT_ID = OpenApiParameter("event_id", str, OpenApiParameter.PATH, description="The event's id, `msg_…`.")


def _endpoint_or_404(endpoint_id: str) -> WebhookEndpoint:
    endpoint = webhook_endpoint_get(tenant=current_tenant(), endpoint_id=endpoint_id)
    if endpoint is None:
        raise Http404
    return endpoint


def _event_or_404(event_id: str) -> WebhookEvent:
    event = webhook_event_get(tenant=current_tenant(), event_id=event_id)
    if event is None:
        raise Http404
    return event


class WebhookEndpointListCreateApi(TenantApi):
    required_scopes = (Scope.WEBHOOKS_MANAGE,)
    idempotent_post = True
    pagination_class = CreatedCursorPagination

    class InputSerializer(serializers.Serializer):
        url = serializers.CharField(max_length=2000, help_text="https://…, on a public address.")
        event_types = serializers.ListField(
            child=serializers.ChoiceField(choices=SUBSCRIBABLE_EVENT_TYPE_CHOICES), allow_empty=False
        )
        description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
        is_enabled = serializers.BooleanField(default=True)

    @extend_schema(
        operation_id="webhook_endpoints_list",
        tags=[TAG],
        summary="List webhook endpoints",
        description="The workspace's endpoints, newest first. Secrets are never shown again.",
        responses=WebhookEndpointOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        return self.paginated(webhook_endpoint_list(tenant=current_tenant()), WebhookEndpointOutput)

    @extend_schema(
        operation_id="webhook_endpoints_create",
        tags=[TAG],
        summary="Register a webhook endpoint",
        description=(
            "Registers an endpoint and returns its signing `secret` (`whsec_…`) in this response only. "
            "The URL must be https and resolve to public addresses only (400 `webhook_target_refused`). "
            "Needs the Webhooks feature (403 `feature_not_in_plan`)."
        ),
        request=InputSerializer,
        responses={201: IssuedWebhookEndpointOutput},
        examples=[
            OpenApiExample(
                "CRM sync",
                request_only=True,
                value={"url": ENDPOINT_EXAMPLE["url"], "event_types": ["lead.created"], "description": "CRM sync"},
            ),
            OpenApiExample("Registered", response_only=True, status_codes=["201"], value=ISSUED_EXAMPLE),
        ],
    )
    @error_responses(WebhookTargetRefused, FeatureNotInPlan, Conflict)
    def post(self, request: Request) -> Response:
        data = self.validated(self.InputSerializer, request.data)
        issued = webhook_endpoint_create(tenant=current_tenant(), actor=self.principal.actor, **data)
        return Response(issued_output(issued), status=201)


class WebhookEndpointDetailApi(TenantApi):
    required_scopes = (Scope.WEBHOOKS_MANAGE,)

    class InputSerializer(serializers.Serializer):
        url = serializers.CharField(max_length=2000, required=False)
        event_types = serializers.ListField(
            child=serializers.ChoiceField(choices=SUBSCRIBABLE_EVENT_TYPE_CHOICES), allow_empty=False, required=False
        )
        description = serializers.CharField(max_length=200, required=False, allow_blank=True)
        is_enabled = serializers.BooleanField(required=False)

    @extend_schema(
        operation_id="webhook_endpoints_retrieve",
        parameters=[ENDPOINT_ID],
        tags=[TAG],
        summary="Get a webhook endpoint",
        responses=WebhookEndpointOutput,
        examples=[OpenApiExample("An endpoint", response_only=True, value=ENDPOINT_EXAMPLE)],
    )
    def get(self, request: Request, endpoint_id: str) -> Response:
        return Response(WebhookEndpointOutput(_endpoint_or_404(endpoint_id)).data)

    @extend_schema(
        operation_id="webhook_endpoints_update",
        parameters=[ENDPOINT_ID],
        tags=[TAG],
        summary="Change a webhook endpoint",
        description=(
            "Changes the fields given. `is_enabled: true` re-enables an endpoint that was disabled (by hand "
            "or after failing for days) and needs the Webhooks feature; a changed URL is checked again."
        ),
        request=InputSerializer,
        responses=WebhookEndpointOutput,
        examples=[OpenApiExample("Disable", request_only=True, value={"is_enabled": False})],
    )
    @error_responses(WebhookTargetRefused, FeatureNotInPlan)
    def patch(self, request: Request, endpoint_id: str) -> Response:
        endpoint = _endpoint_or_404(endpoint_id)
        data = self.validated(self.InputSerializer, request.data)
        updated = webhook_endpoint_update(
            tenant=current_tenant(), endpoint=endpoint, actor=self.principal.actor, **data
        )
        return Response(WebhookEndpointOutput(updated).data)

    @extend_schema(
        operation_id="webhook_endpoints_destroy",
        parameters=[ENDPOINT_ID],
        tags=[TAG],
        summary="Delete a webhook endpoint",
        description="Deletes the endpoint and its delivery log; pending retries stop. Events are kept.",
        responses={204: None},
    )
    def delete(self, request: Request, endpoint_id: str) -> Response:
        webhook_endpoint_delete(
            tenant=current_tenant(), endpoint=_endpoint_or_404(endpoint_id), actor=self.principal.actor
        )
        return Response(status=204)


class WebhookEndpointRotateSecretApi(TenantApi):
    required_scopes = (Scope.WEBHOOKS_MANAGE,)

    class InputSerializer(serializers.Serializer):
        overlap_seconds = serializers.IntegerField(
            required=False,
            min_value=0,
            max_value=604_800,
            help_text="How long the old secret keeps signing too (default: the server's setting, one day).",
        )

    @extend_schema(
        operation_id="webhook_endpoints_rotate_secret",
        parameters=[ENDPOINT_ID],
        tags=[TAG],
        summary="Rotate an endpoint's signing secret",
        description=(
            "Returns a new `secret`, in this response only. For `overlap_seconds` every delivery carries two "
            "signatures in `webhook-signature` (new and old), so receivers can switch secrets without losing "
            "messages."
        ),
        request=InputSerializer,
        responses=IssuedWebhookEndpointOutput,
        examples=[OpenApiExample("One hour of overlap", request_only=True, value={"overlap_seconds": 3600})],
    )
    def post(self, request: Request, endpoint_id: str) -> Response:
        endpoint = _endpoint_or_404(endpoint_id)
        data = self.validated(self.InputSerializer, request.data)
        issued = webhook_endpoint_rotate_secret(
            tenant=current_tenant(), endpoint=endpoint, actor=self.principal.actor, **data
        )
        return Response(issued_output(issued))


class WebhookEndpointSendTestApi(TenantApi):
    required_scopes = (Scope.WEBHOOKS_MANAGE,)

    @extend_schema(
        operation_id="webhook_endpoints_send_test",
        parameters=[ENDPOINT_ID],
        tags=[TAG],
        summary="Send a test event",
        description=(
            "Queues a `test.ping` event to this endpoint only (one attempt, no retries). Watch its result in "
            "the endpoint's deliveries."
        ),
        request=None,
        responses={202: WebhookDeliveryOutput},
    )
    @error_responses(FeatureNotInPlan, Conflict)
    def post(self, request: Request, endpoint_id: str) -> Response:
        endpoint = _endpoint_or_404(endpoint_id)
        delivery = webhook_endpoint_send_test(tenant=current_tenant(), endpoint=endpoint, actor=self.principal.actor)
        return Response(WebhookDeliveryOutput(delivery).data, status=202)


class WebhookEndpointReplayApi(TenantApi):
    required_scopes = (Scope.WEBHOOKS_MANAGE,)

    @extend_schema(
        operation_id="webhook_endpoints_replay",
        parameters=[ENDPOINT_ID, EVENT_ID],
        tags=[TAG],
        summary="Replay an event to an endpoint",
        description=(
            "Delivers an event again, as a new delivery with the full retry schedule and the same `webhook-id`. "
            "Any event of the workspace can be replayed, whether or not the endpoint had received it."
        ),
        request=None,
        responses={202: WebhookDeliveryOutput},
    )
    @error_responses(FeatureNotInPlan, Conflict)
    def post(self, request: Request, endpoint_id: str, event_id: str) -> Response:
        endpoint = _endpoint_or_404(endpoint_id)
        event = _event_or_404(event_id)
        delivery = webhook_event_replay(
            tenant=current_tenant(), endpoint=endpoint, event=event, actor=self.principal.actor
        )
        return Response(WebhookDeliveryOutput(delivery).data, status=202)


class WebhookDeliveryListApi(TenantApi):
    required_scopes = (Scope.WEBHOOKS_MANAGE,)
    pagination_class = CreatedCursorPagination

    @extend_schema(
        operation_id="webhook_endpoints_deliveries",
        tags=[TAG],
        summary="List an endpoint's deliveries",
        description="Newest first, each with every attempt: status code, latency and a response excerpt.",
        parameters=[
            ENDPOINT_ID,
            OpenApiParameter("status", enum=DeliveryStatus.values, description="Only deliveries in this state."),
            OpenApiParameter("event_id", str, description="Only deliveries of this event."),
        ],
        responses=WebhookDeliveryOutput(many=True),
        examples=[OpenApiExample("A retried delivery", response_only=True, value=DELIVERY_EXAMPLE)],
    )
    def get(self, request: Request, endpoint_id: str) -> Response:
        endpoint = _endpoint_or_404(endpoint_id)
        deliveries = webhook_delivery_list(
            tenant=current_tenant(),
            endpoint=endpoint,
            status=query_param_choice(request, "status", tuple(DeliveryStatus.values)),
            event_id=request.query_params.get("event_id") or None,
        )
        return self.paginated(deliveries, WebhookDeliveryOutput)


class WebhookEventListApi(TenantApi):
    required_scopes = (Scope.WEBHOOKS_MANAGE,)
    pagination_class = CreatedCursorPagination

    @extend_schema(
        operation_id="webhook_events_list",
        tags=[TAG],
        summary="List webhook events",
        description="Events recorded for the workspace, newest first (only while its plan includes webhooks).",
        parameters=[OpenApiParameter("type", enum=EventType.values, description="Only events of this type.")],
        responses=WebhookEventOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        event_type = query_param_choice(request, "type", tuple(EventType.values))
        return self.paginated(webhook_event_list(tenant=current_tenant(), event_type=event_type), WebhookEventOutput)


class WebhookEventDetailApi(TenantApi):
    required_scopes = (Scope.WEBHOOKS_MANAGE,)

    @extend_schema(
        operation_id="webhook_events_retrieve",
        parameters=[EVENT_ID],
        tags=[TAG],
        summary="Get a webhook event",
        description="`data` is exactly what endpoints receive in the payload's `data`.",
        responses=WebhookEventOutput,
        examples=[OpenApiExample("An event", response_only=True, value=EVENT_EXAMPLE)],
    )
    def get(self, request: Request, event_id: str) -> Response:
        return Response(WebhookEventOutput(_event_or_404(event_id)).data)
