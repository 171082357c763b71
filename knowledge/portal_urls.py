"""Portal pages of knowledge bases; included by portal/urls.py (namespace `portal`)."""

from django.urls import path

from knowledge import views

_KB = "knowledge/<str:knowledge_base_id>"

urlpatterns = [
    path("knowledge/", views.knowledge_bases_page, name="knowledge_bases"),
    path(f"{_KB}/", views.knowledge_base_page, name="knowledge_base"),
    path(f"{_KB}/settings/", views.knowledge_base_settings, name="knowledge_base_settings"),
    path(f"{_KB}/delete/", views.knowledge_base_remove, name="knowledge_base_delete"),
    path(f"{_KB}/faqs/", views.knowledge_faq_add, name="knowledge_faq_add"),
    path(f"{_KB}/faqs/<str:faq_id>/", views.knowledge_faq_edit, name="knowledge_faq_edit"),
    path(f"{_KB}/faqs/<str:faq_id>/delete/", views.knowledge_faq_remove, name="knowledge_faq_delete"),
    path(f"{_KB}/documents/", views.knowledge_document_add, name="knowledge_document_add"),
    path(
        f"{_KB}/documents/<str:document_id>/reindex/",
        views.knowledge_document_reindex,
        name="knowledge_document_reindex",
    ),
    path(
        f"{_KB}/documents/<str:document_id>/delete/", views.knowledge_document_remove, name="knowledge_document_delete"
    ),
    path(
        f"{_KB}/documents/<str:document_id>/download/",
        views.knowledge_document_download,
        name="knowledge_document_download",
    ),
]
