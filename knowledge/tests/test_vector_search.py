"""Optional vector search (KNOWLEDGE_EMBEDDINGS_PROVIDER="openai") against a local fake
OpenAI-compatible `/embeddings` endpoint: vectors stored after indexing, a match by meaning that
full-text search misses, reciprocal rank fusion, provider failures leaving full-text search
working, two tenants isolated, and everything unchanged when it is off."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context
from pytest_httpserver import HTTPServer

from apikeys.tests.factories import IssuedApiKeyFactory, api_client
from config.celery import app as celery_app
from conftest import signed_in_client
from knowledge.embedding_indexing import document_embed, faq_embed
from knowledge.embeddings import EmbeddingsFailed, knowledge_embeddings_check
from knowledge.indexing import document_index
from knowledge.models import Chunk, Document, DocumentStatus, EmbeddingStatus
from knowledge.selectors import knowledge_search
from knowledge.tasks import EMBEDDING_MAX_RETRIES, document_embed_task, documents_stuck_requeue_task
from knowledge.tests.factories import FaqFactory, KnowledgeBaseFactory, text_document
from knowledge.tests.fake_embeddings import (
    API_KEY,
    DIMENSIONS,
    MODEL,
    concept_vector,
    fake_embeddings_serve,
    provider_point_at,
    unit,
)
from knowledge.vector_search import RRF_K, nearest_chunks


@pytest.fixture
def vectors_on(settings):  # type: ignore[no-untyped-def]
    settings.KNOWLEDGE_EMBEDDINGS_PROVIDER = "openai"
    settings.KNOWLEDGE_EMBEDDINGS_MODEL = MODEL
    return settings


@pytest.fixture
def in_a(tenant_a, httpserver: HTTPServer):  # type: ignore[no-untyped-def]
    with schema_context(tenant_a.schema):
        provider_point_at(httpserver)
        yield


def _embedded(knowledge_base, text, **kwargs):  # type: ignore[no-untyped-def]
    document = document_index(document_id=text_document(knowledge_base, text, **kwargs).pk)
    document_embed(document_id=document.pk)
    document.refresh_from_db()
    return document


def _embedding_requests(httpserver: HTTPServer) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(request.get_data()) for request, _ in httpserver.log if request.path == "/v1/embeddings"]


def test_document_embed_stores_one_vector_per_chunk_with_its_model(vectors_on, in_a, httpserver):
    fake_embeddings_serve(httpserver)
    kb = KnowledgeBaseFactory()
    indexed = document_index(document_id=text_document(kb, "A refund takes a week.", title="Refunds").pk)
    assert (indexed.status, indexed.embedding_status) == (DocumentStatus.READY, EmbeddingStatus.PENDING)

    document = document_embed(document_id=indexed.pk)

    assert document is not None and document.embedding_status == EmbeddingStatus.READY
    (chunk,) = Chunk.objects.filter(document=document)
    assert chunk.embedding == pytest.approx(unit(concept_vector("Refunds\nA refund takes a week.")))
    assert len(chunk.embedding) == DIMENSIONS and chunk.embedding_model == MODEL
    (request, _), *_ = httpserver.log
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert _embedding_requests(httpserver)[0]["model"] == MODEL


def test_faq_embed_stores_the_question_and_answer_vector(vectors_on, in_a, httpserver):
    fake_embeddings_serve(httpserver)
    faq = FaqFactory(knowledge_base=KnowledgeBaseFactory(), question="Forgot my login?", answer="Use the reset link.")

    assert faq_embed(faq_id=faq.pk) is True

    assert Chunk.objects.get(faq=faq).embedding == pytest.approx(
        unit(concept_vector("Forgot my login?\nUse the reset link."))
    )


def test_embeddings_dimensions_are_asked_for_and_part_of_the_stored_model(vectors_on, in_a, httpserver):
    fake_embeddings_serve(httpserver)
    vectors_on.KNOWLEDGE_EMBEDDINGS_DIMENSIONS = 3
    kb = KnowledgeBaseFactory()
    document = _embedded(kb, "Money back, always.")

    assert _embedding_requests(httpserver)[0]["dimensions"] == 3
    chunk = Chunk.objects.get(document=document)
    assert (len(chunk.embedding), chunk.embedding_model) == (3, f"{MODEL}:3")
    assert [hit.document_id for hit in knowledge_search(knowledge_base_ids=[kb.pk], query="refund")] == [document.pk]
    vectors_on.KNOWLEDGE_EMBEDDINGS_DIMENSIONS = 0  # another length: those vectors are no longer compared
    assert knowledge_search(knowledge_base_ids=[kb.pk], query="reimburse") == []
    assert len(_embedding_requests(httpserver)) == 2  # the query of the first search only


def test_search_finds_by_meaning_what_full_text_misses(vectors_on, in_a, httpserver):
    fake_embeddings_serve(httpserver)
    kb = KnowledgeBaseFactory()
    money_back = _embedded(kb, "Unhappy customers get their money back within 30 days.", title="Guarantee")
    _embedded(kb, "Our courier brings every parcel in two days.", title="Shipping")

    hits = knowledge_search(knowledge_base_ids=[kb.pk], query="reimbursement")

    assert [hit.document_id for hit in hits] == [money_back.pk]  # the parcel passage is not similar enough
    assert hits[0].headline == "Unhappy customers get their money back within 30 days."
    assert hits[0].score == round(1 / (RRF_K + 1), 6)  # first by meaning, absent from the full-text ranking
    vectors_on.KNOWLEDGE_EMBEDDINGS_PROVIDER = ""
    assert knowledge_search(knowledge_base_ids=[kb.pk], query="reimbursement") == []


def test_search_fuses_both_rankings_by_reciprocal_rank(vectors_on, in_a, httpserver):
    fake_embeddings_serve(httpserver)
    vectors_on.KNOWLEDGE_VECTOR_CANDIDATES = 2
    kb = KnowledgeBaseFactory()
    words_only = _embedded(kb, "Delivery, delivery, delivery: delivery questions.", title="Delivery")
    meaning_only = _embedded(kb, "Money back for any parcel that never came.", title="Lost")
    both = _embedded(kb, "Delivery is free; a refund needs your password.", title="Terms")
    query = "reimburse delivery"
    vectors_on.KNOWLEDGE_EMBEDDINGS_PROVIDER = ""
    full_text = [hit.document_id for hit in knowledge_search(knowledge_base_ids=[kb.pk], query=query, limit=2)]
    vectors_on.KNOWLEDGE_EMBEDDINGS_PROVIDER = "openai"
    nearest = nearest_chunks(
        knowledge_base_ids=[kb.pk], vector=unit(concept_vector(query)), model=MODEL, configs=["english"], limit=2
    )
    assert full_text == [words_only.pk, both.pk]
    assert [chunk.document_id for chunk, _ in nearest] == [meaning_only.pk, both.pk]

    hits = knowledge_search(knowledge_base_ids=[kb.pk], query=query, limit=2)

    # Second in both rankings beats first in one; the two firsts tie and the older chunk wins.
    assert [hit.document_id for hit in hits] == [both.pk, words_only.pk]
    assert [hit.score for hit in hits] == [round(2 / (RRF_K + 2), 6), round(1 / (RRF_K + 1), 6)]
    assert "<mark>Delivery</mark>" in hits[0].headline  # the full-text headline is kept


def test_search_restricts_vectors_to_the_requested_knowledge_bases_and_language(vectors_on, in_a, httpserver):
    fake_embeddings_serve(httpserver)
    kb, other_kb = KnowledgeBaseFactory(), KnowledgeBaseFactory()
    french = KnowledgeBaseFactory(language="fr")
    _embedded(other_kb, "Money back, always.")
    _embedded(french, "Remboursement: money back sous 30 jours.")
    mine = _embedded(kb, "A refund is possible.")

    assert [hit.document_id for hit in knowledge_search(knowledge_base_ids=[kb.pk], query="reimburse")] == [mine.pk]
    hits = knowledge_search(knowledge_base_ids=[kb.pk, french.pk], query="reimburse", language="en")
    assert [hit.document_id for hit in hits] == [mine.pk]


def test_provider_errors_leave_full_text_indexing_and_search_working(vectors_on, in_a, httpserver, caplog):
    httpserver.expect_request("/v1/embeddings").respond_with_json({"error": {"message": "boom"}}, status=500)
    kb = KnowledgeBaseFactory()
    document = document_index(document_id=text_document(kb, "Refunds take a week.").pk)

    with caplog.at_level(logging.WARNING), pytest.raises(EmbeddingsFailed) as failure:
        document_embed(document_id=document.pk)

    assert failure.value.retryable is True
    document.refresh_from_db()
    assert (document.status, document.embedding_status) == (DocumentStatus.READY, EmbeddingStatus.FAILED)
    assert document.embedding_failure_reason == "The embeddings provider answered 500."
    assert Chunk.objects.get(document=document).embedding is None
    assert [hit.document_id for hit in knowledge_search(knowledge_base_ids=[kb.pk], query="refund")] == [document.pk]
    assert API_KEY not in caplog.text and "embedding document" in caplog.text


def test_provider_refusal_is_not_retryable(vectors_on, in_a, httpserver):
    httpserver.expect_request("/v1/embeddings").respond_with_json({"error": {"message": "bad key"}}, status=401)
    document = document_index(document_id=text_document(KnowledgeBaseFactory(), "Refunds take a week.").pk)

    with pytest.raises(EmbeddingsFailed) as failure:
        document_embed(document_id=document.pk)

    assert failure.value.retryable is False
    assert "answered 401" in failure.value.reason and API_KEY not in failure.value.reason


def test_search_falls_back_to_full_text_when_the_query_cannot_be_embedded(vectors_on, in_a, httpserver, caplog):
    fake_embeddings_serve(httpserver)
    kb = KnowledgeBaseFactory()
    refunds = _embedded(kb, "Refunds take a week.")
    _embedded(kb, "Money back is guaranteed.")
    httpserver.clear()
    httpserver.expect_request("/v1/embeddings").respond_with_json({"error": {"message": "down"}}, status=503)
    vectors_on.KNOWLEDGE_EMBEDDINGS_PROVIDER = ""
    full_text = knowledge_search(knowledge_base_ids=[kb.pk], query="refund")
    vectors_on.KNOWLEDGE_EMBEDDINGS_PROVIDER = "openai"

    with caplog.at_level(logging.WARNING):
        hits = knowledge_search(knowledge_base_ids=[kb.pk], query="refund")

    assert hits == full_text and [hit.document_id for hit in hits] == [refunds.pk]
    assert "full-text only" in caplog.text and API_KEY not in caplog.text


def test_vector_search_is_isolated_between_tenants(vectors_on, tenant_a, tenant_b, httpserver):
    fake_embeddings_serve(httpserver)
    with schema_context(tenant_a.schema):
        provider_point_at(httpserver)
        kb_a = KnowledgeBaseFactory()
        _embedded(kb_a, "Alpha customers get their money back.")
    with schema_context(tenant_b.schema):
        provider_point_at(httpserver)
        assert knowledge_search(knowledge_base_ids=[kb_a.pk], query="reimburse") == []
        kb_b = KnowledgeBaseFactory()
        beta = _embedded(kb_b, "Beta customers get a refund.")
        hits = knowledge_search(knowledge_base_ids=[kb_a.pk, kb_b.pk], query="reimburse", limit=10)
        assert [hit.document_id for hit in hits] == [beta.pk]
    with schema_context(tenant_a.schema):
        hits = knowledge_search(knowledge_base_ids=[kb_a.pk, kb_b.pk], query="reimburse", limit=10)
        assert [hit.knowledge_base_id for hit in hits] == [kb_a.pk]


def test_disabled_vector_search_is_full_text_only_and_never_calls_the_provider(settings, in_a, httpserver):
    assert settings.KNOWLEDGE_EMBEDDINGS_PROVIDER == ""
    fake_embeddings_serve(httpserver)
    kb = KnowledgeBaseFactory()
    document = document_index(document_id=text_document(kb, "Refunds take a week.").pk)

    assert document.embedding_status == EmbeddingStatus.NONE
    assert document_embed(document_id=document.pk) is None
    assert knowledge_search(knowledge_base_ids=[kb.pk], query="reimburse") == []
    assert [hit.document_id for hit in knowledge_search(knowledge_base_ids=[kb.pk], query="refund")] == [document.pk]
    assert httpserver.log == []
    assert Chunk.objects.get(document=document).embedding is None


def test_embeddings_check_refuses_an_unknown_provider(settings):
    settings.KNOWLEDGE_EMBEDDINGS_PROVIDER = "pgvector-magic"
    assert [error.id for error in knowledge_embeddings_check()] == ["knowledge.E001"]
    settings.KNOWLEDGE_EMBEDDINGS_PROVIDER = "openai"
    settings.KNOWLEDGE_EMBEDDINGS_MODEL = ""
    assert [error.id for error in knowledge_embeddings_check()] == ["knowledge.E002"]
    settings.KNOWLEDGE_EMBEDDINGS_MODEL = MODEL
    assert knowledge_embeddings_check() == []


def test_api_shows_embedding_status_and_searches_by_meaning(vectors_on, tenant_a, httpserver):
    fake_embeddings_serve(httpserver)
    key = IssuedApiKeyFactory(tenant=tenant_a.tenant, scopes=["agents:read", "knowledge:write"])
    client = api_client(tenant_a.host, key.secret)
    with schema_context(tenant_a.schema):
        provider_point_at(httpserver)
        kb = KnowledgeBaseFactory()
        document = _embedded(kb, "Unhappy customers get their money back.", title="Guarantee")
    base = f"/api/v1/knowledge-bases/{kb.pk}"

    detail = json.loads(client.get(f"{base}/documents/{document.pk}").content)
    search = json.loads(client.get(f"{base}/search?q=reimbursement").content)

    assert (detail["status"], detail["embedding_status"], detail["embedding_failure_reason"]) == ("ready", "ready", "")
    assert [hit["document_id"] for hit in search["results"]] == [document.pk]


def test_portal_shows_a_failed_embedding_with_its_reason_and_offers_reindex(vectors_on, tenant_a, httpserver):
    httpserver.expect_request("/v1/embeddings").respond_with_json({"error": {"message": "bad key"}}, status=401)
    with schema_context(tenant_a.schema):
        provider_point_at(httpserver)
        kb = KnowledgeBaseFactory()
        document = document_index(document_id=text_document(kb, "Refunds take a week.", title="Refunds").pk)
        with pytest.raises(EmbeddingsFailed):
            document_embed(document_id=document.pk)

    page = signed_in_client(tenant_a).get(f"/knowledge/{kb.pk}/").content.decode()

    assert "Not in vector search: The embeddings provider answered 401." in page
    assert f"/knowledge/{kb.pk}/documents/{document.pk}/reindex" in page


def test_sweep_queues_embedding_again_for_documents_left_pending(vectors_on, tenant_a):
    vectors_on.KNOWLEDGE_STUCK_AFTER_MINUTES = 30
    with schema_context(tenant_a.schema):
        kb = KnowledgeBaseFactory()
        lost, fresh = (document_index(document_id=text_document(kb, f"text {n}").pk) for n in range(2))
        Document.objects.filter(pk=lost.pk).update(updated_at=timezone.now() - timedelta(minutes=31))
        Document.objects.filter(pk=fresh.pk).update(updated_at=timezone.now() - timedelta(minutes=5))
    celery_app.control.purge()

    assert documents_stuck_requeue_task() == 1
    assert celery_app.control.purge() == 1  # one document_embed_task in the broker
    assert documents_stuck_requeue_task() == 0  # queued again: waits another 30 minutes


@pytest.mark.parametrize(("status", "attempts"), [(503, 1 + EMBEDDING_MAX_RETRIES), (401, 1)])
def test_embed_task_retries_only_retryable_failures_then_leaves_the_document_failed(
    vectors_on, in_a, httpserver, status, attempts
):
    httpserver.expect_request("/v1/embeddings").respond_with_json({"error": {"message": "no"}}, status=status)
    document = document_index(document_id=text_document(KnowledgeBaseFactory(), "Refunds take a week.").pk)

    document_embed_task.apply(kwargs={"document_id": document.pk})  # eager: retries run at once

    assert len(_embedding_requests(httpserver)) == attempts
    document.refresh_from_db()
    assert (document.status, document.embedding_status) == (DocumentStatus.READY, EmbeddingStatus.FAILED)
