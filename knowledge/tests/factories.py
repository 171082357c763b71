"""Knowledge test data, created through the services (in the schema the connection is on)."""

from __future__ import annotations

from typing import Any

import factory

from audit.services import Actor
from knowledge.models import DocumentSource, Faq, KnowledgeBase
from knowledge.services import document_create_from_text, faq_create, knowledge_base_create

ACTOR = Actor.system("tests")


class KnowledgeBaseFactory(factory.Factory):
    class Meta:
        model = KnowledgeBase

    name = factory.Sequence(lambda n: f"Knowledge base {n}")
    description = ""
    language = "en"
    actor = ACTOR

    @classmethod
    def _create(cls, model_class: type, **kwargs: Any) -> KnowledgeBase:
        return knowledge_base_create(**kwargs)


class FaqFactory(factory.Factory):
    class Meta:
        model = Faq

    knowledge_base = factory.SubFactory(KnowledgeBaseFactory)
    question = factory.Sequence(lambda n: f"Question number {n}?")
    answer = "An answer."
    actor = ACTOR

    @classmethod
    def _create(cls, model_class: type, **kwargs: Any) -> Faq:
        return faq_create(**kwargs)


def text_document(knowledge_base: KnowledgeBase, text: str, *, title: str = "Notes", source: str = DocumentSource.TEXT):  # type: ignore[no-untyped-def]
    return document_create_from_text(knowledge_base=knowledge_base, title=title, text=text, source=source, actor=ACTOR)


def _pdf_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf_bytes(pages: list[list[str]]) -> bytes:
    """A valid PDF with one page per item, each line drawn in Helvetica (ASCII text only)."""
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]  # pages tree filled in below
    font_ref = 3
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    kids = []
    for lines in pages:
        body = "BT /F1 12 Tf 14 TL 72 720 Td " + " ".join(f"({_pdf_string(line)}) Tj T*" for line in lines) + " ET"
        stream = body.encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        content_ref = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
            b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (content_ref, font_ref)
        )
        kids.append(len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % kid for kid in kids),
        len(kids),
    )
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, definition in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + definition + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def knowledge_path_ids(tenant) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """A fresh knowledge base of `tenant` with one FAQ and one (pending) document: the ids the
    `{knowledge_base_id}`, `{faq_id}` and `{document_id}` placeholders of API paths need."""
    from django_tenants.utils import schema_context

    with schema_context(tenant.schema_name):
        knowledge_base = KnowledgeBaseFactory.create(name=f"{tenant.slug} handbook {KnowledgeBase.objects.count()}")
        faq = FaqFactory.create(
            knowledge_base=knowledge_base, question=f"What does {tenant.slug} sell?", answer="Secrets."
        )
        document = text_document(knowledge_base, f"{tenant.slug} internal pricing notes.", title="Pricing")
    return {"knowledge_base_id": knowledge_base.pk, "faq_id": faq.pk, "document_id": document.pk}
