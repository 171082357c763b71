"""The public entry point other apps call to announce something to a tenant's systems.

    from webhooks.events import EventType, webhook_event_publish

    webhook_event_publish(tenant=tenant, event_type=EventType.AGENT_CREATED, data={"agent": {...}})

Call it from any schema, inside or outside a transaction: the event row is written in the
tenant's schema, and delivery is queued only once the surrounding transaction commits (a
rollback publishes nothing), so the request that caused the event never waits on a receiver.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django_tenants.utils import tenant_context

from billing.entitlements import entitlement_has_feature
from billing.models import Feature
from webhooks.models import EventType, WebhookEvent

if TYPE_CHECKING:
    from tenants.models import Tenant

__all__ = ["EventType", "webhook_event_publish"]

logger = logging.getLogger(__name__)


def _plain_json(data: dict[str, Any]) -> dict[str, Any]:
    """What the receiver will get: dates, decimals and UUIDs as strings; refuses anything else."""
    try:
        return json.loads(json.dumps(data, cls=DjangoJSONEncoder))  # type: ignore[no-any-return]
    except TypeError as exc:
        raise ValueError(f"webhook event data is not JSON-serialisable: {exc}") from exc


def webhook_event_publish(*, tenant: Tenant, event_type: str, data: dict[str, Any]) -> WebhookEvent | None:
    """Record `event_type` for `tenant` and queue its delivery to every enabled endpoint
    subscribed to it, on transaction commit.

    Returns None (and records nothing) when the tenant's plan does not include webhooks:
    nobody can receive the event, and recording it would cost every tenant a write per
    event. Raises ValueError for an unknown event type or data that is not JSON — both are
    programming errors. `test.ping` is sent by `webhook_endpoint_send_test`, not published.
    """
    if event_type not in EventType.values or event_type == EventType.TEST_PING:
        raise ValueError(f"unknown webhook event type: {event_type!r}")
    payload = _plain_json(data)
    if not entitlement_has_feature(tenant=tenant, feature=Feature.WEBHOOKS):
        return None
    from webhooks.deliveries import webhook_deliveries_create_for_event  # deliveries imports models only

    with tenant_context(tenant), transaction.atomic():
        event = WebhookEvent.objects.create(type=event_type, data=payload)
        webhook_deliveries_create_for_event(tenant=tenant, event=event)
    logger.info("webhook event %s %s recorded for tenant %s", event.type, event.id, tenant.slug)
    return event
