"""Retention of the webhook log: events whose every delivery has ended (and their deliveries and
attempts) are deleted once older than WEBHOOK_EVENT_RETENTION_DAYS.

An event with a delivery still pending is kept whatever its age, so pruning never cancels a
retry; a replay of a pruned event is no longer possible (the API answers 404).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from tenants.context import require_tenant
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEvent

logger = logging.getLogger(__name__)

PRUNE_BATCH = 1000


def webhook_events_retention_cutoff(*, now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=settings.WEBHOOK_EVENT_RETENTION_DAYS)


def webhook_events_prune(*, older_than: datetime) -> int:
    """Delete the current tenant's events created before `older_than` that have no pending
    delivery, with their deliveries and attempt logs, in batches of PRUNE_BATCH (short
    transactions); the number of events deleted. Raises if the connection is on `public`."""
    tenant = require_tenant()
    pending = WebhookDelivery.objects.filter(event=OuterRef("pk"), status=DeliveryStatus.PENDING)
    prunable = WebhookEvent.objects.filter(created_at__lt=older_than).exclude(Exists(pending))
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(prunable.order_by("created_at").values_list("id", flat=True)[:PRUNE_BATCH])
            if not ids:
                break
            WebhookEvent.objects.filter(id__in=ids).delete()  # deliveries and attempts cascade
        deleted += len(ids)
    if deleted:
        logger.info("pruned %d webhook events older than %s of tenant %s", deleted, older_than, tenant.slug)
    return deleted
