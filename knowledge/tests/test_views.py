"""Portal "Knowledge" pages: permissions, empty states, forms, downloads and two-tenant isolation."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from accounts.models import Role
from conftest import make_member, signed_in_client
from knowledge.indexing import document_index
from knowledge.models import Document, Faq, KnowledgeBase
from knowledge.tests.factories import FaqFactory, KnowledgeBaseFactory


@pytest.fixture
def owner_a(tenant_a):  # type: ignore[no-untyped-def]
    return signed_in_client(tenant_a)


def _kb_in(tenant, **kwargs) -> KnowledgeBase:  # type: ignore[no-untyped-def]
    with schema_context(tenant.schema):
        return KnowledgeBaseFactory.create(**kwargs)


def test_list_page_shows_the_empty_state_and_the_create_form(owner_a):
    response = owner_a.get("/knowledge/")

    assert response.status_code == 200
    assert "No knowledge bases yet." in response.content.decode()
    assert "Create a knowledge base" in response.content.decode()


def test_create_a_knowledge_base_then_add_an_faq_and_search_it(owner_a, tenant_a):
    created = owner_a.post("/knowledge/", {"kb-name": "Help centre", "kb-language": "en", "kb-description": ""})
    with schema_context(tenant_a.schema):
        kb = KnowledgeBase.objects.get(name="Help centre")
    assert created.status_code == 302 and created["Location"] == f"/knowledge/{kb.pk}/"
    detail = owner_a.get(f"/knowledge/{kb.pk}/").content.decode()
    assert "No FAQs yet." in detail and "No documents yet." in detail

    owner_a.post(
        f"/knowledge/{kb.pk}/faqs/",
        {"faq-question": "Do you deliver on Sundays?", "faq-answer": "No, Monday to Saturday."},
    )
    page = owner_a.get(f"/knowledge/{kb.pk}/", {"q": "sunday delivery"}).content.decode()

    assert "Do you deliver on Sundays?" in page
    assert "<mark>Sundays</mark>" in page


def test_upload_then_download_the_original_as_an_attachment(owner_a, tenant_a):
    kb = _kb_in(tenant_a)
    page = b"<html><body><script>alert(1)</script><p>Returns within 30 days.</p></body></html>"

    response = owner_a.post(
        f"/knowledge/{kb.pk}/documents/",
        {"document-file": SimpleUploadedFile("returns.html", page, content_type="text/html")},
    )

    assert response.status_code == 302
    with schema_context(tenant_a.schema):
        document = Document.objects.get(knowledge_base=kb)
    assert document.status == "pending"
    detail = owner_a.get(f"/knowledge/{kb.pk}/").content.decode()
    assert 'hx-trigger="every 2s"' in detail  # polls while indexing
    download = owner_a.get(f"/knowledge/{kb.pk}/documents/{document.pk}/download/")
    assert download.content == page
    assert download["Content-Type"] == "application/octet-stream"
    assert download["Content-Disposition"] == 'attachment; filename="returns.html"'
    assert download["X-Content-Type-Options"] == "nosniff"
    with schema_context(tenant_a.schema):
        document_index(document_id=document.pk)
    assert 'hx-trigger="every 2s"' not in owner_a.get(f"/knowledge/{kb.pk}/").content.decode()


def test_document_form_needs_a_file_or_text(owner_a, tenant_a):
    kb = _kb_in(tenant_a)

    response = owner_a.post(f"/knowledge/{kb.pk}/documents/", {"document-title": "Empty", "document-text": "  "})

    assert response.status_code == 400
    assert "Choose a file or paste text" in response.content.decode()


def test_pasted_text_over_the_storage_limit_shows_the_plan_error(owner_a, tenant_a):
    from audit.services import Actor
    from billing.services import tenant_entitlement_override_create

    tenant_entitlement_override_create(
        tenant=tenant_a.tenant, limits={"knowledge_storage_bytes": 5}, features=[], reason="t", actor=Actor.system()
    )
    kb = _kb_in(tenant_a)

    response = owner_a.post(
        f"/knowledge/{kb.pk}/documents/", {"document-title": "Big", "document-text": "more than five"}
    )

    assert response.status_code == 400
    assert "knowledge storage" in response.content.decode()


def test_viewer_reads_but_cannot_change_anything(tenant_a):
    make_member(tenant_a, email="viewer@alpha.test", role=Role.VIEWER)
    viewer = signed_in_client(tenant_a, "viewer@alpha.test")
    kb = _kb_in(tenant_a, name="Read only")
    with schema_context(tenant_a.schema):
        faq = FaqFactory(knowledge_base=kb)

    assert viewer.get("/knowledge/").status_code == 200
    page = viewer.get(f"/knowledge/{kb.pk}/").content.decode()
    assert "Add an FAQ" not in page and "Add a document" not in page
    assert viewer.post("/knowledge/", {"kb-name": "Nope", "kb-language": "en"}).status_code == 403
    assert viewer.post(f"/knowledge/{kb.pk}/faqs/", {"faq-question": "Q", "faq-answer": "A"}).status_code == 403
    assert viewer.post(f"/knowledge/{kb.pk}/faqs/{faq.pk}/delete/").status_code == 403
    assert viewer.post(f"/knowledge/{kb.pk}/delete/").status_code == 403
    with schema_context(tenant_a.schema):
        assert (KnowledgeBase.objects.count(), Faq.objects.count()) == (1, 1)


def test_other_tenant_gets_404_for_every_page_and_file(tenant_a, tenant_b, owner_a):
    kb = _kb_in(tenant_a, name="Alpha private")
    owner_a.post(f"/knowledge/{kb.pk}/documents/", {"document-file": SimpleUploadedFile("a.txt", b"alpha secret")})
    with schema_context(tenant_a.schema):
        document = Document.objects.get()
        faq = FaqFactory(knowledge_base=kb)
    owner_b = signed_in_client(tenant_b)

    assert "Alpha private" not in owner_b.get("/knowledge/").content.decode()
    base = f"/knowledge/{kb.pk}"
    for path in (f"{base}/", f"{base}/faqs/{faq.pk}/", f"{base}/documents/{document.pk}/download/"):
        assert owner_b.get(path).status_code == 404, path
    for path in (f"{base}/delete/", f"{base}/faqs/{faq.pk}/delete/", f"{base}/documents/{document.pk}/delete/"):
        assert owner_b.post(path).status_code == 404, path
    with schema_context(tenant_a.schema):
        assert (KnowledgeBase.objects.count(), Faq.objects.count(), Document.objects.count()) == (1, 1, 1)
