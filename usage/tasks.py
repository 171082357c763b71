"""Celery entry points of metering: thin, safe to run twice, one rollup task per tenant."""

from __future__ import annotations

import redis
from django.apps import apps

from config.celery import app
from tenants.context import current_tenant
from tenants.models import Tenant
from usage.rollup import usage_rollup


@app.task(acks_late=True, autoretry_for=(redis.RedisError,), retry_backoff=True, max_retries=5)
def usage_rollup_task() -> int:
    """Fold the current tenant's pending usage events into its aggregates; returns how many."""
    return usage_rollup(tenant=current_tenant()).events


@app.task(acks_late=True)
def usage_rollup_dispatch_task() -> list[str]:
    """Every 30 s (beat): queue `usage_rollup_task` in each tenant with events waiting in its
    Redis stream or its PostgreSQL outbox; returns their schemas."""
    from metering.selectors import outbox_pending_tenant_ids
    from usage.store import dirty_schemas, dirty_schemas_forget

    try:
        schemas = dirty_schemas()
    except redis.RedisError:  # the outbox can still be merged once Redis is back; nothing to do now
        return []
    tenants = Tenant.objects.filter(schema_name__in=schemas) | Tenant.objects.filter(pk__in=outbox_pending_tenant_ids())
    queued = []
    for tenant in tenants.order_by("schema_name"):
        usage_rollup_task.apply_async(headers={"_schema_name": tenant.schema_name})
        queued.append(tenant.schema_name)
    gone = schemas - set(queued)  # tenants purged since: their events went with their schema
    if gone:
        dirty_schemas_forget(schemas=gone)
    return queued


@app.task(acks_late=True)
def usage_thresholds_evaluate_task(*, meter: str, used: int, limit: int, period: str) -> None:
    """Queued by a request whose quota consumption crossed a whole percent of the limit."""
    if not apps.is_installed("alerts"):
        return
    from alerts.services import usage_thresholds_evaluate

    usage_thresholds_evaluate(tenant=current_tenant(), meter=meter, used=used, limit=limit, period=period)
