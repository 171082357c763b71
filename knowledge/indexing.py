"""Turning documents and FAQs into search chunks with stored, language-aware tsvectors.

`document_index` is what the Celery task runs: `pending` → `indexing` → `ready` or `failed`
(with a reason a user can act on). Running it twice gives the same chunks as once.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.postgres.search import SearchVector
from django.db import transaction
from django.db.models.expressions import CombinedExpression
from django.utils import timezone

from config.errors import PlanLimitReached
from knowledge.chunking import text_chunks, text_normalize
from knowledge.embeddings import embeddings_enabled
from knowledge.extraction import ExtractionFailed, document_text_extract
from knowledge.languages import search_config_for
from knowledge.models import Chunk, Document, DocumentStatus, EmbeddingStatus, Faq, KnowledgeBase

logger = logging.getLogger(__name__)


def _vector(config: str) -> CombinedExpression:
    # The title or question weighs more (A) than the passage (B) in the rank.
    return SearchVector("heading", weight="A", config=config) + SearchVector("text", weight="B", config=config)


def faq_index(*, faq: Faq, knowledge_base: KnowledgeBase) -> None:
    """(Re)build the FAQ's single chunk: the question as heading, the answer as text."""
    config = search_config_for(faq.language or knowledge_base.language)
    Chunk.objects.filter(faq=faq).delete()
    chunk = Chunk.objects.create(
        knowledge_base=knowledge_base,
        faq=faq,
        position=0,
        heading=text_normalize(faq.question)[:500],
        text=text_normalize(faq.answer),
        search_config=config,
        search_vector="",
    )
    Chunk.objects.filter(pk=chunk.pk).update(search_vector=_vector(config))
    if embeddings_enabled():
        _queue_faq_embedding(faq.pk)


def _queue_faq_embedding(faq_id: str) -> None:
    from knowledge.tasks import faq_embed_task
    from tenants.context import current_schema

    schema_name = current_schema()
    transaction.on_commit(
        lambda: faq_embed_task.apply_async(kwargs={"faq_id": faq_id}, headers={"_schema_name": schema_name})
    )


def _claim(document_id: str) -> Document | None:
    with transaction.atomic():
        document = Document.objects.select_for_update().select_related("knowledge_base").filter(pk=document_id).first()
        if document is not None:
            document.status = DocumentStatus.INDEXING
            document.failure_reason = ""
            document.save(update_fields=["status", "failure_reason", "updated_at"])
        return document


def _text_of(document: Document) -> str:
    if not document.file:
        return text_normalize(document.text)
    with document.file.open("rb") as handle:
        data = handle.read()
    return document_text_extract(source=document.source, data=data)


def _fail(document_id: str, reason: str) -> None:
    Document.objects.filter(pk=document_id).update(
        status=DocumentStatus.FAILED, failure_reason=reason[:500], chunk_count=0, updated_at=timezone.now()
    )
    Chunk.objects.filter(document_id=document_id).delete()


def _store(document_id: str, text: str, chunks: list[str]) -> Document | None:
    from knowledge.services import knowledge_storage_require

    with transaction.atomic():
        document = Document.objects.select_for_update().select_related("knowledge_base").filter(pk=document_id).first()
        if document is None:
            return None  # deleted while we read it
        text_bytes = len(text.encode()) if document.file else document.text_bytes
        if text_bytes > document.text_bytes:
            knowledge_storage_require(adding=text_bytes - document.text_bytes)
        config = search_config_for(document.language or document.knowledge_base.language)
        Chunk.objects.filter(document=document).delete()
        Chunk.objects.bulk_create(
            Chunk(
                knowledge_base_id=document.knowledge_base_id,
                document=document,
                position=position,
                heading=document.title,
                text=chunk,
                search_config=config,
                search_vector="",
            )
            for position, chunk in enumerate(chunks)
        )
        Chunk.objects.filter(document=document).update(search_vector=_vector(config))
        if document.file:
            document.text, document.text_bytes = text, text_bytes
        document.chunk_count = len(chunks)
        document.status = DocumentStatus.READY
        document.failure_reason = ""
        document.indexed_at = timezone.now()
        document.embedding_status = EmbeddingStatus.PENDING if embeddings_enabled() else EmbeddingStatus.NONE
        document.embedding_failure_reason = ""
        document.save()
        return document


def document_index(*, document_id: str) -> Document | None:
    """Extract, chunk and index one document. None if it no longer exists.

    A user-facing problem (unreadable file, no text, storage limit) ends as `failed` with the
    reason; an unexpected error also marks it `failed` and is re-raised for the task's logs.
    """
    document = _claim(document_id)
    if document is None:
        return None
    try:
        text = _text_of(document)
        chunks = text_chunks(
            text=text, max_chars=settings.KNOWLEDGE_CHUNK_CHARS, overlap_chars=settings.KNOWLEDGE_CHUNK_OVERLAP_CHARS
        )
        if not chunks:
            raise ExtractionFailed("The document contains no text.")
        stored = _store(document_id, text, chunks)
    except ExtractionFailed as exc:
        _fail(document_id, exc.reason)
    except PlanLimitReached as exc:
        _fail(document_id, f"Not indexed: {exc.detail}")
    except Exception:
        logger.exception("indexing document %s failed", document_id)
        _fail(document_id, "An unexpected error stopped indexing. Try “Re-index”; contact support if it persists.")
        raise
    else:
        if stored is not None:
            logger.info("indexed document %s: %d chunks", document_id, stored.chunk_count)
        return stored
    return Document.objects.filter(pk=document_id).first()
