"""Included by api/urls.py under /api/v1/."""

from django.urls import path

from webhooks.apis import (
    WebhookDeliveryListApi,
    WebhookEndpointDetailApi,
    WebhookEndpointListCreateApi,
    WebhookEndpointReplayApi,
    WebhookEndpointRotateSecretApi,
    WebhookEndpointSendTestApi,
    WebhookEventDetailApi,
    WebhookEventListApi,
)

urlpatterns = [
    path("webhook-endpoints", WebhookEndpointListCreateApi.as_view(), name="webhook-endpoints"),
    path("webhook-endpoints/<str:endpoint_id>", WebhookEndpointDetailApi.as_view(), name="webhook-endpoint"),
    path(
        "webhook-endpoints/<str:endpoint_id>/rotate-secret",
        WebhookEndpointRotateSecretApi.as_view(),
        name="webhook-endpoint-rotate-secret",
    ),
    path(
        "webhook-endpoints/<str:endpoint_id>/test", WebhookEndpointSendTestApi.as_view(), name="webhook-endpoint-test"
    ),
    path(
        "webhook-endpoints/<str:endpoint_id>/events/<str:event_id>/replay",
        WebhookEndpointReplayApi.as_view(),
        name="webhook-endpoint-replay",
    ),
    path(
        "webhook-endpoints/<str:endpoint_id>/deliveries",
        WebhookDeliveryListApi.as_view(),
        name="webhook-endpoint-deliveries",
    ),
    path("webhook-events", WebhookEventListApi.as_view(), name="webhook-events"),
    path("webhook-events/<str:event_id>", WebhookEventDetailApi.as_view(), name="webhook-event"),
]
