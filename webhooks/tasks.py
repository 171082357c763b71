"""Celery entry points for webhook delivery (thin: the work is in webhooks.deliveries)."""

from __future__ import annotations

import logging

from django.utils import timezone
from django_tenants.utils import tenant_context

from config.celery import app
from tenants.context import require_tenant
from tenants.selectors import tenant_list_live
from webhooks.deliveries import webhook_deliveries_due_ids, webhook_deliveries_enqueue, webhook_delivery_attempt

logger = logging.getLogger(__name__)


@app.task(acks_late=True, ignore_result=True)
def webhook_delivery_attempt_task(*, delivery_id: str) -> None:
    """One attempt of one delivery, in the schema named by the task's `_schema_name` header."""
    webhook_delivery_attempt(tenant=require_tenant(), delivery_id=delivery_id)


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
