"""Celery entry points of the subscription lifecycle: thin, idempotent, fanned out per tenant."""

from __future__ import annotations

from django.utils import timezone

from billing.lifecycle import subscription_advance, subscription_tenant_ids_due
from config.celery import app


@app.task(acks_late=True)
def billing_subscription_advance_task(*, tenant_id: int) -> None:
    """One tenant's due lifecycle steps (safe to run twice: every step re-checks its condition)."""
    subscription_advance(tenant_id=tenant_id)


@app.task(acks_late=True)
def billing_lifecycle_due_task() -> list[int]:
    """Hourly: queue `billing_subscription_advance_task` for every tenant with a step due; returns their ids."""
    tenant_ids = subscription_tenant_ids_due(now=timezone.now())
    for tenant_id in tenant_ids:
        billing_subscription_advance_task.delay(tenant_id=tenant_id)
    return tenant_ids
