"""Included by api/urls.py under /api/v1/."""

from django.urls import path

from conversations.apis import (
    ChatApi,
    ChatStreamApi,
    ConversationDetailApi,
    ConversationListApi,
    ConversationMessagesApi,
    ConversationRatingApi,
)

urlpatterns = [
    path("chat", ChatApi.as_view(), name="chat"),
    path("chat/stream", ChatStreamApi.as_view(), name="chat-stream"),
    path("conversations", ConversationListApi.as_view(), name="conversations"),
    path("conversations/<str:conversation_id>", ConversationDetailApi.as_view(), name="conversation"),
    path(
        "conversations/<str:conversation_id>/messages", ConversationMessagesApi.as_view(), name="conversation-messages"
    ),
    path("conversations/<str:conversation_id>/rating", ConversationRatingApi.as_view(), name="conversation-rating"),
]
