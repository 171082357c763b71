"""Vector search: the nearest chunks by cosine similarity, fused with the full-text ranking.

Without pgvector the similarity is the IMMUTABLE function `knowledge_cosine_similarity`
(migration 0002) over `double precision[]` unit vectors: a brute-force scan of the requested
knowledge bases' embedded chunks, computed in PostgreSQL; its cost grows with chunks × dimensions
(measured figures in docs/knowledge.md, "Vector search").
With pgvector the column becomes `vector(n)` with an HNSW index and `_CosineSimilarity` becomes
`1 - (embedding <=> query)`; nothing else here changes.

Fusion is reciprocal rank fusion (Cormack et al., 2009): a chunk's score is the sum over the
rankings it appears in of 1 / (RRF_K + rank), so neither ranking's raw scores need calibrating.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db.models import F, FloatField, Func, Value

from knowledge.embeddings import EmbeddingsFailed, embeddings_provider
from knowledge.models import Chunk

logger = logging.getLogger(__name__)

# The constant of reciprocal rank fusion: 60 is the value of the original paper and common use.
RRF_K = 60
# Words of a passage shown as the headline of a hit found by meaning only (no words to mark).
_HEADLINE_WORDS = 35


class _CosineSimilarity(Func):
    function = "knowledge_cosine_similarity"
    output_field = FloatField()


def nearest_chunks(
    *, knowledge_base_ids: Sequence[str], vector: list[float], model: str, configs: Sequence[str], limit: int
) -> list[tuple[Chunk, float]]:
    """The `limit` chunks of the knowledge bases (and text search configurations) closest to `vector`
    among those embedded with `model` and at least KNOWLEDGE_VECTOR_MIN_SIMILARITY similar, with
    their cosine similarity, most similar first."""
    query = Value(vector, output_field=ArrayField(FloatField()))
    # No WHERE on the similarity: PostgreSQL would compute it twice per row; ORDER BY uses the
    # selected value once, and the threshold is applied to the `limit` best.
    rows = (
        Chunk.objects.filter(knowledge_base_id__in=knowledge_base_ids, search_config__in=configs, embedding_model=model)
        .annotate(similarity=_CosineSimilarity(F("embedding"), query))
        .defer("search_vector", "embedding")
        .order_by(F("similarity").desc(nulls_last=True), "id")[:limit]
    )
    least = float(settings.KNOWLEDGE_VECTOR_MIN_SIMILARITY)
    return [(row, float(row.similarity)) for row in rows if row.similarity is not None and row.similarity >= least]


def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]]) -> list[tuple[int, float]]:
    """The chunk ids of all rankings (each best first) with their fused score, best first (ties by id)."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, chunk_id in enumerate(ranking, start=1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + 1.0 / (RRF_K + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


def plain_headline(text: str) -> str:
    words = text.split()
    return " ".join(words[:_HEADLINE_WORDS]) + (" …" if len(words) > _HEADLINE_WORDS else "")


def query_vector(
    *, knowledge_base_ids: Sequence[str], query: str, language: str | None
) -> tuple[list[float], str] | None:
    """The query's embedding and model, or None: vector search off, no chunk of these knowledge
    bases embedded with the configured model, or the provider failing (logged; the caller falls
    back to full-text search)."""
    provider = embeddings_provider()
    if provider is None:
        return None
    if not Chunk.objects.filter(knowledge_base_id__in=knowledge_base_ids, embedding_model=provider.model).exists():
        return None
    try:
        (vector,) = provider.embed(texts=[query], language=language or "")
    except EmbeddingsFailed as exc:
        logger.warning("embedding a search query failed, full-text only: %s (retryable=%s)", exc.reason, exc.retryable)
        return None
    return vector, provider.model


def vector_candidates(limit: int) -> int:
    return max(limit, int(settings.KNOWLEDGE_VECTOR_CANDIDATES))
