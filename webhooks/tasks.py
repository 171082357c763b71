"""Celery entry points for webhook delivery (thin: the work is in webhooks.deliveries)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from config.celery import app
from tenants.context import require_tenant
from tenants.selectors import tenant_list_live
from webhooks.deliveries import (
    webhook_deliveries_attempt,
    webhook_deliveries_due_ids,
    webhook_deliveries_enqueue,
)
from webhooks.retention import webhook_events_prune, webhook_events_retention_cutoff

logger = logging.getLogger(__name__)


# The worker looks the tenant up by schema name before every task; at one task per event that
# query is a noticeable share of a delivery, and a minute-old Tenant row is fresh enough to sign.
TENANT_CACHE_SECONDS = 60


@app.task(acks_late=True, ignore_result=True, tenant_cache_seconds=TENANT_CACHE_SECONDS)
def webhook_deliveries_attempt_task(*, delivery_ids: list[str]) -> None:
    """The next attempt of each delivery (normally one event's, to all its endpoints, sent
    concurrently), in the schema named by the task's `_schema_name` header."""
    webhook_deliveries_attempt(
        tenant=require_tenant(), delivery_ids=delivery_ids, also_due=settings.WEBHOOK_DELIVERY_CATCH_UP
    )


@app.task(acks_late=True, ignore_result=True)
def webhook_delivery_attempt_task(*, delivery_id: str) -> None:
    """One delivery: tasks queued before the batched task existed may still be in the broker."""
    webhook_deliveries_attempt(tenant=require_tenant(), delivery_ids=[delivery_id])


@app.task(acks_late=True, ignore_result=True)
def webhook_deliveries_sweep_task() -> int:
    """Every minute: queue the attempts that are due and that no task is about to make."""
    now = timezone.now()
    queued = 0
    for tenant in tenant_list_live().iterator():
        with tenant_context(tenant):
            due = webhook_deliveries_due_ids(now=now)
        if due:
            webhook_deliveries_enqueue(schema_name=tenant.schema_name, delivery_ids=due)
            queued += len(due)
            logger.info("webhook sweep queued %d deliveries of tenant %s", len(due), tenant.slug)
    return queued


@app.task(acks_late=True, ignore_result=True)
def webhook_events_prune_task() -> int:
    """Daily: in every live tenant's schema, delete ended events (with their deliveries and
    attempts) older than WEBHOOK_EVENT_RETENTION_DAYS. Safe to run twice."""
    cutoff = webhook_events_retention_cutoff()
    pruned = 0
    for tenant in tenant_list_live().iterator():
        with tenant_context(tenant):
            pruned += webhook_events_prune(older_than=cutoff)
    return pruned
