"""Output serializers and OpenAPI examples of the knowledge API."""

from __future__ import annotations

from rest_framework import serializers

from apikeys.apis import CreatorOutput  # the shared `created_by` shape
from knowledge.languages import KnowledgeLanguage
from knowledge.models import DocumentSource, DocumentStatus, EmbeddingStatus


class KnowledgeBaseOutput(serializers.Serializer):
    id = serializers.CharField(help_text="Stable id, `kb_…`.")
    name = serializers.CharField()
    description = serializers.CharField()
    language = serializers.ChoiceField(choices=KnowledgeLanguage.choices, help_text="Stemming and stop words used.")
    document_count = serializers.IntegerField()
    faq_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    created_by = CreatorOutput(source="*")


class DocumentOutput(serializers.Serializer):
    id = serializers.CharField(help_text="Stable id, `doc_…`.")
    knowledge_base = serializers.CharField(source="knowledge_base_id")
    title = serializers.CharField()
    format = serializers.ChoiceField(source="source", choices=DocumentSource.choices)
    language = serializers.CharField(help_text="Empty: the knowledge base's language.")
    filename = serializers.CharField(help_text="The uploaded file's name (empty for plain text sent as JSON).")
    file_bytes = serializers.IntegerField(help_text="Size of the stored original file.")
    text_bytes = serializers.IntegerField(help_text="Size of the extracted text (UTF-8).")
    status = serializers.ChoiceField(choices=DocumentStatus.choices)
    failure_reason = serializers.CharField(help_text="Why indexing failed (status `failed`).")
    chunk_count = serializers.IntegerField(help_text="Searchable passages once `ready`.")
    indexed_at = serializers.DateTimeField(allow_null=True)
    embedding_status = serializers.ChoiceField(
        choices=EmbeddingStatus.choices,
        help_text="Vector search only (empty when it is off): `pending` → `ready`, or `failed` with "
        "`embedding_failure_reason`. The document is searchable by its words either way.",
    )
    embedding_failure_reason = serializers.CharField(help_text="Why embedding failed (`embedding_status` `failed`).")
    created_at = serializers.DateTimeField()
    created_by = CreatorOutput(source="*")


class DocumentDetailOutput(DocumentOutput):
    text = serializers.CharField(help_text="The extracted plain text (empty until indexed, for files).")


class FaqOutput(serializers.Serializer):
    id = serializers.CharField(help_text="Stable id, `faq_…`.")
    knowledge_base = serializers.CharField(source="knowledge_base_id")
    question = serializers.CharField()
    answer = serializers.CharField()
    language = serializers.CharField(help_text="Empty: the knowledge base's language.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    created_by = CreatorOutput(source="*")


class SearchHitOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[("document", "document"), ("faq", "faq")])
    document_id = serializers.CharField(allow_null=True)
    faq_id = serializers.CharField(allow_null=True)
    title = serializers.CharField(help_text="The document's title or the FAQ's question.")
    text = serializers.CharField(help_text="The passage: a document chunk, or the FAQ's answer.")
    headline = serializers.CharField(help_text="HTML: best fragments, escaped, matches in `<mark>`.")
    score = serializers.FloatField(help_text="Relevance in [0, 1); higher is better.")
    position = serializers.IntegerField(help_text="The chunk's index within its document.")
    search_config = serializers.CharField(help_text="PostgreSQL text search configuration, e.g. `english`, `arabic`.")


class SearchOutput(serializers.Serializer):
    query = serializers.CharField()
    results = SearchHitOutput(many=True)


_CREATOR = {"type": "user", "id": "1", "name": "owner@acme.test"}
KNOWLEDGE_BASE_EXAMPLE = {
    "id": "kb_4fQz8LmN2pRt6VxY0aBc",
    "name": "Help centre",
    "description": "Answers for customers: shipping, returns, accounts.",
    "language": "en",
    "document_count": 3,
    "faq_count": 12,
    "created_at": "2026-03-02T09:14:07.120000Z",
    "updated_at": "2026-03-02T09:14:07.120000Z",
    "created_by": _CREATOR,
}
DOCUMENT_EXAMPLE = {
    "id": "doc_8HkP3sW9qZ1mX5cV7bNd",
    "knowledge_base": "kb_4fQz8LmN2pRt6VxY0aBc",
    "title": "Returns policy",
    "format": "pdf",
    "language": "",
    "filename": "returns-policy.pdf",
    "file_bytes": 48213,
    "text_bytes": 0,
    "status": "pending",
    "failure_reason": "",
    "chunk_count": 0,
    "indexed_at": None,
    "embedding_status": "",
    "embedding_failure_reason": "",
    "created_at": "2026-03-02T09:20:11.000000Z",
    "created_by": _CREATOR,
}
FAQ_EXAMPLE = {
    "id": "faq_2bTn6YhJ4kLp8QwE0rSd",
    "knowledge_base": "kb_4fQz8LmN2pRt6VxY0aBc",
    "question": "How long do I have to return an item?",
    "answer": "You can return items within 30 days of delivery.",
    "language": "",
    "created_at": "2026-03-02T09:16:40.000000Z",
    "updated_at": "2026-03-02T09:16:40.000000Z",
    "created_by": _CREATOR,
}
SEARCH_EXAMPLE = {
    "query": "return an item",
    "results": [
        {
            "kind": "faq",
            "document_id": None,
            "faq_id": "faq_2bTn6YhJ4kLp8QwE0rSd",
            "title": "How long do I have to return an item?",
            "text": "You can return items within 30 days of delivery.",
            "headline": "How long do I have to <mark>return</mark> an <mark>item</mark>? You can …",
            "score": 0.0909,
            "position": 0,
            "search_config": "english",
        }
    ],
}
