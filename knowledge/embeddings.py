"""The seam for optional vector search: the embeddings provider (docs/knowledge.md, "Vector search").

`KNOWLEDGE_EMBEDDINGS_PROVIDER` is `""` (off: full-text search only, exactly as without this
module) or `"openai"`: any OpenAI-compatible `/embeddings` endpoint, called with the workspace's
model provider settings (conversations.ProviderSettings: base URL, encrypted key, timeout,
retries) and the model `KNOWLEDGE_EMBEDDINGS_MODEL`. A vector's length is whatever the endpoint
answers (or `KNOWLEDGE_EMBEDDINGS_DIMENSIONS` when set). Vectors are scaled to unit length and
stored with the model's name (and asked length), so vectors of different models are never compared.

Without pgvector the vectors are `double precision[]` and similarity is computed by an IMMUTABLE
SQL function (knowledge.vector_search); with pgvector only the column type, the index and that
function change, not this seam.

Every failure becomes `EmbeddingsFailed` (with `retryable`): the API key is never in its reason
nor in a log line.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol

import openai
from django.conf import settings
from django.core.checks import CheckMessage, Error, register

OPENAI = "openai"
PROVIDERS = ("", OPENAI)
DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Ollama and vLLM accept any key; the client refuses an empty one.
PLACEHOLDER_KEY = "not-needed"
# Longest text sent for one passage (an FAQ's answer can be long; a chunk is KNOWLEDGE_CHUNK_CHARS).
MAX_EMBEDDED_CHARS = 8000


class EmbeddingsFailed(Exception):
    """The provider could not embed the texts. `reason` is safe to show and log (no key)."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class EmbeddingsProvider(Protocol):
    """Turns passages into vectors (e.g. an OpenAI-compatible `/embeddings` endpoint)."""

    model: str  # stored with each vector: only vectors of the same `model` are compared

    def embed(self, *, texts: Sequence[str], language: str) -> list[list[float]]:
        """One unit-length vector per text, in order, all of the same length. Raises `EmbeddingsFailed`."""
        ...


def _failure(exc: openai.OpenAIError) -> EmbeddingsFailed:
    if isinstance(exc, openai.APITimeoutError):
        return EmbeddingsFailed("The embeddings provider did not answer in time.", retryable=True)
    if isinstance(exc, openai.APIConnectionError):
        return EmbeddingsFailed("The embeddings provider could not be reached.", retryable=True)
    if isinstance(exc, openai.APIStatusError):
        retryable = exc.status_code == 429 or exc.status_code >= 500
        hint = "" if retryable else " Check the workspace's model provider settings and KNOWLEDGE_EMBEDDINGS_MODEL."
        return EmbeddingsFailed(f"The embeddings provider answered {exc.status_code}.{hint}", retryable=retryable)
    return EmbeddingsFailed("The embeddings provider's answer could not be read.", retryable=False)


def _unit(vector: list[float]) -> list[float]:
    norm = math.sqrt(math.fsum(x * x for x in vector))
    if not norm or not math.isfinite(norm):
        raise EmbeddingsFailed("The embeddings provider's answer could not be read.", retryable=False)
    return [x / norm for x in vector]


def _vectors(data: Sequence[object], expected: int) -> list[list[float]]:
    """The answer's vectors in input order, scaled to unit length (cosine similarity is then a dot product)."""
    ordered = sorted(data, key=lambda item: getattr(item, "index", 0))
    vectors = [[float(x) for x in getattr(item, "embedding", None) or []] for item in ordered]
    if len(vectors) != expected or any(not vector for vector in vectors):
        raise EmbeddingsFailed("The embeddings provider's answer could not be read.", retryable=False)
    return [_unit(vector) for vector in vectors]


class OpenAIEmbeddings:
    """The `openai` provider, with the current tenant's model provider settings."""

    def __init__(self) -> None:
        # Imported here: conversations depends on knowledge, not the other way round at import time.
        from conversations.selectors import provider_settings_get

        config = provider_settings_get()
        self._model_name = str(settings.KNOWLEDGE_EMBEDDINGS_MODEL)
        self._base_url = config.base_url or DEFAULT_BASE_URL
        self._api_key = config.api_key() or PLACEHOLDER_KEY
        self._timeout = float(config.timeout_seconds)
        self._max_retries = int(config.max_retries)
        self._dimensions = int(settings.KNOWLEDGE_EMBEDDINGS_DIMENSIONS or 0)
        # `dimensions` shortens the vectors of models that support it (OpenAI's text-embedding-3).
        self._options: dict[str, Any] = {"encoding_format": "float"}
        if self._dimensions:
            self._options["dimensions"] = self._dimensions
        # What the vectors are stored with: vectors of another model or length are never compared.
        self.model = f"{self._model_name}:{self._dimensions}" if self._dimensions else self._model_name

    def embed(self, *, texts: Sequence[str], language: str) -> list[list[float]]:
        batch_size = max(1, int(settings.KNOWLEDGE_EMBEDDINGS_BATCH))
        client = openai.OpenAI(
            api_key=self._api_key, base_url=self._base_url, timeout=self._timeout, max_retries=self._max_retries
        )
        vectors: list[list[float]] = []
        try:
            for start in range(0, len(texts), batch_size):
                batch = [text[:MAX_EMBEDDED_CHARS] or " " for text in texts[start : start + batch_size]]
                response = client.embeddings.create(model=self._model_name, input=batch, **self._options)
                vectors += _vectors(response.data, len(batch))
        except openai.OpenAIError as exc:
            raise _failure(exc) from None
        finally:
            client.close()
        lengths = {len(vector) for vector in vectors}
        if len(lengths) > 1 or (self._dimensions and lengths != {self._dimensions}):
            raise EmbeddingsFailed(
                f"The embeddings provider answered vectors of {sorted(lengths)} dimensions"
                + (f", not {self._dimensions}." if self._dimensions else "."),
                retryable=False,
            )
        return vectors


def embeddings_enabled() -> bool:
    return bool(settings.KNOWLEDGE_EMBEDDINGS_PROVIDER)


def embeddings_provider() -> EmbeddingsProvider | None:
    """The configured provider for the current tenant, or None when vector search is off."""
    if settings.KNOWLEDGE_EMBEDDINGS_PROVIDER == OPENAI:
        return OpenAIEmbeddings()
    return None


@register()
def knowledge_embeddings_check(**kwargs: object) -> list[CheckMessage]:
    if settings.KNOWLEDGE_EMBEDDINGS_PROVIDER not in PROVIDERS:
        return [
            Error(
                f"KNOWLEDGE_EMBEDDINGS_PROVIDER must be empty or {OPENAI!r}.",
                hint="Leave it empty for full-text search only (see docs/knowledge.md, 'Vector search').",
                id="knowledge.E001",
            )
        ]
    if settings.KNOWLEDGE_EMBEDDINGS_PROVIDER and not settings.KNOWLEDGE_EMBEDDINGS_MODEL:
        return [
            Error(
                "KNOWLEDGE_EMBEDDINGS_MODEL is empty while KNOWLEDGE_EMBEDDINGS_PROVIDER is set.",
                hint="Name the embeddings model, e.g. text-embedding-3-small.",
                id="knowledge.E002",
            )
        ]
    return []
