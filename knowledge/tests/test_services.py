"""Writes: knowledge bases, documents (upload, text, indexing states), FAQs, storage limits, files."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from audit.models import AuditEvent
from audit.services import Actor
from billing.models import Limit
from billing.services import tenant_entitlement_override_create
from config.errors import FileTooLarge, PlanLimitReached, ValidationFailed
from knowledge.indexing import document_index
from knowledge.models import Chunk, Document, DocumentSource, DocumentStatus
from knowledge.selectors import knowledge_search, knowledge_storage_bytes_used
from knowledge.services import (
    document_create_from_upload,
    document_delete,
    document_reindex,
    faq_update,
    knowledge_base_delete,
    knowledge_base_update,
    knowledge_files_purge,
)
from knowledge.storage import knowledge_file_storage
from knowledge.tests.factories import ACTOR, FaqFactory, KnowledgeBaseFactory, pdf_bytes, text_document


def _upload(kb, name: str, data: bytes, content_type: str = "application/octet-stream", **kwargs):  # type: ignore[no-untyped-def]
    return document_create_from_upload(
        knowledge_base=kb, upload=SimpleUploadedFile(name, data, content_type=content_type), actor=ACTOR, **kwargs
    )


def _limit_storage(tenant, allowed: int) -> None:  # type: ignore[no-untyped-def]
    tenant_entitlement_override_create(
        tenant=tenant, limits={Limit.KNOWLEDGE_STORAGE_BYTES: allowed}, features=[], reason="test", actor=Actor.system()
    )


@pytest.fixture
def in_a(tenant_a):  # type: ignore[no-untyped-def]
    with schema_context(tenant_a.schema):
        yield tenant_a


def test_knowledge_base_create_refuses_a_name_taken_in_any_case(in_a):
    KnowledgeBaseFactory(name="Help centre")

    with pytest.raises(ValidationFailed) as refused:
        KnowledgeBaseFactory(name="help CENTRE")
    assert refused.value.errors == {"name": ["A knowledge base with this name already exists."]}


def test_knowledge_base_create_is_audited(in_a):
    kb = KnowledgeBaseFactory(name="Audited")

    event = AuditEvent.objects.get(action="knowledge_base.created", target_id=kb.pk)
    assert event.data == {"name": "Audited", "language": "en"}


def test_upload_pdf_is_stored_privately_under_the_tenant_schema_then_indexed(in_a, knowledge_files):
    kb = KnowledgeBaseFactory()
    data = pdf_bytes([["Warranty covers two years of repairs."]])

    document = _upload(kb, "../../etc/warranty.PDF", data)

    assert (document.status, document.source, document.filename) == ("pending", "pdf", "warranty.PDF")
    assert document.title == "warranty"
    parts = Path(document.file.name).parts
    assert parts[:3] == (in_a.schema, kb.pk, document.pk) and parts[3].endswith(".pdf")
    stored = Path(knowledge_files) / document.file.name
    assert stored.read_bytes() == data

    indexed = document_index(document_id=document.pk)

    assert indexed is not None
    assert (indexed.status, indexed.chunk_count, indexed.failure_reason) == ("ready", 1, "")
    assert "Warranty covers two years" in indexed.text
    assert knowledge_search(knowledge_base_ids=[kb.pk], query="warranty repairs")[0].document_id == document.pk


def test_upload_markdown_and_html_are_converted_to_text(in_a):
    kb = KnowledgeBaseFactory()
    markdown = _upload(kb, "faq.md", b"# Opening hours\n\nWe open at **nine**.")
    html = _upload(kb, "page", b"<p>Closed on <em>Sundays</em>.</p>", content_type="text/html; charset=utf-8")

    assert (markdown.source, html.source) == (DocumentSource.MARKDOWN, DocumentSource.HTML)
    assert document_index(document_id=markdown.pk).text == "Opening hours\n\nWe open at nine."  # type: ignore[union-attr]
    assert document_index(document_id=html.pk).text == "Closed on Sundays."  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("notes.docx", b"PK\x03\x04", "Upload plain text, Markdown, HTML or PDF"),
        ("fake.pdf", b"<html>not a pdf</html>", "The file is not a PDF."),
        ("binary.txt", b"abc\x00def", "The file is binary, not text."),
        ("empty.txt", b"", "The file is empty."),
    ],
)
def test_upload_refuses_unsupported_or_mislabelled_files(in_a, name, data, message):
    kb = KnowledgeBaseFactory()

    with pytest.raises(ValidationFailed, match=message):
        _upload(kb, name, data)
    assert not Document.objects.exists()


def test_upload_refuses_a_file_over_the_size_limit(in_a, settings, knowledge_files):
    settings.KNOWLEDGE_MAX_UPLOAD_BYTES = 1000
    kb = KnowledgeBaseFactory()
    _upload(kb, "fits.txt", b"x" * 1000)

    with pytest.raises(FileTooLarge) as refused:
        _upload(kb, "big.txt", b"x" * 1001)

    assert refused.value.extra == {"max_bytes": 1000, "size": 1001}
    assert Document.objects.count() == 1
    assert len(list(Path(knowledge_files).rglob("*.txt"))) == 1


def test_text_document_refuses_text_over_the_limit(in_a, settings):
    settings.KNOWLEDGE_MAX_TEXT_CHARS = 10
    kb = KnowledgeBaseFactory()

    with pytest.raises(ValidationFailed, match="At most 10 characters"):
        text_document(kb, "eleven chars")


def test_storage_used_counts_files_text_and_faqs(in_a):
    kb = KnowledgeBaseFactory()
    assert knowledge_storage_bytes_used() == 0
    text_document(kb, "héllo")  # 6 bytes in UTF-8, stored once
    FaqFactory(knowledge_base=kb, question="Q?", answer="مرحبا")  # 2 + 10 bytes
    upload = _upload(kb, "a.md", b"# Title\n\nBody")  # 13 bytes of file …
    assert knowledge_storage_bytes_used() == 6 + 12 + 13

    document_index(document_id=upload.pk)  # … plus "Title\n\nBody", 11 bytes of text

    assert knowledge_storage_bytes_used() == 6 + 12 + 13 + 11


def test_storage_limit_refuses_an_upload_that_would_exceed_it(in_a, knowledge_files):
    _limit_storage(in_a.tenant, 100)
    kb = KnowledgeBaseFactory()
    text_document(kb, "x" * 60)

    with pytest.raises(PlanLimitReached) as refused:
        _upload(kb, "more.txt", b"y" * 41)

    assert refused.value.extra["limit"] == Limit.KNOWLEDGE_STORAGE_BYTES
    assert (refused.value.extra["current_usage"], refused.value.extra["requested"]) == (60, 41)
    assert Document.objects.count() == 1
    assert not list(Path(knowledge_files).rglob("*.txt"))
    _upload(kb, "fits.txt", b"y" * 40)


def test_storage_limit_refuses_faqs_too(in_a):
    _limit_storage(in_a.tenant, 20)
    kb = KnowledgeBaseFactory()
    faq = FaqFactory(knowledge_base=kb, question="Short?", answer="Yes.")  # 10 bytes

    with pytest.raises(PlanLimitReached):
        FaqFactory(knowledge_base=kb, question="Another question?", answer="No.")
    with pytest.raises(PlanLimitReached):
        faq_update(faq=faq, answer="A much longer answer than before.", actor=ACTOR)
    faq_update(faq=faq, answer="No.", actor=ACTOR)  # shrinking always fits


def test_indexing_fails_with_a_reason_when_extracted_text_exceeds_storage(in_a):
    kb = KnowledgeBaseFactory()
    document = _upload(kb, "page.html", b"<p>" + b"word " * 20 + b"</p>")  # 106 bytes of file
    _limit_storage(in_a.tenant, 120)  # the 99 bytes of text would not fit

    document = document_index(document_id=document.pk)

    assert document is not None and document.status == DocumentStatus.FAILED
    assert document.failure_reason.startswith("Not indexed: ")
    assert not Chunk.objects.filter(document=document).exists()


def test_indexing_a_damaged_pdf_fails_with_a_reason_and_can_be_retried(in_a):
    kb = KnowledgeBaseFactory()
    document = _upload(kb, "broken.pdf", b"%PDF-1.4 garbage")

    failed = document_index(document_id=document.pk)
    assert failed is not None
    assert (failed.status, failed.failure_reason) == ("failed", "The file is not a readable PDF.")

    again = document_reindex(document=failed, actor=ACTOR)
    assert (again.status, again.failure_reason) == ("pending", "")


def test_indexing_twice_gives_the_same_chunks(in_a, settings):
    settings.KNOWLEDGE_CHUNK_CHARS, settings.KNOWLEDGE_CHUNK_OVERLAP_CHARS = 100, 20
    kb = KnowledgeBaseFactory()
    document = text_document(kb, " ".join(f"Sentence number {n}." for n in range(40)))

    document_index(document_id=document.pk)
    first = list(Chunk.objects.filter(document=document).values_list("position", "text"))
    document_index(document_id=document.pk)

    assert list(Chunk.objects.filter(document=document).values_list("position", "text")) == first
    assert len(first) > 3 and Document.objects.get(pk=document.pk).chunk_count == len(first)


def test_indexing_a_deleted_document_does_nothing(in_a):
    kb = KnowledgeBaseFactory()
    document = text_document(kb, "Soon gone.")
    document_delete(document=document, actor=ACTOR)

    assert document_index(document_id=document.pk) is None


def test_language_change_reindexes_faqs_and_requeues_documents(in_a):
    kb = KnowledgeBaseFactory(language="other")
    FaqFactory(knowledge_base=kb, question="كيف يمكنني إرجاع المنتجات؟", answer="خلال ثلاثين يوما.")
    document = text_document(kb, "نشحن المنتجات خلال يومين.")
    document_index(document_id=document.pk)
    assert knowledge_search(knowledge_base_ids=[kb.pk], query="المنتج") == []

    knowledge_base_update(knowledge_base=kb, language="ar", actor=ACTOR)

    assert [hit.kind for hit in knowledge_search(knowledge_base_ids=[kb.pk], query="المنتج")] == ["faq"]
    assert Document.objects.get(pk=document.pk).status == DocumentStatus.PENDING
    document_index(document_id=document.pk)
    assert len(knowledge_search(knowledge_base_ids=[kb.pk], query="المنتج")) == 2


def test_deleting_documents_and_knowledge_bases_removes_their_files(
    in_a, knowledge_files, django_capture_on_commit_callbacks
):
    kb = KnowledgeBaseFactory()
    first = _upload(kb, "one.txt", b"first file")
    second = _upload(kb, "two.txt", b"second file")
    root = Path(knowledge_files)

    with django_capture_on_commit_callbacks(execute=True):
        document_delete(document=first, actor=ACTOR)
    assert not (root / first.file.name).exists() and (root / second.file.name).exists()

    kb_folder = root / in_a.schema / kb.pk
    assert kb_folder.is_dir()
    with django_capture_on_commit_callbacks(execute=True):
        knowledge_base_delete(knowledge_base=kb, actor=ACTOR)
    assert not (root / second.file.name).exists()
    assert not kb_folder.exists()
    assert knowledge_storage_bytes_used() == 0


def test_file_storage_refuses_names_outside_the_current_schema(tenant_a, tenant_b):
    with schema_context(tenant_a.schema):
        document = _upload(KnowledgeBaseFactory(), "secret.txt", b"alpha only")
        name = document.file.name
        assert knowledge_file_storage.open(name).read() == b"alpha only"
    with schema_context(tenant_b.schema):
        with pytest.raises(SuspiciousFileOperation):
            knowledge_file_storage.open(name)
        with pytest.raises(SuspiciousFileOperation):
            knowledge_file_storage.open(f"{tenant_b.schema}/../{name}")
    with pytest.raises(SuspiciousFileOperation):  # public schema: no tenant's files at all
        knowledge_file_storage.open(name)


def test_knowledge_files_purge_removes_one_schemas_folder_only(tenant_a, tenant_b, knowledge_files):
    for tenant in (tenant_a, tenant_b):
        with schema_context(tenant.schema):
            _upload(KnowledgeBaseFactory(), "doc.txt", b"kept until purge")
    root = Path(knowledge_files)

    knowledge_files_purge(schema_name=tenant_a.schema)

    assert not (root / tenant_a.schema).exists()
    assert len(list((root / tenant_b.schema).rglob("*.txt"))) == 1
    for bad in ("", "public", "..", f"{tenant_b.schema}/.."):
        with pytest.raises(ValueError):
            knowledge_files_purge(schema_name=bad)
