"""/api/v1/chat (scope `chat`) and /api/v1/conversations (`conversations:read` / `conversations:write`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from agents.models import Agent
from api.base import TenantApi, query_param_choice
from api.pagination import CreatedCursorPagination
from api.schema import error_responses
from apikeys.scopes import Scope
from config.errors import AgentBudgetExceeded, AgentNotActive, ApplicationError, ModelProviderError, NotFound
from config.errors import ValidationFailed as ValidationFailedError
from config.problems import problem_body
from conversations.models import Channel, Conversation, ConversationStatus
from conversations.outputs import (
    CHAT_EXAMPLE,
    CONVERSATION_EXAMPLE,
    ChatOutput,
    ConversationOutput,
    MessageOutput,
)
from conversations.selectors import chat_agent_get, conversation_get, conversation_list, conversation_messages
from conversations.services import ChatResult, chat_reply, chat_reply_stream, conversation_rate

TAG = "Chat and conversations"
CONVERSATION_ID = OpenApiParameter(
    "conversation_id", str, OpenApiParameter.PATH, description="The conversation's id, `conv_…`."
)
EVENT_STREAM = "text/event-stream"
STREAM_HELP = (
    'Server-sent events: `delta` events (`{"text": "…"}`, the reply in pieces), then one `done` event '
    "with the same body as `POST /api/v1/chat`. A failure after the stream started is an `error` event "
    "whose data is the problem+json body; a failure before it is an ordinary problem+json response."
)


class EventStreamRenderer(BaseRenderer):
    """Lets `Accept: text/event-stream` through content negotiation; the stream itself is a
    StreamingHttpResponse, and errors are problem+json (config.problems)."""

    media_type = EVENT_STREAM
    format = "event-stream"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return json.dumps(data, cls=DjangoJSONEncoder).encode()


class ChatInput(serializers.Serializer):
    agent = serializers.CharField(max_length=64, help_text="The agent's id, `agt_…`: an active agent.")
    session_id = serializers.CharField(
        max_length=200, help_text="Your id for the visitor's session: messages with the same id share a memory."
    )
    message = serializers.CharField(
        allow_blank=True, trim_whitespace=False, help_text="The visitor's message (CHAT_MAX_MESSAGE_CHARS at most)."
    )


def _agent_or_400(agent_id: str) -> Agent:
    agent = chat_agent_get(agent_id=agent_id)
    if agent is None:
        raise ValidationFailedError("No such agent in this workspace.", errors={"agent": ["Unknown agent."]})
    return agent


def _sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False)}\n\n".encode()


def _problem(exc: ApplicationError) -> dict[str, Any]:
    return problem_body(status=exc.status, code=exc.code, title=exc.title, detail=exc.detail, **exc.extra)


class _ChatBase(TenantApi):
    required_scopes = (Scope.CHAT,)

    def _chat_args(self, request: Request) -> dict[str, Any]:
        data = self.validated(ChatInput, request.data)
        principal = self.principal
        return {
            "agent": _agent_or_400(data["agent"]),
            "session_id": data["session_id"],
            "message": data["message"],
            "channel": Channel.WIDGET if principal.is_publishable else Channel.API,
            "key_id": principal.id if principal.kind == "api_key" else None,
            "user_id": principal.id if principal.kind == "user" else None,
        }

    def _stream(self, request: Request) -> StreamingHttpResponse:
        """Runs the checks (raising problem+json) before the first byte, then streams."""
        items = chat_reply_stream(**self._chat_args(request))
        first = next(items)
        response = StreamingHttpResponse(_events(first, items), content_type=EVENT_STREAM)
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
        return response


def _events(first: str | ChatResult, rest: Iterator[str | ChatResult]) -> Iterator[bytes]:
    item: str | ChatResult = first
    try:
        while True:
            if isinstance(item, ChatResult):
                yield _sse("done", ChatOutput(item).data)
                return
            yield _sse("delta", {"text": item})
            item = next(rest)
    except ApplicationError as exc:  # the provider failed mid-stream: nothing was stored
        yield _sse("error", _problem(exc))


CHAT_ERRORS = (AgentNotActive, AgentBudgetExceeded, ModelProviderError)


class ChatApi(_ChatBase):
    renderer_classes = [JSONRenderer, EventStreamRenderer]

    @extend_schema(
        operation_id="chat",
        tags=[TAG],
        summary="Chat with an agent",
        description=(
            "The agent's reply to `message`, in the conversation of `session_id` (opened on the first message, "
            "remembered until it completes after inactivity), with the knowledge sources used and the usage. "
            "Counts one chat message and the tokens against the month's quotas and the agent's daily budget. "
            f"With `Accept: {EVENT_STREAM}` the reply is streamed as in `POST /api/v1/chat/stream`."
        ),
        request=ChatInput,
        responses={200: ChatOutput},
        examples=[
            OpenApiExample(
                "Question",
                request_only=True,
                value={
                    "agent": "agt_4kP9sT2wXq7LmN3vB8rZ",
                    "session_id": "visitor-5521",
                    "message": "How do I return a product?",
                },
            ),
            OpenApiExample("Reply", response_only=True, value=CHAT_EXAMPLE),
        ],
    )
    @error_responses(*CHAT_ERRORS)
    def post(self, request: Request) -> Response | StreamingHttpResponse:
        if request.accepted_media_type == EVENT_STREAM:
            return self._stream(request)
        result = chat_reply(**self._chat_args(request))
        return Response(ChatOutput(result).data)


class ChatStreamApi(_ChatBase):
    renderer_classes = [EventStreamRenderer, JSONRenderer]

    @extend_schema(
        operation_id="chat_stream",
        tags=[TAG],
        summary="Chat with an agent, streamed",
        description=STREAM_HELP,
        request=ChatInput,
        responses={
            (200, EVENT_STREAM): OpenApiResponse(
                response=str,
                description=STREAM_HELP,
                examples=[
                    OpenApiExample(
                        "Stream",
                        value='event: delta\ndata: {"text": "You can"}\n\nevent: delta\ndata: {"text": " return"}\n\n'
                        "event: done\ndata: {…the body of POST /api/v1/chat…}\n\n",
                    )
                ],
            )
        },
    )
    @error_responses(*CHAT_ERRORS)
    def post(self, request: Request) -> StreamingHttpResponse:
        return self._stream(request)


def _conversation_or_404(conversation_id: str) -> Conversation:
    conversation = conversation_get(conversation_id=conversation_id)
    if conversation is None:
        raise NotFound("No such conversation in this workspace.")
    return conversation


class StartedCursorPagination(CreatedCursorPagination):
    ordering = ("-started_at", "-id")


class MessageCursorPagination(CreatedCursorPagination):
    ordering = ("created_at", "id")
    page_size = 100


class ConversationListApi(TenantApi):
    required_scopes = (Scope.CONVERSATIONS_READ,)
    pagination_class = StartedCursorPagination

    class FilterSerializer(serializers.Serializer):
        agent = serializers.CharField(max_length=64, required=False, help_text="An agent's id.")
        channel = serializers.ChoiceField(choices=Channel.choices, required=False)
        status = serializers.ChoiceField(choices=ConversationStatus.choices, required=False)
        session_id = serializers.CharField(max_length=200, required=False)

    @extend_schema(
        operation_id="conversations_list",
        tags=[TAG],
        summary="List conversations",
        description="Newest first; filter by agent, channel, status or session id.",
        parameters=[FilterSerializer],
        responses=ConversationOutput(many=True),
        examples=[OpenApiExample("A conversation", response_only=True, value=[CONVERSATION_EXAMPLE])],
    )
    def get(self, request: Request) -> Response:
        query_param_choice(request, "channel", tuple(Channel.values))
        query_param_choice(request, "status", tuple(ConversationStatus.values))
        filters = self.validated(self.FilterSerializer, request.query_params)
        conversations = conversation_list(
            agent_id=filters.get("agent"),
            channel=filters.get("channel"),
            status=filters.get("status"),
            session_id=filters.get("session_id"),
        )
        return self.paginated(conversations, ConversationOutput)


class ConversationDetailApi(TenantApi):
    required_scopes = (Scope.CONVERSATIONS_READ,)

    @extend_schema(
        operation_id="conversations_get",
        parameters=[CONVERSATION_ID],
        tags=[TAG],
        summary="One conversation",
        responses=ConversationOutput,
        examples=[OpenApiExample("Conversation", response_only=True, value=CONVERSATION_EXAMPLE)],
    )
    def get(self, request: Request, conversation_id: str) -> Response:
        return Response(ConversationOutput(_conversation_or_404(conversation_id)).data)


class ConversationMessagesApi(TenantApi):
    required_scopes = (Scope.CONVERSATIONS_READ,)
    pagination_class = MessageCursorPagination

    @extend_schema(
        operation_id="conversations_messages",
        parameters=[CONVERSATION_ID],
        tags=[TAG],
        summary="A conversation's messages",
        description="The transcript, oldest first, with each reply's sources, tokens, cost and latency.",
        responses=MessageOutput(many=True),
    )
    def get(self, request: Request, conversation_id: str) -> Response:
        conversation = _conversation_or_404(conversation_id)
        return self.paginated(conversation_messages(conversation=conversation), MessageOutput)


class ConversationRatingApi(TenantApi):
    required_scopes = (Scope.CONVERSATIONS_WRITE,)

    class InputSerializer(serializers.Serializer):
        rating = serializers.IntegerField(min_value=1, max_value=5, help_text="The visitor's satisfaction, 1 to 5.")

    @extend_schema(
        operation_id="conversations_rate",
        parameters=[CONVERSATION_ID],
        tags=[TAG],
        summary="Rate a conversation",
        description="Sets the satisfaction rating (1–5); rating again replaces it.",
        request=InputSerializer,
        responses=ConversationOutput,
        examples=[OpenApiExample("Rating", request_only=True, value={"rating": 5})],
    )
    def post(self, request: Request, conversation_id: str) -> Response:
        conversation = _conversation_or_404(conversation_id)
        data = self.validated(self.InputSerializer, request.data)
        return Response(ConversationOutput(conversation_rate(conversation=conversation, rating=data["rating"])).data)
