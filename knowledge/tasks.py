"""Celery entry points for knowledge bases (thin: the work is in knowledge.indexing)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from config.celery import app
from knowledge.indexing import document_index
from knowledge.models import Document, DocumentStatus
from tenants.context import current_schema, require_tenant
from tenants.selectors import tenant_list_live

logger = logging.getLogger(__name__)

# Most stuck documents one sweep re-queues per tenant (the next sweep takes the rest).
STUCK_REQUEUE_BATCH = 500


@app.task(acks_late=True, ignore_result=True)
def document_index_task(*, document_id: str) -> None:
    """Index one document in the schema named by the task's `_schema_name` header."""
    require_tenant()
    document_index(document_id=document_id)


def documents_stuck_requeue(*, older_than: datetime) -> list[str]:
    """Queue indexing again for the current tenant's documents left `pending` or `indexing` since
    before `older_than` (a lost task, a broker outage at upload, a worker killed mid-index); their
    ids. Each goes back to `pending` with a fresh `updated_at`, so the next sweep waits again
    before queueing it a second time; indexing the same document twice is harmless."""
    require_tenant()
    with transaction.atomic():
        stuck = list(
            Document.objects.select_for_update(skip_locked=True)
            .filter(status__in=(DocumentStatus.PENDING, DocumentStatus.INDEXING), updated_at__lt=older_than)
            .order_by("updated_at")
            .values_list("id", flat=True)[:STUCK_REQUEUE_BATCH]
        )
        Document.objects.filter(id__in=stuck).update(status=DocumentStatus.PENDING, updated_at=timezone.now())
    schema_name = current_schema()
    for document_id in stuck:
        document_index_task.apply_async(kwargs={"document_id": document_id}, headers={"_schema_name": schema_name})
    return stuck


@app.task(acks_late=True, ignore_result=True)
def documents_stuck_requeue_task() -> int:
    """Every 5 minutes: in every live tenant, re-queue documents stuck in `pending`/`indexing`
    for more than KNOWLEDGE_STUCK_AFTER_MINUTES."""
    older_than = timezone.now() - timedelta(minutes=settings.KNOWLEDGE_STUCK_AFTER_MINUTES)
    queued = 0
    for tenant in tenant_list_live().iterator():
        with tenant_context(tenant):
            stuck = documents_stuck_requeue(older_than=older_than)
        if stuck:
            logger.warning("re-queued %d knowledge documents stuck in indexing of tenant %s", len(stuck), tenant.slug)
            queued += len(stuck)
    return queued
