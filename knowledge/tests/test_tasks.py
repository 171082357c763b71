"""Indexing on a real Celery worker: an upload answers `pending`, the worker (in the tenant's
schema, named by the task header) moves it to `ready`, and each tenant's search sees only its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from knowledge.models import Chunk, Document, DocumentStatus, EmbeddingStatus
from knowledge.selectors import knowledge_search
from knowledge.services import document_create_from_text, document_create_from_upload, faq_create, knowledge_base_create
from knowledge.tests.factories import ACTOR, pdf_bytes
from knowledge.tests.fake_embeddings import MODEL, fake_embeddings_serve, provider_point_at
from testing.celery_worker import celery_worker_running, committed_tenant, purge_now, wait_until

pytestmark = [
    pytest.mark.celery_worker,
    # celery 5.7's Redis result backend still calls redis-py's deprecated setex.
    pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning"),
]


@pytest.fixture(scope="module")
def worker(django_db_setup: None, django_db_blocker) -> Iterator[None]:  # type: ignore[no-untyped-def]
    with django_db_blocker.unblock(), celery_worker_running():
        yield


def _status(schema: str, document_id: str) -> str:
    with schema_context(schema):
        return Document.objects.get(pk=document_id).status


def test_worker_indexes_uploads_in_each_tenants_own_schema(worker: None) -> None:
    alpha, beta = committed_tenant("kb-alpha"), committed_tenant("kb-beta")
    try:
        uploaded = {}
        for tenant, words in ((alpha, "Alpha warranty covers engines."), (beta, "Beta warranty covers wings.")):
            with schema_context(tenant.schema_name):
                kb = knowledge_base_create(name="Manuals", language="en", actor=ACTOR)
                document = document_create_from_upload(
                    knowledge_base=kb,
                    upload=SimpleUploadedFile("manual.pdf", pdf_bytes([[words]]), content_type="application/pdf"),
                    actor=ACTOR,
                )
                assert document.status == DocumentStatus.PENDING  # answered before any indexing
                uploaded[tenant.schema_name] = (kb.pk, document.pk)

        def all_ready() -> bool:
            return all(_status(schema, document_id) == "ready" for schema, (_, document_id) in uploaded.items())

        wait_until(all_ready)

        for tenant, own, other in ((alpha, "engines", "wings"), (beta, "wings", "engines")):
            kb_id, document_id = uploaded[tenant.schema_name]
            with schema_context(tenant.schema_name):
                (hit,) = knowledge_search(knowledge_base_ids=[kb_id], query=f"warranty {own}")
                assert hit.document_id == document_id
                assert knowledge_search(knowledge_base_ids=[kb_id], query=other) == []
                document = Document.objects.get(pk=document_id)
                assert (document.chunk_count, document.failure_reason) == (1, "")
                assert document.indexed_at is not None
    finally:
        for tenant in (alpha, beta):
            purge_now(tenant)


def test_worker_marks_an_unreadable_upload_failed_with_a_reason(worker: None) -> None:
    tenant = committed_tenant("kb-broken")
    try:
        with schema_context(tenant.schema_name):
            kb = knowledge_base_create(name="Manuals", language="en", actor=ACTOR)
            document = document_create_from_upload(
                knowledge_base=kb, upload=SimpleUploadedFile("broken.pdf", b"%PDF-1.7 truncated"), actor=ACTOR
            )
        wait_until(lambda: _status(tenant.schema_name, document.pk) == "failed")
        with schema_context(tenant.schema_name):
            assert Document.objects.get(pk=document.pk).failure_reason == "The file is not a readable PDF."
    finally:
        purge_now(tenant)


def test_worker_embeds_documents_and_faqs_after_indexing_when_vector_search_is_on(worker: None, settings, httpserver):  # type: ignore[no-untyped-def]
    settings.KNOWLEDGE_EMBEDDINGS_PROVIDER = "openai"
    settings.KNOWLEDGE_EMBEDDINGS_MODEL = MODEL
    fake_embeddings_serve(httpserver)
    tenant = committed_tenant("kb-vectors")
    try:
        with schema_context(tenant.schema_name):
            provider_point_at(httpserver)
            kb = knowledge_base_create(name="Policies", language="en", actor=ACTOR)
            document = document_create_from_text(
                knowledge_base=kb, title="Guarantee", text="You get your money back.", source="text", actor=ACTOR
            )
            faq = faq_create(knowledge_base=kb, question="Where is my parcel?", answer="Ask the courier.", actor=ACTOR)

        def embedded() -> bool:
            with schema_context(tenant.schema_name):
                return not Chunk.objects.filter(embedding__isnull=True).exists() and (
                    Document.objects.get(pk=document.pk).embedding_status == EmbeddingStatus.READY
                )

        wait_until(embedded)
        with schema_context(tenant.schema_name):
            assert Chunk.objects.get(faq_id=faq.pk).embedding_model == MODEL
            (hit,) = knowledge_search(knowledge_base_ids=[kb.pk], query="reimbursement")
            assert hit.document_id == document.pk
    finally:
        purge_now(tenant)
