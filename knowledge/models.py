"""Knowledge bases (tenant schema): FAQs and documents, cut into chunks indexed for full-text search.

No row carries a tenant: the schema is the boundary (STYLE §4). Chunks hold a stored, GIN-indexed
`tsvector` built with the text search configuration of their language, so ranking and stemming
are language-aware (see docs/knowledge.md).
"""

from __future__ import annotations

import secrets
import string

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models.functions import Lower

from knowledge.languages import KnowledgeLanguage
from knowledge.storage import knowledge_file_storage, knowledge_upload_path

_ALPHABET = string.digits + string.ascii_letters


def _random_id(prefix: str, length: int = 20) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def _new_knowledge_base_id() -> str:
    return _random_id("kb_")


def _new_document_id() -> str:
    return _random_id("doc_")


def _new_faq_id() -> str:
    return _random_id("faq_")


class KnowledgeBase(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=_new_knowledge_base_id, editable=False)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    language = models.CharField(max_length=8, choices=KnowledgeLanguage.choices, default=KnowledgeLanguage.ENGLISH)
    created_by_type = models.CharField(max_length=16)
    created_by_id = models.CharField(max_length=64, blank=True)
    created_by_label = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name", "id")
        constraints = [models.UniqueConstraint(Lower("name"), name="knowledge_base_unique_name")]

    def __str__(self) -> str:
        return self.name


class DocumentSource(models.TextChoices):
    TEXT = "text", "Plain text"
    MARKDOWN = "markdown", "Markdown"
    HTML = "html", "HTML"
    PDF = "pdf", "PDF"


class DocumentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    INDEXING = "indexing", "Indexing"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class EmbeddingStatus(models.TextChoices):
    """The vector search step after indexing (empty: vector search was off when it was indexed)."""

    NONE = "", "Not embedded"
    PENDING = "pending", "Pending"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class Document(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=_new_document_id, editable=False)
    knowledge_base = models.ForeignKey(KnowledgeBase, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(max_length=200)
    source = models.CharField(max_length=16, choices=DocumentSource.choices)
    # Empty: the knowledge base's language.
    language = models.CharField(max_length=8, choices=KnowledgeLanguage.choices, blank=True)
    # The uploaded original (files only; text sent as JSON lives in `text` alone). Private storage
    # under the tenant's schema, never served by URL.
    file = models.FileField(storage=knowledge_file_storage, upload_to=knowledge_upload_path, max_length=300, blank=True)
    filename = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    file_bytes = models.BigIntegerField(default=0)
    # Extracted (or given) plain text and its UTF-8 size.
    text = models.TextField(blank=True)
    text_bytes = models.BigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=DocumentStatus.choices, default=DocumentStatus.PENDING)
    failure_reason = models.CharField(max_length=500, blank=True)
    chunk_count = models.PositiveIntegerField(default=0)
    indexed_at = models.DateTimeField(null=True, blank=True)
    # Vector search only: its own step after indexing; a failure never touches the full-text index.
    embedding_status = models.CharField(max_length=16, choices=EmbeddingStatus.choices, blank=True, default="")
    embedding_failure_reason = models.CharField(max_length=300, blank=True)
    created_by_type = models.CharField(max_length=16)
    created_by_id = models.CharField(max_length=64, blank=True)
    created_by_label = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at", "id")
        indexes = [models.Index(fields=["knowledge_base", "-created_at"], name="knowledge_doc_kb_created")]

    def __str__(self) -> str:
        return self.title

    @property
    def storage_bytes(self) -> int:
        return self.file_bytes + self.text_bytes


class Faq(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=_new_faq_id, editable=False)
    knowledge_base = models.ForeignKey(KnowledgeBase, on_delete=models.CASCADE, related_name="faqs")
    question = models.CharField(max_length=500)
    answer = models.TextField()
    # Empty: the knowledge base's language.
    language = models.CharField(max_length=8, choices=KnowledgeLanguage.choices, blank=True)
    created_by_type = models.CharField(max_length=16)
    created_by_id = models.CharField(max_length=64, blank=True)
    created_by_label = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("created_at", "id")
        indexes = [models.Index(fields=["knowledge_base", "created_at"], name="knowledge_faq_kb_created")]

    def __str__(self) -> str:
        return self.question

    @property
    def storage_bytes(self) -> int:
        return len(self.question.encode()) + len(self.answer.encode())


class Chunk(models.Model):
    """One searchable passage: a piece of a document, or a whole FAQ (question and answer)."""

    knowledge_base = models.ForeignKey(KnowledgeBase, on_delete=models.CASCADE, related_name="chunks")
    document = models.ForeignKey(Document, on_delete=models.CASCADE, null=True, blank=True, related_name="chunks")
    faq = models.ForeignKey(Faq, on_delete=models.CASCADE, null=True, blank=True, related_name="chunks")
    position = models.PositiveIntegerField(default=0)
    # Shown as the passage's title and weighted above the text: the document title or the question.
    heading = models.CharField(max_length=500, blank=True)
    text = models.TextField()
    # The PostgreSQL text search configuration the vector was built with (`english`, `arabic`…);
    # queries are parsed with the same one.
    search_config = models.CharField(max_length=32)
    search_vector = SearchVectorField()
    # Vector search only (docs/knowledge.md): the passage's embedding and the model that made it;
    # only vectors of the configured model are compared. With pgvector: `vector(n)` + HNSW index.
    embedding = ArrayField(models.FloatField(), null=True, blank=True)
    embedding_model = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ("document_id", "faq_id", "position")
        indexes = [
            GinIndex(fields=["search_vector"], name="knowledge_chunk_search"),
            models.Index(fields=["knowledge_base", "search_config"], name="knowledge_chunk_kb_config"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(document__isnull=False, faq__isnull=True)
                | models.Q(document__isnull=True, faq__isnull=False),
                name="knowledge_chunk_one_source",
            ),
            models.UniqueConstraint(fields=["document", "position"], name="knowledge_chunk_document_position"),
            models.UniqueConstraint(fields=["faq", "position"], name="knowledge_chunk_faq_position"),
        ]

    def __str__(self) -> str:
        return f"{self.heading} #{self.position}"
