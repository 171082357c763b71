"""Vector search's own step after full-text indexing: embed a document's or an FAQ's chunks.

It runs as separate Celery tasks (knowledge.tasks), so the provider being slow, down or
misconfigured never fails full-text indexing: a document stays `ready` and searchable by words,
with `embedding_status` `failed` and a reason (never the key). Running it twice gives the same
vectors as once; a re-index made meanwhile replaces the chunks and queues its own embedding.
"""

from __future__ import annotations

import logging

from knowledge.embeddings import EmbeddingsFailed, EmbeddingsProvider, embeddings_provider
from knowledge.models import Chunk, Document, DocumentStatus, EmbeddingStatus, Faq

logger = logging.getLogger(__name__)


def _passage(chunk: Chunk) -> str:
    return f"{chunk.heading}\n{chunk.text}" if chunk.heading else chunk.text


def _chunks_embed(provider: EmbeddingsProvider, chunks: list[Chunk], language: str) -> None:
    """Compute and store the chunks' vectors (chunks deleted meanwhile are skipped). Raises `EmbeddingsFailed`."""
    if not chunks:
        return
    vectors = provider.embed(texts=[_passage(chunk) for chunk in chunks], language=language)
    for chunk, vector in zip(chunks, vectors, strict=True):
        chunk.embedding, chunk.embedding_model = vector, provider.model
    Chunk.objects.bulk_update(chunks, ["embedding", "embedding_model"], batch_size=200)


def _unembedded_chunks(**source: str) -> list[Chunk]:
    return list(Chunk.objects.filter(**source).only("id", "heading", "text").order_by("position"))


def document_embed(*, document_id: str) -> Document | None:
    """Embed the chunks of a `ready` document; its `embedding_status` ends `ready` or `failed`.

    None when vector search is off or the document is gone or not `ready`. Raises
    `EmbeddingsFailed` after recording it, so the task can retry the retryable ones.
    """
    provider = embeddings_provider()
    document = Document.objects.select_related("knowledge_base").filter(pk=document_id).first()
    if provider is None or document is None or document.status != DocumentStatus.READY:
        return None
    chunks = _unembedded_chunks(document_id=document_id)
    try:
        _chunks_embed(provider, chunks, document.language or document.knowledge_base.language)
    except EmbeddingsFailed as exc:
        logger.warning("embedding document %s failed: %s (retryable=%s)", document_id, exc.reason, exc.retryable)
        Document.objects.filter(pk=document_id).update(
            embedding_status=EmbeddingStatus.FAILED, embedding_failure_reason=exc.reason[:300]
        )
        raise
    Document.objects.filter(pk=document_id).update(embedding_status=EmbeddingStatus.READY, embedding_failure_reason="")
    logger.info("embedded document %s: %d chunks with %s", document_id, len(chunks), provider.model)
    return Document.objects.filter(pk=document_id).first()


def faq_embed(*, faq_id: str) -> bool:
    """Embed an FAQ's chunk; False when vector search is off or the FAQ is gone. Raises `EmbeddingsFailed`."""
    provider = embeddings_provider()
    faq = Faq.objects.select_related("knowledge_base").filter(pk=faq_id).first()
    if provider is None or faq is None:
        return False
    try:
        _chunks_embed(provider, _unembedded_chunks(faq_id=faq_id), faq.language or faq.knowledge_base.language)
    except EmbeddingsFailed as exc:
        logger.warning("embedding FAQ %s failed: %s (retryable=%s)", faq_id, exc.reason, exc.retryable)
        raise
    return True
