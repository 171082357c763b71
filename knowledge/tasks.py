"""Celery entry points for knowledge bases (thin: the work is in knowledge.indexing)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from celery import Task
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from config.celery import app
from knowledge.embedding_indexing import document_embed, faq_embed
from knowledge.embeddings import EmbeddingsFailed, embeddings_enabled
from knowledge.indexing import document_index
from knowledge.models import Document, DocumentStatus, EmbeddingStatus
from tenants.context import current_schema, require_tenant
from tenants.selectors import tenant_list_live

logger = logging.getLogger(__name__)

# Most stuck documents one sweep re-queues per tenant (the next sweep takes the rest).
STUCK_REQUEUE_BATCH = 500
# Retries of an embedding step after a retryable provider failure (timeout, unreachable, 429, 5xx).
EMBEDDING_MAX_RETRIES = 5
EMBEDDING_RETRY_SECONDS = 30


@app.task(acks_late=True, ignore_result=True)
def document_index_task(*, document_id: str) -> None:
    """Index one document in the schema named by the task's `_schema_name` header."""
    require_tenant()
    document = document_index(document_id=document_id)
    if document is not None and document.embedding_status == EmbeddingStatus.PENDING:
        # Its own task, retried on its own: the full-text index above is already committed.
        document_embed_task.apply_async(kwargs={"document_id": document_id}, headers={"_schema_name": current_schema()})


def _retry_later(task: Task, exc: EmbeddingsFailed) -> None:
    """Retry a retryable provider failure with exponential backoff (30 s, 1 min, 2 min…)."""
    if exc.retryable and task.request.retries < EMBEDDING_MAX_RETRIES:
        raise task.retry(countdown=EMBEDDING_RETRY_SECONDS * 2**task.request.retries, max_retries=EMBEDDING_MAX_RETRIES)


@app.task(bind=True, acks_late=True, ignore_result=True)
def document_embed_task(self: Task, *, document_id: str) -> None:
    """Embed one indexed document's chunks (vector search); its `embedding_status` says how it went."""
    require_tenant()
    try:
        document_embed(document_id=document_id)
    except EmbeddingsFailed as exc:
        _retry_later(self, exc)


@app.task(bind=True, acks_late=True, ignore_result=True)
def faq_embed_task(self: Task, *, faq_id: str) -> None:
    """Embed one FAQ's chunk (vector search); until it succeeds the FAQ is found by its words only."""
    require_tenant()
    try:
        faq_embed(faq_id=faq_id)
    except EmbeddingsFailed as exc:
        _retry_later(self, exc)


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


def documents_unembedded_requeue(*, older_than: datetime) -> list[str]:
    """With vector search on, queue embedding again for the current tenant's `ready` documents whose
    embedding stayed `pending` since before `older_than` (a lost task; retries take ~16 minutes at
    most); their ids. Their `updated_at` moves on, so the next sweep waits again."""
    require_tenant()
    if not embeddings_enabled():
        return []
    with transaction.atomic():
        stuck = list(
            Document.objects.select_for_update(skip_locked=True)
            .filter(status=DocumentStatus.READY, embedding_status=EmbeddingStatus.PENDING, updated_at__lt=older_than)
            .order_by("updated_at")
            .values_list("id", flat=True)[:STUCK_REQUEUE_BATCH]
        )
        Document.objects.filter(id__in=stuck).update(updated_at=timezone.now())
    schema_name = current_schema()
    for document_id in stuck:
        document_embed_task.apply_async(kwargs={"document_id": document_id}, headers={"_schema_name": schema_name})
    return stuck


@app.task(acks_late=True, ignore_result=True)
def documents_stuck_requeue_task() -> int:
    """Every 5 minutes: in every live tenant, re-queue documents stuck in `pending`/`indexing`
    (or, with vector search, in embedding `pending`) for more than KNOWLEDGE_STUCK_AFTER_MINUTES."""
    older_than = timezone.now() - timedelta(minutes=settings.KNOWLEDGE_STUCK_AFTER_MINUTES)
    queued = 0
    for tenant in tenant_list_live().iterator():
        with tenant_context(tenant):
            stuck = documents_stuck_requeue(older_than=older_than) + documents_unembedded_requeue(older_than=older_than)
        if stuck:
            logger.warning("re-queued %d knowledge documents stuck in indexing of tenant %s", len(stuck), tenant.slug)
            queued += len(stuck)
    return queued
