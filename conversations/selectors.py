"""Reads of conversations, their messages and the workspace's model provider settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Max, Prefetch, Q, QuerySet, Sum

from agents.models import Agent
from conversations.models import Conversation, ConversationStatus, Message, ProviderSettings
from conversations.providers import ChatTurn
from knowledge.models import KnowledgeBase


def conversation_list(
    *,
    agent_id: str | None = None,
    channel: str | None = None,
    status: str | None = None,
    session_id: str | None = None,
) -> QuerySet[Conversation]:
    """Conversations newest first, filtered by whichever arguments are given."""
    conversations = Conversation.objects.select_related("agent")
    if agent_id:
        conversations = conversations.filter(agent_id=agent_id)
    if channel:
        conversations = conversations.filter(channel=channel)
    if status:
        conversations = conversations.filter(status=status)
    if session_id:
        conversations = conversations.filter(session_id=session_id)
    return conversations


def chat_agent_get(*, agent_id: str) -> Agent | None:
    """The agent to chat with, with its knowledge bases' ids prefetched (the hot path: no joins)."""
    if not agent_id or "\x00" in agent_id:
        return None
    knowledge_base_ids = Prefetch("knowledge_bases", queryset=KnowledgeBase.objects.only("id"))
    return Agent.objects.prefetch_related(knowledge_base_ids).filter(pk=agent_id).first()


def conversation_get(*, conversation_id: str) -> Conversation | None:
    return Conversation.objects.select_related("agent").filter(pk=conversation_id).first()


def conversation_messages(*, conversation: Conversation) -> QuerySet[Message]:
    """The transcript, oldest first."""
    return conversation.messages.order_by("created_at", "id")


def conversation_history(*, conversation: Conversation, limit: int | None = None) -> list[ChatTurn]:
    """The last `limit` (CHAT_HISTORY_MESSAGES) messages as the model's memory, oldest first."""
    limit = settings.CHAT_HISTORY_MESSAGES if limit is None else limit
    if limit <= 0:
        return []
    latest = conversation.messages.order_by("-created_at", "-id").values_list("role", "content")[:limit]
    return [ChatTurn(role=role, content=content) for role, content in reversed(list(latest))]


def provider_settings_get() -> ProviderSettings:
    """The workspace's model provider settings (an unsaved default row when never set)."""
    return ProviderSettings.objects.filter(pk=1).first() or ProviderSettings(
        timeout_seconds=int(settings.CHAT_PROVIDER_TIMEOUT_SECONDS), max_retries=settings.CHAT_PROVIDER_MAX_RETRIES
    )


@dataclass(frozen=True)
class AgentConversationStats:
    agent_id: str
    agent_name: str
    conversations: int
    open_conversations: int
    messages: int
    tokens: int
    cost: Decimal  # USD, the model price table's currency
    last_message_at: datetime | None


def conversation_stats_per_agent() -> list[AgentConversationStats]:
    """The current workspace's conversations summed per agent, most expensive first: counts,
    tokens, cost and the last activity. Numbers only (no message text, no visitor details), so
    platform staff may be shown it. One query."""
    rows = (
        Conversation.objects.values("agent_id", "agent__name")
        .annotate(
            n_conversations=Count("id"),
            n_open=Count("id", filter=Q(status=ConversationStatus.OPEN)),
            n_messages=Sum("message_count"),
            n_tokens=Sum("total_tokens"),
            cost_sum=Sum("cost"),
            last_at=Max("last_message_at"),
        )
        .order_by("-cost_sum", "-n_conversations", "agent__name")
    )
    return [
        AgentConversationStats(
            agent_id=row["agent_id"],
            agent_name=row["agent__name"],
            conversations=row["n_conversations"],
            open_conversations=row["n_open"],
            messages=row["n_messages"] or 0,
            tokens=row["n_tokens"] or 0,
            cost=row["cost_sum"] or Decimal(0),
            last_message_at=row["last_at"],
        )
        for row in rows
    ]
