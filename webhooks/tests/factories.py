"""Webhook rows for tests, made through the real services (in the tenant's schema)."""

from __future__ import annotations

from typing import Any

from audit.services import Actor
from tenants.models import Tenant
from webhooks.events import webhook_event_publish
from webhooks.models import EventType, WebhookEvent
from webhooks.services import IssuedWebhookEndpoint, webhook_endpoint_create

TESTS = Actor.system("tests")
# A literal public address: passes the SSRF check without DNS (nothing ever connects to it in tests).
PUBLIC_URL = "https://93.184.215.14/agentry-hook"


def endpoint_give(
    tenant: Tenant, *, url: str = PUBLIC_URL, event_types: list[str] | None = None, **kwargs: Any
) -> IssuedWebhookEndpoint:
    return webhook_endpoint_create(
        tenant=tenant,
        url=url,
        event_types=event_types or [EventType.LEAD_CREATED, EventType.AGENT_CREATED],
        actor=TESTS,
        **kwargs,
    )


def event_give(tenant: Tenant, *, event_type: str = EventType.LEAD_CREATED, data: dict | None = None) -> WebhookEvent:
    event = webhook_event_publish(tenant=tenant, event_type=event_type, data=data or {"lead": {"id": "lead_1"}})
    assert event is not None, "the tenant's plan must include webhooks"
    return event


def webhook_path_ids(tenant: Tenant) -> dict[str, str]:
    """`{endpoint_id}` and `{event_id}` of a fresh endpoint and event of `tenant` (cross-tenant API tests)."""
    return {"endpoint_id": endpoint_give(tenant).endpoint.pk, "event_id": event_give(tenant).pk}
