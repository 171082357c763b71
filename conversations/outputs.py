"""Output serializers of the chat and conversations API, and their OpenAPI examples."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from conversations.costs import COST_CURRENCY
from conversations.models import Channel, Conversation, ConversationStatus, Role


class SourceOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[("faq", "FAQ"), ("document", "Document")])
    id = serializers.CharField(help_text="The FAQ's (`faq_…`) or document's (`doc_…`) id.")
    title = serializers.CharField(help_text="The FAQ's question or the document's title.")
    knowledge_base_id = serializers.CharField()
    snippet = serializers.CharField(help_text="The start of the passage (up to 300 characters).")


class UsageOutput(serializers.Serializer):
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    total_tokens = serializers.IntegerField()
    cost = serializers.DecimalField(max_digits=14, decimal_places=6, help_text="This reply's cost in `currency`.")
    currency = serializers.CharField(help_text="The model price table's currency.")


class ChatOutput(serializers.Serializer):
    conversation_id = serializers.CharField(source="conversation.pk", help_text="`conv_…`")
    message_id = serializers.CharField(source="reply.pk", help_text="The reply's id, `msg_…`.")
    reply = serializers.CharField(source="reply.content")
    sources = SourceOutput(many=True, help_text="The knowledge passages the reply is drawn from.")
    usage = UsageOutput()
    model = serializers.CharField(source="reply.model", help_text="`<provider>/<model>`.")
    created_at = serializers.DateTimeField(source="reply.created_at")


class AgentRefOutput(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()


class VisitorOutput(serializers.Serializer):
    name = serializers.CharField(source="visitor_name")
    email = serializers.CharField(source="visitor_email")
    phone = serializers.CharField(source="visitor_phone")


class ConversationOutput(serializers.Serializer):
    id = serializers.CharField(help_text="`conv_…`")
    agent = AgentRefOutput()
    channel = serializers.ChoiceField(choices=Channel.choices)
    session_id = serializers.CharField(help_text="The caller's session id.")
    status = serializers.ChoiceField(choices=ConversationStatus.choices)
    satisfaction_rating = serializers.IntegerField(allow_null=True, help_text="1 to 5, or null.")
    visitor = VisitorOutput(source="*", help_text="Contact details the visitor gave (lead capture).")
    message_count = serializers.IntegerField()
    total_tokens = serializers.IntegerField()
    cost = serializers.DecimalField(max_digits=14, decimal_places=6)
    currency = serializers.SerializerMethodField()
    started_at = serializers.DateTimeField()
    last_message_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)

    def get_currency(self, conversation: Conversation) -> str:
        return COST_CURRENCY


class MessageOutput(serializers.Serializer):
    id = serializers.CharField(help_text="`msg_…`")
    role = serializers.ChoiceField(choices=Role.choices)
    content = serializers.CharField()
    sources = SourceOutput(many=True)
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    cost = serializers.DecimalField(max_digits=14, decimal_places=6)
    model = serializers.CharField()
    latency_ms = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()


SOURCE_EXAMPLE: dict[str, Any] = {
    "kind": "faq",
    "id": "faq_8Hd2kLq9Xw3Zr7Vb1Nm4",
    "title": "How do I return a product?",
    "knowledge_base_id": "kb_3Jf8Wq2Lz6Xc9Vb4Nm1K",
    "snippet": "You can return any product within 30 days of delivery from your account's Orders page.",
}
CHAT_EXAMPLE: dict[str, Any] = {
    "conversation_id": "conv_7Yt4Rk2Wq9Lm3Xz8Vb6N",
    "message_id": "msg_2Kd8Hq4Lw9Zx3Rv7Tb1M",
    "reply": "You can return any product within 30 days of delivery from your account's Orders page.",
    "sources": [SOURCE_EXAMPLE],
    "usage": {"prompt_tokens": 41, "completion_tokens": 22, "total_tokens": 63, "cost": "0.000000", "currency": "USD"},
    "model": "local/agentry-local",
    "created_at": "2026-03-02T09:14:07.120000Z",
}
CONVERSATION_EXAMPLE: dict[str, Any] = {
    "id": "conv_7Yt4Rk2Wq9Lm3Xz8Vb6N",
    "agent": {"id": "agt_4kP9sT2wXq7LmN3vB8rZ", "name": "Customer Support Agent"},
    "channel": "api",
    "session_id": "visitor-5521",
    "status": "open",
    "satisfaction_rating": None,
    "visitor": {"name": "", "email": "", "phone": ""},
    "message_count": 2,
    "total_tokens": 63,
    "cost": "0.000000",
    "currency": "USD",
    "started_at": "2026-03-02T09:14:06.900000Z",
    "last_message_at": "2026-03-02T09:14:07.120000Z",
    "completed_at": None,
}
