"""Celery entry points of the Stripe backend: thin, idempotent, sent from the public schema."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from config.celery import app
from stripe_billing.selectors import webhook_event_ids_to_requeue, webhook_events_prunable
from stripe_billing.webhooks import webhook_event_process

# An event still pending this long after it arrived lost its task (broker outage, worker crash).
REQUEUE_AFTER = timedelta(minutes=10)


@app.task(
    bind=True,
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=5,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=10,
)
def stripe_webhook_event_process_task(self, *, event_id: str) -> str:  # type: ignore[no-untyped-def]
    """Process one recorded event; failures retry with exponential backoff (5 s … 1 h, 10 times),
    then stay `failed` in admin for staff to reprocess. Running it twice has the effect of once."""
    return webhook_event_process(event_id=event_id)


@app.task(acks_late=True)
def stripe_webhook_events_sweep_task() -> list[str]:
    """Every few minutes: queue events whose task was lost; drop processed ones past retention."""
    now = timezone.now()
    event_ids = webhook_event_ids_to_requeue(received_before=now - REQUEUE_AFTER)
    for event_id in event_ids:
        stripe_webhook_event_process_task.delay(event_id=event_id)
    webhook_events_prunable(received_before=now - timedelta(days=settings.STRIPE_WEBHOOK_RETENTION_DAYS)).delete()
    return event_ids
