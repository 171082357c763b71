"""/api/v1/knowledge-bases: knowledge bases, their FAQs, documents and search.

Reads need `agents:read` (agents use knowledge); writes need `knowledge:write`.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from django.http.request import RawPostDataException
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import TenantApi, query_param_choice
from api.pagination import CreatedCursorPagination
from api.schema import error_responses
from apikeys.scopes import Scope
from config.errors import FileTooLarge, PlanLimitReached
from knowledge.languages import KnowledgeLanguage
from knowledge.models import DocumentSource, DocumentStatus, Faq, KnowledgeBase
from knowledge.outputs import (
    DOCUMENT_EXAMPLE,
    FAQ_EXAMPLE,
    KNOWLEDGE_BASE_EXAMPLE,
    SEARCH_EXAMPLE,
    DocumentDetailOutput,
    DocumentOutput,
    FaqOutput,
    KnowledgeBaseOutput,
    SearchOutput,
)
from knowledge.selectors import (
    MAX_QUERY_CHARS,
    MAX_SEARCH_LIMIT,
    document_get,
    document_list,
    faq_get,
    faq_list,
    knowledge_base_get,
    knowledge_base_list,
    knowledge_search,
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

TAG = "Knowledge"
READ = (Scope.AGENTS_READ,)
WRITE = (Scope.KNOWLEDGE_WRITE,)
KB_ID = OpenApiParameter(
    "knowledge_base_id", str, OpenApiParameter.PATH, description="The knowledge base's id, `kb_…`."
)
DOCUMENT_ID = OpenApiParameter("document_id", str, OpenApiParameter.PATH, description="The document's id, `doc_…`.")
FAQ_ID = OpenApiParameter("faq_id", str, OpenApiParameter.PATH, description="The FAQ's id, `faq_…`.")
STATUSES = tuple(DocumentStatus.values)
# Formats of text sent as JSON (PDF only as a file upload).
TEXT_FORMAT_CHOICES = [(value, label) for value, label in DocumentSource.choices if value != DocumentSource.PDF]
_LANGUAGE_HELP = "Overrides the knowledge base's language for this item (stemming and stop words)."


class NameOrderedCursorPagination(CreatedCursorPagination):
    ordering = ("name", "id")


def _knowledge_base_or_404(knowledge_base_id: str) -> KnowledgeBase:
    knowledge_base = knowledge_base_get(knowledge_base_id=knowledge_base_id)
    if knowledge_base is None:
        raise Http404
    return knowledge_base


def _faq_or_404(knowledge_base_id: str, faq_id: str) -> Faq:
    faq = faq_get(knowledge_base=_knowledge_base_or_404(knowledge_base_id), faq_id=faq_id)
    if faq is None:
        raise Http404
    return faq


class KnowledgeBaseListCreateApi(TenantApi):
    required_scopes = READ
    method_scopes = {"POST": WRITE}
    idempotent_post = True
    pagination_class = NameOrderedCursorPagination

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=120)
        description = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
        language = serializers.ChoiceField(choices=KnowledgeLanguage.choices, default=KnowledgeLanguage.ENGLISH)

    @extend_schema(
        operation_id="knowledge_bases_list",
        tags=[TAG],
        summary="List knowledge bases",
        description="The workspace's knowledge bases, by name.",
        responses=KnowledgeBaseOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        return self.paginated(knowledge_base_list(), KnowledgeBaseOutput)

    @extend_schema(
        operation_id="knowledge_bases_create",
        tags=[TAG],
        summary="Create a knowledge base",
        description="`language` (default `en`) chooses stemming and stop words; `ar` for Arabic.",
        request=InputSerializer,
        responses={201: KnowledgeBaseOutput},
        examples=[
            OpenApiExample("Help centre", request_only=True, value={"name": "Help centre", "language": "en"}),
            OpenApiExample("Created", response_only=True, status_codes=["201"], value=KNOWLEDGE_BASE_EXAMPLE),
        ],
    )
    def post(self, request: Request) -> Response:
        data = self.validated(self.InputSerializer, request.data)
        created = knowledge_base_create(**data, actor=self.principal.actor)
        return Response(KnowledgeBaseOutput(_knowledge_base_or_404(created.pk)).data, status=201)


class KnowledgeBaseDetailApi(TenantApi):
    required_scopes = READ
    method_scopes = {"PATCH": WRITE, "DELETE": WRITE}

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=120, required=False)
        description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
        language = serializers.ChoiceField(choices=KnowledgeLanguage.choices, required=False)

    @extend_schema(
        operation_id="knowledge_bases_retrieve",
        parameters=[KB_ID],
        tags=[TAG],
        summary="Get a knowledge base",
        responses=KnowledgeBaseOutput,
        examples=[OpenApiExample("A knowledge base", response_only=True, value=KNOWLEDGE_BASE_EXAMPLE)],
    )
    def get(self, request: Request, knowledge_base_id: str) -> Response:
        return Response(KnowledgeBaseOutput(_knowledge_base_or_404(knowledge_base_id)).data)

    @extend_schema(
        operation_id="knowledge_bases_update",
        parameters=[KB_ID],
        tags=[TAG],
        summary="Change a knowledge base",
        description="Changes the fields given. A new `language` re-indexes its FAQs and documents.",
        request=InputSerializer,
        responses=KnowledgeBaseOutput,
        examples=[OpenApiExample("Arabic", request_only=True, value={"language": "ar"})],
    )
    def patch(self, request: Request, knowledge_base_id: str) -> Response:
        knowledge_base = _knowledge_base_or_404(knowledge_base_id)
        data = self.validated(self.InputSerializer, request.data)
        knowledge_base_update(knowledge_base=knowledge_base, actor=self.principal.actor, **data)
        return Response(KnowledgeBaseOutput(_knowledge_base_or_404(knowledge_base_id)).data)

    @extend_schema(
        operation_id="knowledge_bases_destroy",
        parameters=[KB_ID],
        tags=[TAG],
        summary="Delete a knowledge base",
        description="Deletes it with its documents (files included) and FAQs. Agents stop using it.",
        responses={204: None},
    )
    def delete(self, request: Request, knowledge_base_id: str) -> Response:
        knowledge_base_delete(knowledge_base=_knowledge_base_or_404(knowledge_base_id), actor=self.principal.actor)
        return Response(status=204)


class DocumentListCreateApi(TenantApi):
    required_scopes = READ
    method_scopes = {"POST": WRITE}
    pagination_class = CreatedCursorPagination
    parser_classes = [JSONParser, MultiPartParser]

    class TextInputSerializer(serializers.Serializer):
        title = serializers.CharField(max_length=200)
        text = serializers.CharField(trim_whitespace=False, help_text="At most KNOWLEDGE_MAX_TEXT_CHARS characters.")
        format = serializers.ChoiceField(choices=TEXT_FORMAT_CHOICES, default=DocumentSource.TEXT)
        language = serializers.ChoiceField(choices=KnowledgeLanguage.choices, required=False, help_text=_LANGUAGE_HELP)

    class UploadInputSerializer(serializers.Serializer):
        file = serializers.FileField(help_text=".txt, .md, .html or .pdf; at most KNOWLEDGE_MAX_UPLOAD_BYTES.")
        title = serializers.CharField(max_length=200, required=False, help_text="Default: the file name.")
        language = serializers.ChoiceField(choices=KnowledgeLanguage.choices, required=False, help_text=_LANGUAGE_HELP)

    @extend_schema(
        operation_id="knowledge_documents_list",
        parameters=[KB_ID, OpenApiParameter("status", enum=STATUSES, description="Only documents in this state.")],
        tags=[TAG],
        summary="List documents",
        description="The knowledge base's documents, newest first (without their text).",
        responses=DocumentOutput(many=True),
    )
    def get(self, request: Request, knowledge_base_id: str) -> Response:
        knowledge_base = _knowledge_base_or_404(knowledge_base_id)
        status = query_param_choice(request, "status", STATUSES)
        return self.paginated(document_list(knowledge_base=knowledge_base, status=status), DocumentOutput)

    @extend_schema(
        operation_id="knowledge_documents_create",
        parameters=[KB_ID],
        tags=[TAG],
        summary="Add a document",
        description=(
            "Either upload a file (`multipart/form-data`: plain text, Markdown, HTML or PDF) or send text "
            "as JSON. Answers at once with status `pending`; indexing runs in the background "
            "(`pending` → `indexing` → `ready`, or `failed` with `failure_reason`): poll the document. "
            "The file and its text count against the plan's knowledge storage (`plan_limit_reached`)."
        ),
        request={"application/json": TextInputSerializer, "multipart/form-data": UploadInputSerializer},
        responses={201: DocumentOutput},
        examples=[
            OpenApiExample(
                "Text",
                request_only=True,
                media_type="application/json",
                value={"title": "Shipping", "text": "We ship within two working days.", "format": "text"},
            ),
            OpenApiExample("Queued", response_only=True, status_codes=["201"], value=DOCUMENT_EXAMPLE),
        ],
    )
    @error_responses(FileTooLarge, PlanLimitReached)
    def post(self, request: Request, knowledge_base_id: str) -> Response:
        knowledge_base = _knowledge_base_or_404(knowledge_base_id)
        actor = self.principal.actor
        if request.content_type.startswith("multipart/form-data"):
            _refuse_oversized_body(request)
            data = self.validated(self.UploadInputSerializer, request.data)
            upload = data.pop("file")
            document = document_create_from_upload(knowledge_base=knowledge_base, upload=upload, actor=actor, **data)
        else:
            data = self.validated(self.TextInputSerializer, _json_body(request))
            source = data.pop("format")
            document = document_create_from_text(knowledge_base=knowledge_base, source=source, actor=actor, **data)
        return Response(DocumentOutput(document).data, status=201)


def _refuse_oversized_body(request: Request) -> None:
    """Refuse before reading a multipart body far larger than any accepted file."""
    limit = settings.KNOWLEDGE_MAX_UPLOAD_BYTES
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit + 64 * 1024:  # room for the form's other fields and boundaries
        raise FileTooLarge(
            f"The upload is {length:,} bytes; files of at most {limit:,} bytes are accepted.",
            extra={"max_bytes": limit, "size": length},
        )


def _json_body(request: Request) -> object:
    try:
        return request.data
    except (RequestDataTooBig, RawPostDataException) as exc:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raise FileTooLarge(
            f"JSON bodies are limited to {limit:,} bytes: upload longer texts as a file.", extra={"max_bytes": limit}
        ) from exc


class DocumentDetailApi(TenantApi):
    required_scopes = READ
    method_scopes = {"DELETE": WRITE}

    @extend_schema(
        operation_id="knowledge_documents_retrieve",
        parameters=[KB_ID, DOCUMENT_ID],
        tags=[TAG],
        summary="Get a document",
        description="The document with its indexing status and extracted text.",
        responses=DocumentDetailOutput,
    )
    def get(self, request: Request, knowledge_base_id: str, document_id: str) -> Response:
        return Response(DocumentDetailOutput(_document_or_404(knowledge_base_id, document_id)).data)

    @extend_schema(
        operation_id="knowledge_documents_destroy",
        parameters=[KB_ID, DOCUMENT_ID],
        tags=[TAG],
        summary="Delete a document",
        description="Deletes the document, its file and its passages; its storage is freed.",
        responses={204: None},
    )
    def delete(self, request: Request, knowledge_base_id: str, document_id: str) -> Response:
        document_delete(document=_document_or_404(knowledge_base_id, document_id), actor=self.principal.actor)
        return Response(status=204)


def _document_or_404(knowledge_base_id: str, document_id: str):  # type: ignore[no-untyped-def]
    document = document_get(knowledge_base=_knowledge_base_or_404(knowledge_base_id), document_id=document_id)
    if document is None:
        raise Http404
    return document


class DocumentReindexApi(TenantApi):
    required_scopes = WRITE

    @extend_schema(
        operation_id="knowledge_documents_reindex",
        parameters=[KB_ID, DOCUMENT_ID],
        tags=[TAG],
        summary="Re-index a document",
        description="Queues the document for indexing again (e.g. after `failed`); answers with status `pending`.",
        request=None,
        responses=DocumentOutput,
    )
    def post(self, request: Request, knowledge_base_id: str, document_id: str) -> Response:
        document = document_reindex(
            document=_document_or_404(knowledge_base_id, document_id), actor=self.principal.actor
        )
        return Response(DocumentOutput(document).data)


class FaqListCreateApi(TenantApi):
    required_scopes = READ
    method_scopes = {"POST": WRITE}
    idempotent_post = True
    pagination_class = CreatedCursorPagination

    class InputSerializer(serializers.Serializer):
        question = serializers.CharField(max_length=500)
        answer = serializers.CharField(max_length=10_000)
        language = serializers.ChoiceField(choices=KnowledgeLanguage.choices, required=False, help_text=_LANGUAGE_HELP)

    @extend_schema(
        operation_id="knowledge_faqs_list",
        parameters=[KB_ID],
        tags=[TAG],
        summary="List FAQs",
        description="The knowledge base's FAQs, newest first.",
        responses=FaqOutput(many=True),
    )
    def get(self, request: Request, knowledge_base_id: str) -> Response:
        return self.paginated(faq_list(knowledge_base=_knowledge_base_or_404(knowledge_base_id)), FaqOutput)

    @extend_schema(
        operation_id="knowledge_faqs_create",
        parameters=[KB_ID],
        tags=[TAG],
        summary="Add an FAQ",
        description="Searchable at once. Counts against the plan's knowledge storage.",
        request=InputSerializer,
        responses={201: FaqOutput},
        examples=[
            OpenApiExample(
                "Returns",
                request_only=True,
                value={"question": FAQ_EXAMPLE["question"], "answer": FAQ_EXAMPLE["answer"]},
            ),
            OpenApiExample("Created", response_only=True, status_codes=["201"], value=FAQ_EXAMPLE),
        ],
    )
    @error_responses(PlanLimitReached)
    def post(self, request: Request, knowledge_base_id: str) -> Response:
        knowledge_base = _knowledge_base_or_404(knowledge_base_id)
        data = self.validated(self.InputSerializer, request.data)
        faq = faq_create(knowledge_base=knowledge_base, actor=self.principal.actor, **data)
        return Response(FaqOutput(faq).data, status=201)


class FaqDetailApi(TenantApi):
    required_scopes = READ
    method_scopes = {"PATCH": WRITE, "DELETE": WRITE}

    class InputSerializer(serializers.Serializer):
        question = serializers.CharField(max_length=500, required=False)
        answer = serializers.CharField(max_length=10_000, required=False)
        language = serializers.ChoiceField(
            choices=[("", "the knowledge base's"), *KnowledgeLanguage.choices], required=False, help_text=_LANGUAGE_HELP
        )

    @extend_schema(
        operation_id="knowledge_faqs_retrieve",
        parameters=[KB_ID, FAQ_ID],
        tags=[TAG],
        summary="Get an FAQ",
        responses=FaqOutput,
        examples=[OpenApiExample("An FAQ", response_only=True, value=FAQ_EXAMPLE)],
    )
    def get(self, request: Request, knowledge_base_id: str, faq_id: str) -> Response:
        return Response(FaqOutput(_faq_or_404(knowledge_base_id, faq_id)).data)

    @extend_schema(
        operation_id="knowledge_faqs_update",
        parameters=[KB_ID, FAQ_ID],
        tags=[TAG],
        summary="Change an FAQ",
        description="Changes the fields given and re-indexes the FAQ at once.",
        request=InputSerializer,
        responses=FaqOutput,
    )
    @error_responses(PlanLimitReached)
    def patch(self, request: Request, knowledge_base_id: str, faq_id: str) -> Response:
        faq = _faq_or_404(knowledge_base_id, faq_id)
        data = self.validated(self.InputSerializer, request.data)
        return Response(FaqOutput(faq_update(faq=faq, actor=self.principal.actor, **data)).data)

    @extend_schema(
        operation_id="knowledge_faqs_destroy",
        parameters=[KB_ID, FAQ_ID],
        tags=[TAG],
        summary="Delete an FAQ",
        responses={204: None},
    )
    def delete(self, request: Request, knowledge_base_id: str, faq_id: str) -> Response:
        faq_delete(faq=_faq_or_404(knowledge_base_id, faq_id), actor=self.principal.actor)
        return Response(status=204)


class KnowledgeSearchApi(TenantApi):
    required_scopes = READ

    class InputSerializer(serializers.Serializer):
        q = serializers.CharField(max_length=MAX_QUERY_CHARS, help_text="Words to find; websearch syntax.")
        limit = serializers.IntegerField(min_value=1, max_value=MAX_SEARCH_LIMIT, default=5)
        language = serializers.ChoiceField(choices=KnowledgeLanguage.choices, required=False)

    @extend_schema(
        operation_id="knowledge_search",
        parameters=[KB_ID, InputSerializer],
        tags=[TAG],
        summary="Search a knowledge base",
        description=(
            "Ranked full-text search over the knowledge base's FAQs and ready documents, with each "
            "passage matched in its own language (stemming, stop words). All words must match "
            '(`"a phrase"`, `or`, `-word` work as in web search engines); when no passage has them all, '
            "passages with any of them are ranked instead. `language` limits the search to content in "
            "that language."
        ),
        responses=SearchOutput,
        examples=[OpenApiExample("Hits", response_only=True, value=SEARCH_EXAMPLE)],
    )
    def get(self, request: Request, knowledge_base_id: str) -> Response:
        knowledge_base = _knowledge_base_or_404(knowledge_base_id)
        data = self.validated(self.InputSerializer, request.query_params)
        hits = knowledge_search(
            knowledge_base_ids=[knowledge_base.pk], query=data["q"], language=data.get("language"), limit=data["limit"]
        )
        return Response(SearchOutput({"query": data["q"], "results": hits}).data)
