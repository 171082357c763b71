"""The seam for optional vector search. Not active in this release: full-text search only.

Vector search needs two things this deployment does not have: an embeddings provider (a model
that turns text into vectors) and the pgvector extension in PostgreSQL (`CREATE EXTENSION
vector`; Debian packages it as `postgresql-15-pgvector`). When both exist, the plan is
(docs/knowledge.md, "Vector search"):

1. `KNOWLEDGE_EMBEDDINGS_PROVIDER` names a class implementing `EmbeddingsProvider`;
2. a migration adds `Chunk.embedding vector(<dimensions>)` with an HNSW index, applied only when
   the extension is present;
3. indexing calls `embed()` on each document's chunks after the full-text vectors are written;
4. `knowledge_search` merges the full-text ranking with the nearest chunks by cosine distance
   (reciprocal rank fusion), keeping `SearchHit` unchanged for its callers.

Until then a configured provider is refused at start-up (`knowledge_embeddings_check`) rather
than silently ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from django.conf import settings
from django.core.checks import CheckMessage, Error, register


class EmbeddingsProvider(Protocol):
    """Turns passages into fixed-length vectors (e.g. an OpenAI-compatible `/embeddings` endpoint)."""

    dimensions: int

    def embed(self, *, texts: Sequence[str], language: str) -> list[list[float]]:
        """One vector of `dimensions` floats per text, in order. Raises on provider errors."""
        ...


@register()
def knowledge_embeddings_check(**kwargs: object) -> list[CheckMessage]:
    if not settings.KNOWLEDGE_EMBEDDINGS_PROVIDER:
        return []
    return [
        Error(
            "KNOWLEDGE_EMBEDDINGS_PROVIDER is set, but vector search is not available in this release.",
            hint="Unset it; knowledge search uses PostgreSQL full-text search (see docs/knowledge.md).",
            id="knowledge.E001",
        )
    ]
