"""Reads of the current tenant's webhook endpoints, events and delivery log.

Every function requires the tenant and runs in its schema (it switches if the connection is elsewhere).
"""

from __future__ import annotations

from django.db.models import Count, Prefetch, Q, QuerySet
from django_tenants.utils import tenant_context

from tenants.models import Tenant
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint, WebhookEvent


def webhook_endpoint_list(*, tenant: Tenant) -> QuerySet[WebhookEndpoint]:
    with tenant_context(tenant):
        return WebhookEndpoint.objects.annotate(
            failed_deliveries=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
            pending_deliveries=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.PENDING)),
        ).order_by("-created_at", "-id")


def webhook_endpoint_get(*, tenant: Tenant, endpoint_id: str) -> WebhookEndpoint | None:
    with tenant_context(tenant):
        return WebhookEndpoint.objects.filter(pk=endpoint_id).first()


def webhook_event_list(*, tenant: Tenant, event_type: str | None = None) -> QuerySet[WebhookEvent]:
    with tenant_context(tenant):
        events = WebhookEvent.objects.all()
        if event_type:
            events = events.filter(type=event_type)
        return events.order_by("-created_at", "-id")


def webhook_event_get(*, tenant: Tenant, event_id: str) -> WebhookEvent | None:
    with tenant_context(tenant):
        return WebhookEvent.objects.filter(pk=event_id).first()


def webhook_delivery_list(
    *, tenant: Tenant, endpoint: WebhookEndpoint, status: str | None = None, event_id: str | None = None
) -> QuerySet[WebhookDelivery]:
    """The endpoint's deliveries, newest first, each with its attempts (oldest first)."""
    with tenant_context(tenant):
        deliveries = WebhookDelivery.objects.filter(endpoint=endpoint)
        if status:
            deliveries = deliveries.filter(status=status)
        if event_id:
            deliveries = deliveries.filter(event_id=event_id)
        return (
            deliveries.select_related("event")
            .prefetch_related(Prefetch("attempts", queryset=WebhookDeliveryAttempt.objects.order_by("number")))
            .order_by("-created_at", "-id")
        )
