"""Portal "Knowledge" pages: knowledge bases, their FAQs and documents, uploads with live
indexing status (htmx polling), and a search box to try retrieval.

Everyone signed in may read; members and above (EDIT_CONTENT) change things. With htmx the
upload, status and search parts refresh in place; without JavaScript every form still works.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import Permission, role_has
from audit.services import Actor
from config.errors import ApplicationError
from knowledge.forms import DocumentForm, FaqForm, KnowledgeBaseForm, SearchForm
from knowledge.models import Document, DocumentSource, DocumentStatus, Faq, KnowledgeBase
from knowledge.selectors import (
    document_get,
    document_list,
    faq_get,
    faq_list,
    knowledge_base_get,
    knowledge_base_list,
    knowledge_search,
    knowledge_storage_bytes_used,
)
from knowledge.services import (
    document_create_from_text,
    document_create_from_upload,
    document_delete,
    document_reindex,
    faq_create,
    faq_delete,
    faq_update,
    knowledge_base_create,
    knowledge_base_delete,
    knowledge_base_update,
)
from portal.access import permission_required
from portal.errors import form_add_service_error, message_service_error
from tenants.context import TenantHttpRequest

IN_PROGRESS = (DocumentStatus.PENDING, DocumentStatus.INDEXING)
SEARCH_HITS = 5


def _kb_or_404(knowledge_base_id: str) -> KnowledgeBase:
    knowledge_base = knowledge_base_get(knowledge_base_id=knowledge_base_id)
    if knowledge_base is None:
        raise Http404
    return knowledge_base


def _document_or_404(knowledge_base: KnowledgeBase, document_id: str) -> Document:
    document = document_get(knowledge_base=knowledge_base, document_id=document_id)
    if document is None:
        raise Http404
    return document


def _faq_or_404(knowledge_base: KnowledgeBase, faq_id: str) -> Faq:
    faq = faq_get(knowledge_base=knowledge_base, faq_id=faq_id)
    if faq is None:
        raise Http404
    return faq


@require_http_methods(["GET", "POST"])
@permission_required(Permission.VIEW_PORTAL)
def knowledge_bases_page(request: TenantHttpRequest) -> HttpResponse:
    form = KnowledgeBaseForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if not _may_edit(request):
            return render(request, "errors/forbidden.html", status=403)
        if form.is_valid():
            try:
                created = knowledge_base_create(**form.cleaned_data, actor=Actor.for_user(request.user))
            except ApplicationError as error:
                form_add_service_error(form, error)
            else:
                messages.success(request, f"Knowledge base “{created.name}” created.")
                return redirect("portal:knowledge_base", knowledge_base_id=created.pk)
        status = 400
    context = {
        "knowledge_bases": knowledge_base_list(),
        "form": form,
        "storage_used": knowledge_storage_bytes_used(),
    }
    return render(request, "knowledge/knowledge_bases.html", context, status=status)


def _may_edit(request: TenantHttpRequest) -> bool:
    return role_has(request.user.role, Permission.EDIT_CONTENT)


def _detail(
    request: TenantHttpRequest, knowledge_base: KnowledgeBase, *, status: int = 200, **forms: Any
) -> HttpResponse:
    search = SearchForm(request.GET or None)
    query = search.cleaned_data["q"].strip() if search.is_valid() else ""
    documents = list(document_list(knowledge_base=knowledge_base))
    context = {
        "kb": knowledge_base,
        "documents": documents,
        "indexing": any(document.status in IN_PROGRESS for document in documents),
        "faqs": faq_list(knowledge_base=knowledge_base),
        "faq_form": forms.get("faq_form") or FaqForm(),
        "document_form": forms.get("document_form") or DocumentForm(),
        "settings_form": forms.get("settings_form")
        or KnowledgeBaseForm(
            initial={
                "name": knowledge_base.name,
                "description": knowledge_base.description,
                "language": knowledge_base.language,
            }
        ),
        "search_form": search,
        "query": query,
        "hits": knowledge_search(knowledge_base_ids=[knowledge_base.pk], query=query, limit=SEARCH_HITS)
        if query
        else [],
    }
    # htmx does not swap error responses: a form with errors comes back as 200 to it.
    is_htmx = request.headers.get("HX-Request") == "true"
    return render(request, "knowledge/knowledge_base.html", context, status=200 if is_htmx else status)


@require_GET
@permission_required(Permission.VIEW_PORTAL)
def knowledge_base_page(request: TenantHttpRequest, knowledge_base_id: str) -> HttpResponse:
    return _detail(request, _kb_or_404(knowledge_base_id))


@require_POST
@permission_required(Permission.EDIT_CONTENT)
def knowledge_base_settings(request: TenantHttpRequest, knowledge_base_id: str) -> HttpResponse:
    knowledge_base = _kb_or_404(knowledge_base_id)
    form = KnowledgeBaseForm(request.POST)
    if form.is_valid():
        try:
            knowledge_base_update(
                knowledge_base=knowledge_base, actor=Actor.for_user(request.user), **form.cleaned_data
            )
        except ApplicationError as error:
            form_add_service_error(form, error)
        else:
            messages.success(request, "Knowledge base saved.")
            return redirect("portal:knowledge_base", knowledge_base_id=knowledge_base.pk)
    return _detail(request, knowledge_base, status=400, settings_form=form)


@require_POST
@permission_required(Permission.EDIT_CONTENT)
def knowledge_base_remove(request: TenantHttpRequest, knowledge_base_id: str) -> HttpResponse:
    knowledge_base = _kb_or_404(knowledge_base_id)
    knowledge_base_delete(knowledge_base=knowledge_base, actor=Actor.for_user(request.user))
    messages.success(request, f"Knowledge base “{knowledge_base.name}” deleted.")
    return redirect("portal:knowledge_bases")


@require_POST
@permission_required(Permission.EDIT_CONTENT)
def knowledge_faq_add(request: TenantHttpRequest, knowledge_base_id: str) -> HttpResponse:
    knowledge_base = _kb_or_404(knowledge_base_id)
    form = FaqForm(request.POST)
    if form.is_valid():
        try:
            faq_create(knowledge_base=knowledge_base, actor=Actor.for_user(request.user), **form.cleaned_data)
        except ApplicationError as error:
            form_add_service_error(form, error)
        else:
            messages.success(request, "FAQ added: it is searchable now.")
            return redirect("portal:knowledge_base", knowledge_base_id=knowledge_base.pk)
    return _detail(request, knowledge_base, status=400, faq_form=form)


@require_http_methods(["GET", "POST"])
@permission_required(Permission.EDIT_CONTENT)
def knowledge_faq_edit(request: TenantHttpRequest, knowledge_base_id: str, faq_id: str) -> HttpResponse:
    knowledge_base = _kb_or_404(knowledge_base_id)
    faq = _faq_or_404(knowledge_base, faq_id)
    initial = {"question": faq.question, "answer": faq.answer, "language": faq.language}
    form = FaqForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            faq_update(faq=faq, actor=Actor.for_user(request.user), **form.cleaned_data)
        except ApplicationError as error:
            form_add_service_error(form, error)
        else:
            messages.success(request, "FAQ saved.")
            return redirect("portal:knowledge_base", knowledge_base_id=knowledge_base.pk)
    context = {"kb": knowledge_base, "faq": faq, "form": form}
    return render(request, "knowledge/faq_edit.html", context, status=400 if form.errors else 200)


@require_POST
@permission_required(Permission.EDIT_CONTENT)
def knowledge_faq_remove(request: TenantHttpRequest, knowledge_base_id: str, faq_id: str) -> HttpResponse:
    knowledge_base = _kb_or_404(knowledge_base_id)
    faq_delete(faq=_faq_or_404(knowledge_base, faq_id), actor=Actor.for_user(request.user))
    messages.success(request, "FAQ deleted.")
    return redirect("portal:knowledge_base", knowledge_base_id=knowledge_base.pk)


@require_POST
@permission_required(Permission.EDIT_CONTENT)
def knowledge_document_add(request: TenantHttpRequest, knowledge_base_id: str) -> HttpResponse:
    knowledge_base = _kb_or_404(knowledge_base_id)
    form = DocumentForm(request.POST, request.FILES)
    if form.is_valid():
        data, actor = form.cleaned_data, Actor.for_user(request.user)
        try:
            if data["file"]:
                document = document_create_from_upload(
                    knowledge_base=knowledge_base,
                    upload=data["file"],
                    title=data["title"],
                    language=data["language"],
                    actor=actor,
                )
            else:
                document = document_create_from_text(
                    knowledge_base=knowledge_base,
                    title=data["title"],
                    text=data["text"],
                    source=data["format"] or DocumentSource.TEXT,
                    language=data["language"],
                    actor=actor,
                )
        except ApplicationError as error:
            form_add_service_error(form, error)
        else:
            messages.success(request, f"“{document.title}” uploaded: indexing has started.")
            return redirect("portal:knowledge_base", knowledge_base_id=knowledge_base.pk)
    return _detail(request, knowledge_base, status=400, document_form=form)


@require_POST
@permission_required(Permission.EDIT_CONTENT)
def knowledge_document_reindex(request: TenantHttpRequest, knowledge_base_id: str, document_id: str) -> HttpResponse:
    knowledge_base = _kb_or_404(knowledge_base_id)
    document = document_reindex(
        document=_document_or_404(knowledge_base, document_id), actor=Actor.for_user(request.user)
    )
    messages.success(request, f"“{document.title}” queued for indexing.")
    return redirect("portal:knowledge_base", knowledge_base_id=knowledge_base.pk)


@require_POST
@permission_required(Permission.EDIT_CONTENT)
def knowledge_document_remove(request: TenantHttpRequest, knowledge_base_id: str, document_id: str) -> HttpResponse:
    knowledge_base = _kb_or_404(knowledge_base_id)
    document = _document_or_404(knowledge_base, document_id)
    try:
        document_delete(document=document, actor=Actor.for_user(request.user))
    except ApplicationError as error:
        message_service_error(request, error)
    else:
        messages.success(request, f"“{document.title}” deleted.")
    return redirect("portal:knowledge_base", knowledge_base_id=knowledge_base.pk)


@require_GET
@permission_required(Permission.VIEW_PORTAL)
def knowledge_document_download(request: TenantHttpRequest, knowledge_base_id: str, document_id: str) -> HttpResponse:
    """The original file, always as a download: an uploaded HTML page is never rendered here."""
    document = _document_or_404(_kb_or_404(knowledge_base_id), document_id)
    if not document.file:
        raise Http404
    with document.file.open("rb") as handle:  # at most KNOWLEDGE_MAX_UPLOAD_BYTES
        response = HttpResponse(handle.read(), content_type="application/octet-stream")
    response["Content-Disposition"] = content_disposition_header(True, document.filename or "document") or "attachment"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
