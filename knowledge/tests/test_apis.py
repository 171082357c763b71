"""/api/v1/knowledge-bases…: CRUD, uploads, limits, search, scopes and two-tenant isolation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from apikeys.tests.factories import IssuedApiKeyFactory, api_client
from audit.services import Actor
from billing.models import Limit
from billing.services import tenant_entitlement_override_create
from knowledge.indexing import document_index
from knowledge.models import Chunk, Document, Faq, KnowledgeBase
from knowledge.tests.factories import pdf_bytes


@pytest.fixture
def client_a(tenant_a):  # type: ignore[no-untyped-def]
    key = IssuedApiKeyFactory(tenant=tenant_a.tenant, scopes=["agents:read", "knowledge:write"])
    return api_client(tenant_a.host, key.secret)


@pytest.fixture
def client_b(tenant_b):  # type: ignore[no-untyped-def]
    key = IssuedApiKeyFactory(tenant=tenant_b.tenant, scopes=["agents:read", "knowledge:write"])
    return api_client(tenant_b.host, key.secret)


def _post(client, path: str, body: dict):  # type: ignore[no-untyped-def]
    return client.post(path, data=json.dumps(body), content_type="application/json")


def _kb(client, name: str = "Help centre", language: str = "en") -> dict:  # type: ignore[no-untyped-def]
    response = _post(client, "/api/v1/knowledge-bases", {"name": name, "language": language})
    assert response.status_code == 201, response.content
    return json.loads(response.content)


def test_knowledge_base_crud(client_a):
    created = _kb(client_a, "Help centre")
    assert (created["name"], created["language"], created["document_count"], created["faq_count"]) == (
        "Help centre",
        "en",
        0,
        0,
    )
    path = f"/api/v1/knowledge-bases/{created['id']}"

    patched = client_a.patch(path, data=json.dumps({"description": "For customers"}), content_type="application/json")
    assert json.loads(patched.content)["description"] == "For customers"
    listed = json.loads(client_a.get("/api/v1/knowledge-bases").content)
    assert [kb["id"] for kb in listed["results"]] == [created["id"]]

    assert client_a.delete(path).status_code == 204
    assert client_a.get(path).status_code == 404


def test_knowledge_base_duplicate_name_is_a_validation_error(client_a):
    _kb(client_a, "Sales")
    response = _post(client_a, "/api/v1/knowledge-bases", {"name": "sales"})

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert json.loads(response.content)["errors"] == [
        {"field": "name", "code": "invalid", "message": "A knowledge base with this name already exists."}
    ]


def test_faq_crud_and_search(client_a):
    kb = _kb(client_a)
    faqs = f"/api/v1/knowledge-bases/{kb['id']}/faqs"
    created = _post(client_a, faqs, {"question": "Do you ship abroad?", "answer": "Yes, to 40 countries."})
    assert created.status_code == 201
    faq = json.loads(created.content)

    patched = client_a.patch(
        f"{faqs}/{faq['id']}", data=json.dumps({"answer": "Yes, to 45 countries."}), content_type="application/json"
    )
    assert json.loads(patched.content)["answer"] == "Yes, to 45 countries."
    search = json.loads(client_a.get(f"/api/v1/knowledge-bases/{kb['id']}/search?q=shipping+abroad").content)
    assert search["query"] == "shipping abroad"
    (hit,) = search["results"]
    assert (hit["kind"], hit["faq_id"], hit["text"]) == ("faq", faq["id"], "Yes, to 45 countries.")
    assert "<mark>" in hit["headline"] and 0 < hit["score"] < 1

    assert client_a.delete(f"{faqs}/{faq['id']}").status_code == 204
    assert json.loads(client_a.get(f"/api/v1/knowledge-bases/{kb['id']}/search?q=abroad").content)["results"] == []


def test_search_requires_q(client_a):
    kb = _kb(client_a)
    response = client_a.get(f"/api/v1/knowledge-bases/{kb['id']}/search")

    assert response.status_code == 400
    assert json.loads(response.content)["code"] == "validation_error"


def test_document_json_text_answers_pending_then_detail_shows_ready(client_a, tenant_a):
    kb = _kb(client_a)
    documents = f"/api/v1/knowledge-bases/{kb['id']}/documents"

    response = _post(client_a, documents, {"title": "Hours", "text": "Open **daily** from 9.", "format": "markdown"})

    assert response.status_code == 201
    document = json.loads(response.content)
    assert (document["status"], document["format"], document["chunk_count"]) == ("pending", "markdown", 0)
    with schema_context(tenant_a.schema):
        document_index(document_id=document["id"])  # what the Celery task runs (see test_tasks.py)
    detail = json.loads(client_a.get(f"{documents}/{document['id']}").content)
    assert (detail["status"], detail["text"], detail["chunk_count"]) == ("ready", "Open daily from 9.", 1)
    assert [d["id"] for d in json.loads(client_a.get(f"{documents}?status=ready").content)["results"]] == [
        document["id"]
    ]
    assert json.loads(client_a.get(f"{documents}?status=failed").content)["results"] == []


def test_document_multipart_upload_of_a_pdf(client_a, tenant_a, knowledge_files):
    kb = _kb(client_a)
    data = pdf_bytes([["The warranty lasts two years."]])

    response = client_a.post(
        f"/api/v1/knowledge-bases/{kb['id']}/documents",
        data={"file": SimpleUploadedFile("warranty.pdf", data, content_type="application/pdf"), "title": "Warranty"},
    )

    assert response.status_code == 201, response.content
    body = json.loads(response.content)
    assert (body["title"], body["format"], body["file_bytes"], body["status"]) == (
        "Warranty",
        "pdf",
        len(data),
        "pending",
    )
    assert "file" not in body and "path" not in json.dumps(body)  # no storage path or URL is ever exposed
    with schema_context(tenant_a.schema):
        assert Path(knowledge_files, Document.objects.get(pk=body["id"]).file.name).read_bytes() == data


def test_document_upload_over_the_limit_is_413(client_a, settings):
    settings.KNOWLEDGE_MAX_UPLOAD_BYTES = 100
    kb = _kb(client_a)

    response = client_a.post(
        f"/api/v1/knowledge-bases/{kb['id']}/documents", data={"file": SimpleUploadedFile("a.txt", b"x" * 101)}
    )

    assert response.status_code == 413
    problem = json.loads(response.content)
    assert (problem["code"], problem["max_bytes"], problem["size"]) == ("file_too_large", 100, 101)


def test_document_upload_far_over_the_limit_is_refused_before_reading(client_a, settings):
    settings.KNOWLEDGE_MAX_UPLOAD_BYTES = 100
    kb = _kb(client_a)

    response = client_a.post(
        f"/api/v1/knowledge-bases/{kb['id']}/documents", data={"file": SimpleUploadedFile("a.txt", b"x" * 200_000)}
    )

    assert response.status_code == 413
    assert json.loads(response.content)["code"] == "file_too_large"


def test_document_beyond_the_storage_limit_is_plan_limit_reached(client_a, tenant_a):
    tenant_entitlement_override_create(
        tenant=tenant_a.tenant,
        limits={Limit.KNOWLEDGE_STORAGE_BYTES: 10},
        features=[],
        reason="test",
        actor=Actor.system(),
    )
    kb = _kb(client_a)

    response = _post(client_a, f"/api/v1/knowledge-bases/{kb['id']}/documents", {"title": "T", "text": "x" * 11})

    assert response.status_code == 403
    problem = json.loads(response.content)
    assert (problem["code"], problem["limit"], problem["requested"]) == (
        "plan_limit_reached",
        "knowledge_storage_bytes",
        11,
    )
    with schema_context(tenant_a.schema):
        assert not Document.objects.exists()


def test_document_unsupported_upload_is_a_validation_error(client_a):
    kb = _kb(client_a)

    response = client_a.post(
        f"/api/v1/knowledge-bases/{kb['id']}/documents",
        data={"file": SimpleUploadedFile("a.exe", b"MZ\x90\x00", content_type="application/x-msdownload")},
    )

    assert response.status_code == 400
    (error,) = json.loads(response.content)["errors"]
    assert error["field"] == "file" and error["message"].startswith("Upload plain text, Markdown, HTML or PDF")


def test_document_reindex_and_delete(client_a, tenant_a):
    kb = _kb(client_a)
    documents = f"/api/v1/knowledge-bases/{kb['id']}/documents"
    document = json.loads(_post(client_a, documents, {"title": "T", "text": "Some text."}).content)
    with schema_context(tenant_a.schema):
        document_index(document_id=document["id"])

    reindexed = client_a.post(f"{documents}/{document['id']}/reindex")
    assert json.loads(reindexed.content)["status"] == "pending"
    assert client_a.delete(f"{documents}/{document['id']}").status_code == 204
    with schema_context(tenant_a.schema):
        assert not Chunk.objects.exists()


def test_reads_need_agents_read_and_writes_need_knowledge_write(tenant_a):
    reader = api_client(tenant_a.host, IssuedApiKeyFactory(tenant=tenant_a.tenant, scopes=["agents:read"]).secret)

    assert reader.get("/api/v1/knowledge-bases").status_code == 200
    refused = _post(reader, "/api/v1/knowledge-bases", {"name": "Nope"})
    assert refused.status_code == 403
    assert json.loads(refused.content)["missing_scopes"] == ["knowledge:write"]


def test_two_tenants_see_nothing_of_each_other(client_a, client_b, tenant_a, tenant_b):
    kb = _kb(client_a, "Alpha internal")
    faq = json.loads(
        _post(client_a, f"/api/v1/knowledge-bases/{kb['id']}/faqs", {"question": "Alpha code?", "answer": "42"}).content
    )
    document = json.loads(
        client_a.post(
            f"/api/v1/knowledge-bases/{kb['id']}/documents", data={"file": SimpleUploadedFile("a.txt", b"alpha doc")}
        ).content
    )
    base = f"/api/v1/knowledge-bases/{kb['id']}"

    assert json.loads(client_b.get("/api/v1/knowledge-bases").content)["results"] == []
    for path in (base, f"{base}/faqs", f"{base}/faqs/{faq['id']}", f"{base}/documents",
                 f"{base}/documents/{document['id']}", f"{base}/search?q=alpha"):  # fmt: skip
        response = client_b.get(path)
        assert response.status_code == 404, path
        assert "alpha" not in response.content.decode().lower()
    assert client_b.delete(base).status_code == 404
    assert client_b.delete(f"{base}/documents/{document['id']}").status_code == 404
    assert client_b.post(f"{base}/documents/{document['id']}/reindex").status_code == 404
    assert _post(client_b, f"{base}/faqs", {"question": "Injected?", "answer": "yes"}).status_code == 404
    with schema_context(tenant_a.schema):
        assert (KnowledgeBase.objects.count(), Faq.objects.count(), Document.objects.count()) == (1, 1, 1)
    with schema_context(tenant_b.schema):
        assert not KnowledgeBase.objects.exists()
