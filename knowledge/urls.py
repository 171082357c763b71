"""Included by api/urls.py under /api/v1/."""

from django.urls import path

from knowledge.apis import (
    DocumentDetailApi,
    DocumentListCreateApi,
    DocumentReindexApi,
    FaqDetailApi,
    FaqListCreateApi,
    KnowledgeBaseDetailApi,
    KnowledgeBaseListCreateApi,
    KnowledgeSearchApi,
)

_KB = "knowledge-bases/<str:knowledge_base_id>"

urlpatterns = [
    path("knowledge-bases", KnowledgeBaseListCreateApi.as_view(), name="knowledge-bases"),
    path(_KB, KnowledgeBaseDetailApi.as_view(), name="knowledge-base"),
    path(f"{_KB}/documents", DocumentListCreateApi.as_view(), name="knowledge-documents"),
    path(f"{_KB}/documents/<str:document_id>", DocumentDetailApi.as_view(), name="knowledge-document"),
    path(f"{_KB}/documents/<str:document_id>/reindex", DocumentReindexApi.as_view(), name="knowledge-document-reindex"),
    path(f"{_KB}/faqs", FaqListCreateApi.as_view(), name="knowledge-faqs"),
    path(f"{_KB}/faqs/<str:faq_id>", FaqDetailApi.as_view(), name="knowledge-faq"),
    path(f"{_KB}/search", KnowledgeSearchApi.as_view(), name="knowledge-search"),
]
