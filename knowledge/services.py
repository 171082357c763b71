"""Every write to knowledge bases, documents and FAQs (in the current tenant's schema).

Documents are indexed by a Celery task queued on commit (knowledge.indexing); FAQs are small and
indexed in the same transaction. Everything stored counts against the plan's
`knowledge_storage_bytes`: a write that would exceed it raises `PlanLimitReached`. User writes
are audited.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction

from audit.services import Actor, audit_record
from billing.entitlements import entitlement_require_capacity
from billing.models import Limit
from config.errors import FileTooLarge, ValidationFailed
from knowledge.indexing import faq_index
from knowledge.models import Document, DocumentSource, DocumentStatus, Faq, KnowledgeBase
from knowledge.selectors import knowledge_storage_bytes_used
from knowledge.storage import knowledge_file_storage
from tenants.context import current_schema, current_tenant

logger = logging.getLogger(__name__)

_EXTENSIONS = {
    ".txt": DocumentSource.TEXT,
    ".text": DocumentSource.TEXT,
    ".md": DocumentSource.MARKDOWN,
    ".markdown": DocumentSource.MARKDOWN,
    ".html": DocumentSource.HTML,
    ".htm": DocumentSource.HTML,
    ".pdf": DocumentSource.PDF,
}
_CONTENT_TYPES = {
    "text/plain": DocumentSource.TEXT,
    "text/markdown": DocumentSource.MARKDOWN,
    "text/x-markdown": DocumentSource.MARKDOWN,
    "text/html": DocumentSource.HTML,
    "application/pdf": DocumentSource.PDF,
}
ACCEPTED_EXTENSIONS = tuple(_EXTENSIONS)


def knowledge_storage_require(*, adding: int) -> None:
    """Raise `PlanLimitReached` unless `adding` more bytes fit the plan's knowledge storage.

    Holds a transaction-level advisory lock per schema, so concurrent uploads of one tenant are
    checked one after the other (call it inside the transaction that stores the bytes).
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"knowledge-storage:{current_schema()}"])
    entitlement_require_capacity(
        tenant=current_tenant(),
        limit=Limit.KNOWLEDGE_STORAGE_BYTES,
        current_usage=knowledge_storage_bytes_used(),
        adding=adding,
    )


def _name_taken(name: str) -> ValidationFailed:
    message = "A knowledge base with this name already exists."
    return ValidationFailed(message, errors={"name": [message]})


def knowledge_base_create(*, name: str, description: str = "", language: str, actor: Actor) -> KnowledgeBase:
    """A new, empty knowledge base. Raises `ValidationFailed` if the name is taken."""
    name = name.strip()
    if KnowledgeBase.objects.filter(name__iexact=name).exists():
        raise _name_taken(name)
    try:
        with transaction.atomic():
            knowledge_base = KnowledgeBase.objects.create(
                name=name, description=description.strip(), language=language, **actor.as_creator()
            )
    except IntegrityError as exc:  # a concurrent create with the same name
        raise _name_taken(name) from exc
    audit_record(
        action="knowledge_base.created", actor=actor, target=knowledge_base, data={"name": name, "language": language}
    )
    return knowledge_base


def knowledge_base_update(
    *,
    knowledge_base: KnowledgeBase,
    actor: Actor,
    name: str | None = None,
    description: str | None = None,
    language: str | None = None,
) -> KnowledgeBase:
    """Change the fields given. A new language re-indexes the FAQs now and queues the documents
    that follow the knowledge base's language."""
    changes: dict[str, str] = {}
    if name is not None and name.strip() != knowledge_base.name:
        name = name.strip()
        if KnowledgeBase.objects.filter(name__iexact=name).exclude(pk=knowledge_base.pk).exists():
            raise _name_taken(name)
        changes["name"] = name
    if description is not None and description.strip() != knowledge_base.description:
        changes["description"] = description.strip()
    if language is not None and language != knowledge_base.language:
        changes["language"] = language
    if not changes:
        return knowledge_base
    for field, value in changes.items():
        setattr(knowledge_base, field, value)
    knowledge_base.save(update_fields=[*changes, "updated_at"])
    if "language" in changes:
        for faq in Faq.objects.filter(knowledge_base=knowledge_base, language=""):
            faq_index(faq=faq, knowledge_base=knowledge_base)
        for document in Document.objects.filter(knowledge_base=knowledge_base, language="").only("id"):
            _queue_indexing(document)
    audit_record(action="knowledge_base.updated", actor=actor, target=knowledge_base, data=changes)
    return knowledge_base


def knowledge_base_delete(*, knowledge_base: KnowledgeBase, actor: Actor) -> None:
    """Delete the knowledge base with its documents, FAQs and chunks; files go once committed."""
    names = [
        name for name in Document.objects.filter(knowledge_base=knowledge_base).values_list("file", flat=True) if name
    ]
    audit_record(
        action="knowledge_base.deleted", actor=actor, target=knowledge_base, data={"name": knowledge_base.name}
    )
    knowledge_base.delete()
    _delete_files_on_commit(names)


def _queue_indexing(document: Document) -> None:
    from knowledge.tasks import document_index_task

    schema_name, document_id = current_schema(), document.pk
    Document.objects.filter(pk=document_id).update(status=DocumentStatus.PENDING, failure_reason="")
    # robust: a broker outage must not fail the committed request; the document stays `pending`
    # and "Re-index" queues it again.
    transaction.on_commit(
        lambda: document_index_task.apply_async(
            kwargs={"document_id": document_id}, headers={"_schema_name": schema_name}
        ),
        robust=True,
    )


def _delete_files_on_commit(names: list[str]) -> None:
    def delete() -> None:
        for name in names:
            knowledge_file_storage.delete(name)
            # Drop the document's and then the knowledge base's folder once empty.
            folder = PurePosixPath(name).parent
            for _ in range(2):
                with contextlib.suppress(OSError):  # not empty, or already gone
                    os.rmdir(knowledge_file_storage.path(str(folder)))
                folder = folder.parent

    if names:
        transaction.on_commit(delete)


def document_create_from_text(
    *, knowledge_base: KnowledgeBase, title: str, text: str, source: str, language: str = "", actor: Actor
) -> Document:
    """A document from text sent as is. Plain text is stored once; Markdown and HTML are kept as
    their original file and converted to text when indexed. Queued for indexing (`pending`)."""
    if len(text) > settings.KNOWLEDGE_MAX_TEXT_CHARS:
        message = f"At most {settings.KNOWLEDGE_MAX_TEXT_CHARS:,} characters."
        raise ValidationFailed(message, errors={"text": [message]})
    if not text.strip():
        raise ValidationFailed("The text is empty.", errors={"text": ["The text is empty."]})
    data = text.encode()
    document = Document(
        knowledge_base=knowledge_base, title=title.strip(), source=source, language=language, **actor.as_creator()
    )
    if source == DocumentSource.TEXT:
        document.text, document.text_bytes = text, len(data)
    else:
        document.filename = (
            f"{document.title[:80] or 'document'}.{'md' if source == DocumentSource.MARKDOWN else 'html'}"
        )
        document.content_type = "text/markdown" if source == DocumentSource.MARKDOWN else "text/html"
        document.file_bytes = len(data)
    return _document_store(document=document, data=data, actor=actor)


def document_source_for(*, filename: str, content_type: str) -> str:
    """The format of an upload: by its extension, else by its content type. `ValidationFailed` if neither is known."""
    source = _EXTENSIONS.get(PurePosixPath(filename).suffix.lower()) or _CONTENT_TYPES.get(
        content_type.split(";")[0].strip().lower()
    )
    if source is None:
        message = f"Upload plain text, Markdown, HTML or PDF ({', '.join(ACCEPTED_EXTENSIONS)})."
        raise ValidationFailed(message, errors={"file": [message]})
    return source


def _content_checked(source: str, head: bytes) -> None:
    if source == DocumentSource.PDF and b"%PDF-" not in head[:1024]:
        message = "The file is not a PDF."
        raise ValidationFailed(message, errors={"file": [message]})
    if source != DocumentSource.PDF and b"\x00" in head:
        message = "The file is binary, not text."
        raise ValidationFailed(message, errors={"file": [message]})


def document_create_from_upload(
    *, knowledge_base: KnowledgeBase, upload: UploadedFile, title: str = "", language: str = "", actor: Actor
) -> Document:
    """A document from an uploaded file (plain text, Markdown, HTML or PDF), stored privately under
    the tenant's schema and queued for indexing (`pending`).

    Raises `FileTooLarge` above `KNOWLEDGE_MAX_UPLOAD_BYTES`, `ValidationFailed` for an empty or
    unsupported file, `PlanLimitReached` when it does not fit the plan's knowledge storage.
    """
    size = int(upload.size or 0)
    if size > settings.KNOWLEDGE_MAX_UPLOAD_BYTES:
        raise FileTooLarge(
            f"The file is {size:,} bytes; at most {settings.KNOWLEDGE_MAX_UPLOAD_BYTES:,} are accepted.",
            extra={"max_bytes": settings.KNOWLEDGE_MAX_UPLOAD_BYTES, "size": size},
        )
    if size == 0:
        raise ValidationFailed("The file is empty.", errors={"file": ["The file is empty."]})
    filename = PurePosixPath((upload.name or "document").replace("\\", "/")).name[:255]
    content_type = (upload.content_type or "").split(";")[0].strip()[:100]
    source = document_source_for(filename=filename, content_type=content_type)
    upload.seek(0)
    data = upload.read()
    _content_checked(source, data[:8192])
    document = Document(
        knowledge_base=knowledge_base,
        title=(title.strip() or PurePosixPath(filename).stem or filename)[:200],
        source=source,
        language=language,
        filename=filename,
        content_type=content_type,
        file_bytes=len(data),
        **actor.as_creator(),
    )
    return _document_store(document=document, data=data, actor=actor)


def _document_store(*, document: Document, data: bytes, actor: Actor) -> Document:
    from django.core.files.base import ContentFile

    with transaction.atomic():
        knowledge_storage_require(adding=document.storage_bytes)
        if document.file_bytes:
            document.file.save(document.filename or "document", ContentFile(data), save=False)
        try:
            document.save()
        except Exception:
            if document.file:
                knowledge_file_storage.delete(document.file.name)
            raise
        audit_record(
            action="knowledge_document.created",
            actor=actor,
            target=document,
            data={"knowledge_base": document.knowledge_base_id, "title": document.title, "source": document.source},
        )
        _queue_indexing(document)
    document.refresh_from_db()
    return document


def document_reindex(*, document: Document, actor: Actor) -> Document:
    """Queue the document for indexing again (after a failure, or if it stayed `pending`)."""
    _queue_indexing(document)
    audit_record(action="knowledge_document.reindexed", actor=actor, target=document, data={})
    document.refresh_from_db()
    return document


def document_delete(*, document: Document, actor: Actor) -> None:
    """Delete the document and its chunks; its file goes once committed. A running indexing task
    finds it gone and stops."""
    name = document.file.name if document.file else ""
    audit_record(
        action="knowledge_document.deleted",
        actor=actor,
        target=document,
        data={"knowledge_base": document.knowledge_base_id, "title": document.title},
    )
    document.delete()
    _delete_files_on_commit([name] if name else [])


def _faq_bytes(question: str, answer: str) -> int:
    return len(question.encode()) + len(answer.encode())


def _faq_checked(question: str, answer: str) -> tuple[str, str]:
    question, answer = question.strip(), answer.strip()
    errors = {
        field: ["This field may not be blank."]
        for field, value in (("question", question), ("answer", answer))
        if not value
    }
    if errors:
        raise ValidationFailed("The question and the answer are required.", errors=errors)
    return question, answer


def faq_create(*, knowledge_base: KnowledgeBase, question: str, answer: str, language: str = "", actor: Actor) -> Faq:
    """A new FAQ, searchable as soon as the transaction commits."""
    question, answer = _faq_checked(question, answer)
    with transaction.atomic():
        knowledge_storage_require(adding=_faq_bytes(question, answer))
        faq = Faq.objects.create(
            knowledge_base=knowledge_base, question=question, answer=answer, language=language, **actor.as_creator()
        )
        faq_index(faq=faq, knowledge_base=knowledge_base)
        audit_record(
            action="knowledge_faq.created", actor=actor, target=faq, data={"knowledge_base": knowledge_base.pk}
        )
    return faq


def faq_update(
    *,
    faq: Faq,
    actor: Actor,
    question: str | None = None,
    answer: str | None = None,
    language: str | None = None,
) -> Faq:
    """Change the fields given and re-index the FAQ."""
    new_question, new_answer = _faq_checked(
        faq.question if question is None else question, faq.answer if answer is None else answer
    )
    changes = {
        field: value
        for field, value in (("question", new_question), ("answer", new_answer), ("language", language))
        if value is not None and value != getattr(faq, field)
    }
    if not changes:
        return faq
    with transaction.atomic():
        growth = _faq_bytes(new_question, new_answer) - faq.storage_bytes
        if growth > 0:
            knowledge_storage_require(adding=growth)
        for field, value in changes.items():
            setattr(faq, field, value)
        faq.save(update_fields=[*changes, "updated_at"])
        faq_index(faq=faq, knowledge_base=faq.knowledge_base)
        audit_record(
            action="knowledge_faq.updated",
            actor=actor,
            target=faq,
            data={"knowledge_base": faq.knowledge_base_id, "fields": sorted(changes)},
        )
    return faq


def faq_delete(*, faq: Faq, actor: Actor) -> None:
    audit_record(
        action="knowledge_faq.deleted", actor=actor, target=faq, data={"knowledge_base": faq.knowledge_base_id}
    )
    faq.delete()


def knowledge_files_purge(*, schema_name: str) -> None:
    """Remove every knowledge file of a tenant schema (for the tenant purge, after the schema is
    dropped). Only a folder directly under KNOWLEDGE_FILES_ROOT named like the schema is touched."""
    root = Path(settings.KNOWLEDGE_FILES_ROOT).resolve()
    folder = (root / schema_name).resolve()
    if folder.parent != root or not schema_name or schema_name == settings.PUBLIC_SCHEMA_NAME:
        raise ValueError(f"not a tenant schema's knowledge folder: {schema_name!r}")
    shutil.rmtree(folder, ignore_errors=True)
    logger.info("knowledge files of schema %s purged", schema_name)
