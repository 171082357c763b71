"""Chat and every write to conversations: `chat_reply`, `chat_reply_stream`, `conversation_rate`,
`conversations_complete_inactive`, `provider_settings_update`.

A chat turn: check the message and the agent, the agent's daily budget (agents.budgets) and the
month's chat-message and token quotas (usage.quotas); find or open the session's conversation;
ask the agent's provider with the conversation's memory; store both messages; meter the message
and the tokens (usage.recorder, with the agent and the conversation) and spend the budget;
capture a lead when the agent has that tool. Tokens spent at a provider are metered even when
storing the reply fails afterwards: the provider has already been paid.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from agents.budgets import agent_budget_check, agent_budget_consume
from agents.models import Agent, AgentStatus, AgentTool
from audit.services import Actor, audit_record
from config.crypto import encrypt_text
from config.errors import AgentNotActive, ValidationFailed
from conversations.costs import COST_CURRENCY, token_cost
from conversations.models import (
    MAX_SESSION_ID_LENGTH,
    Channel,
    Conversation,
    ConversationStatus,
    Message,
    ProviderSettings,
    Role,
    _new_message_id,
)
from conversations.providers import Completion, Source, provider_for
from conversations.selectors import conversation_history, provider_settings_get
from leads.services import lead_capture_from_message
from tenants.context import current_tenant
from usage.meters import Meter, TokenType, UsagePeriod
from usage.quotas import quota_consume, quota_release
from usage.recorder import usage_record
from webhooks.events import EventType, webhook_event_publish

logger = logging.getLogger(__name__)


@dataclass
class ChatResult:
    conversation: Conversation
    reply: Message
    sources: list[Source] = field(default_factory=list)
    usage: dict[str, Any] = field(default_factory=dict)  # prompt/completion/total tokens, cost, currency


@dataclass(frozen=True)
class _Turn:
    """One chat turn being answered: what was checked before the provider is called."""

    agent: Agent
    conversation: Conversation
    message: str
    message_id: str  # the user message's id, also the idempotency id of its metering
    key_id: str
    user_id: str
    started: float
    quota_period: UsagePeriod  # the month its chat message was taken from


def _message_checked(message: str) -> str:
    text = (message or "").strip()
    if not text:
        raise ValidationFailed("The message is empty.", errors={"message": ["Write a message."]})
    if len(text) > settings.CHAT_MAX_MESSAGE_CHARS:
        limit = f"{settings.CHAT_MAX_MESSAGE_CHARS:,}"
        raise ValidationFailed(
            f"The message is longer than {limit} characters.", errors={"message": [f"At most {limit} characters."]}
        )
    return text


def _session_checked(session_id: str) -> str:
    session = (session_id or "").strip()
    if not session or len(session) > MAX_SESSION_ID_LENGTH:
        raise ValidationFailed(
            "The session id must be 1 to 200 characters.", errors={"session_id": ["1 to 200 characters."]}
        )
    return session


def _agent_checked(agent: Agent, channel: str) -> None:
    """Only active agents chat; the portal's "Try it" preview also works on drafts and paused agents."""
    if channel not in Channel.values:
        raise ValueError(f"unknown channel {channel!r}")
    allowed = {AgentStatus.ACTIVE}
    if channel == Channel.PORTAL:
        allowed |= {AgentStatus.DRAFT, AgentStatus.PAUSED}
    if agent.status not in allowed:
        raise AgentNotActive(
            f"The agent “{agent.name}” is {agent.status}: only active agents can chat.",
            extra={"agent_id": agent.pk, "agent_status": agent.status},
        )


def _quotas_consume(*, message_id: str) -> UsagePeriod:
    """One chat message of the month's quota, and a check that tokens are left (their number is
    only known after the reply, when usage_record counts them against the same quota)."""
    tenant = current_tenant()
    quota_consume(tenant=tenant, meter=Meter.TOKENS, quantity=0, idempotency_id=f"{message_id}:tokens-left")
    return quota_consume(tenant=tenant, meter=Meter.CHAT_MESSAGES, quantity=1, idempotency_id=message_id).period


@contextmanager
def _quota_given_back_on_failure(turn: _Turn) -> Iterator[None]:
    """A turn that fails before its message is recorded (the provider failed, the stream broke)
    gives its chat message back to the month's quota; once recorded, release is a no-op."""
    try:
        yield
    except BaseException:
        quota_release(
            tenant=current_tenant(),
            meter=Meter.CHAT_MESSAGES,
            quantity=1,
            idempotency_id=turn.message_id,
            period=turn.quota_period,
        )
        raise


def _conversation_open(*, agent: Agent, channel: str, session_id: str, key_id: str, user_id: str) -> Conversation:
    """The session's open conversation, locked for this turn, or a new one."""
    lookup = {"agent": agent, "channel": channel, "session_id": session_id, "status": ConversationStatus.OPEN}
    for _attempt in range(2):
        conversation = Conversation.objects.select_for_update().filter(**lookup).first()
        if conversation is not None:
            return conversation
        try:
            with transaction.atomic():
                return Conversation.objects.create(
                    **lookup, key_id=key_id, user_id=user_id, last_message_at=timezone.now()
                )
        except IntegrityError:  # a concurrent first message of the same session opened it
            continue
    raise ValidationFailed("The session is busy; send the message again.", errors={"session_id": ["Busy."]})


def _turn_start(
    *, agent: Agent, session_id: str, message: str, channel: str, key_id: str | None, user_id: str | None
) -> _Turn:
    """The checks, then the session's conversation (opened and locked in its own atomic block)."""
    text = _message_checked(message)
    session = _session_checked(session_id)
    _agent_checked(agent, channel)
    agent_budget_check(agent=agent)
    message_id = _new_message_id()
    quota_period = _quotas_consume(message_id=message_id)
    with transaction.atomic():
        conversation = _conversation_open(
            agent=agent, channel=channel, session_id=session, key_id=key_id or "", user_id=user_id or ""
        )
    return _Turn(agent, conversation, text, message_id, key_id or "", user_id or "", time.monotonic(), quota_period)


def _meter(turn: _Turn, completion: Completion, cost: Decimal) -> None:
    """Count the message and its tokens (per agent and conversation) and spend the agent's budget."""
    tenant = current_tenant()
    common: dict[str, Any] = {
        "tenant": tenant,
        "key_id": turn.key_id,
        "user_id": turn.user_id,
        "agent_id": turn.agent.pk,
        "conversation_id": turn.conversation.pk,
    }
    usage_record(meter=Meter.CHAT_MESSAGES, quantity=1, idempotency_id=turn.message_id, **common)
    for token_type, quantity in (
        (TokenType.INPUT, completion.prompt_tokens),
        (TokenType.OUTPUT, completion.completion_tokens),
    ):
        usage_record(
            meter=Meter.TOKENS,
            quantity=quantity,
            idempotency_id=f"{turn.message_id}:{token_type}",
            model=completion.model,
            token_type=token_type,
            **common,
        )
    agent_budget_consume(agent=turn.agent, tokens=completion.total_tokens, cost=cost)


def _lead_capture(turn: _Turn) -> dict[str, str]:
    """Lead capture (the leads app) of the visitor's message, when the agent has the tool; returns
    the conversation's visitor fields it filled in (those still empty take the lead's values)."""
    if AgentTool.LEAD_CAPTURE not in (turn.agent.tools or []):
        return {}
    lead = lead_capture_from_message(conversation=turn.conversation, text=turn.message)
    if lead is None:
        return {}
    conversation = turn.conversation
    visitor = {
        "visitor_name": conversation.visitor_name or lead.name,
        "visitor_email": conversation.visitor_email or lead.email,
        "visitor_phone": conversation.visitor_phone or lead.phone,
    }
    Conversation.objects.filter(pk=conversation.pk).update(**visitor)
    return visitor


def _turn_finish(turn: _Turn, completion: Completion) -> ChatResult:
    """Meter, then store both messages and add to the conversation's totals (in one atomic block,
    with F() updates so concurrent turns of one session cannot lose a count)."""
    cost = token_cost(
        model=completion.model, prompt_tokens=completion.prompt_tokens, completion_tokens=completion.completion_tokens
    )
    _meter(turn, completion, cost)
    latency_ms = int((time.monotonic() - turn.started) * 1000)
    conversation = turn.conversation
    with transaction.atomic():
        Message.objects.create(id=turn.message_id, conversation=conversation, role=Role.USER, content=turn.message)
        reply = Message.objects.create(
            conversation=conversation,
            role=Role.ASSISTANT,
            content=completion.text,
            sources=[source.as_dict() for source in completion.sources],
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            cost=cost,
            model=completion.model,
            latency_ms=latency_ms,
        )
        Conversation.objects.filter(pk=conversation.pk).update(
            last_message_at=reply.created_at,
            message_count=F("message_count") + 2,
            total_tokens=F("total_tokens") + completion.total_tokens,
            cost=F("cost") + cost,
        )
        visitor = _lead_capture(turn)
    # The totals as stored (exact under chat_reply's row lock; a concurrent stream may add more).
    conversation.last_message_at = reply.created_at
    conversation.message_count += 2
    conversation.total_tokens += completion.total_tokens
    conversation.cost += cost
    for name, value in visitor.items():
        setattr(conversation, name, value)
    usage = {
        "prompt_tokens": completion.prompt_tokens,
        "completion_tokens": completion.completion_tokens,
        "total_tokens": completion.total_tokens,
        "cost": cost,
        "currency": COST_CURRENCY,
    }
    return ChatResult(conversation=conversation, reply=reply, sources=list(completion.sources), usage=usage)


def chat_reply(
    *,
    agent: Agent,
    session_id: str,
    message: str,
    channel: str,
    key_id: str | None = None,
    user_id: str | None = None,
) -> ChatResult:
    """The agent's reply to `message` in the session's conversation (opened if none is open).

    Raises `ValidationFailed` (empty, too long, bad session id), `AgentNotActive`,
    `AgentBudgetExceeded`, `QuotaExceeded` (chat messages or tokens) before the provider is
    called, and `ModelProviderError` when the provider fails (nothing is stored then).
    """
    with transaction.atomic():
        turn = _turn_start(
            agent=agent, session_id=session_id, message=message, channel=channel, key_id=key_id, user_id=user_id
        )
        with _quota_given_back_on_failure(turn):
            history = conversation_history(conversation=turn.conversation)
            completion = provider_for(agent).complete(agent=agent, history=history, message=turn.message)
            return _turn_finish(turn, completion)


def chat_reply_stream(
    *,
    agent: Agent,
    session_id: str,
    message: str,
    channel: str,
    key_id: str | None = None,
    user_id: str | None = None,
) -> Iterator[str | ChatResult]:
    """`chat_reply`, streamed: yields the reply's text deltas, then the `ChatResult`.

    The checks run (and raise) when the first item is requested, before anything is yielded.
    The conversation is opened in the caller's transaction; the messages are stored in their own
    once the provider has finished (a stream outlives the request's transaction).
    """
    turn = _turn_start(
        agent=agent, session_id=session_id, message=message, channel=channel, key_id=key_id, user_id=user_id
    )
    with _quota_given_back_on_failure(turn):
        history = conversation_history(conversation=turn.conversation)
        completion: Completion | None = None
        for item in provider_for(agent).complete_stream(agent=agent, history=history, message=turn.message):
            if isinstance(item, Completion):
                completion = item
            else:
                yield item
        assert completion is not None, "a provider's stream ends with its Completion"
        result = _turn_finish(turn, completion)
    yield result


def conversation_rate(*, conversation: Conversation, rating: int) -> Conversation:
    """Set the visitor's satisfaction rating (1–5); rating again replaces it."""
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ValidationFailed("The rating must be 1 to 5.", errors={"rating": ["A whole number from 1 to 5."]})
    Conversation.objects.filter(pk=conversation.pk).update(satisfaction_rating=rating)
    conversation.satisfaction_rating = rating
    return conversation


def conversation_payload(conversation: Conversation) -> dict[str, Any]:
    """The `conversation.completed` webhook's data (no transcript: fetch the messages)."""
    return {
        "conversation": {
            "id": conversation.pk,
            "agent_id": conversation.agent_id,
            "channel": conversation.channel,
            "session_id": conversation.session_id,
            "status": conversation.status,
            "message_count": conversation.message_count,
            "total_tokens": conversation.total_tokens,
            "cost": str(conversation.cost),
            "currency": COST_CURRENCY,
            "satisfaction_rating": conversation.satisfaction_rating,
            "started_at": conversation.started_at,
            "last_message_at": conversation.last_message_at,
            "completed_at": conversation.completed_at,
        }
    }


def conversations_complete_inactive(*, now: Any = None) -> int:
    """Complete every open conversation without a message for CONVERSATION_INACTIVITY_MINUTES and
    publish `conversation.completed` once for each. Safe to run twice or concurrently: each row is
    claimed with SKIP LOCKED and only an open one is completed. Returns how many were completed."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.CONVERSATION_INACTIVITY_MINUTES)
    tenant = current_tenant()
    completed = 0
    with transaction.atomic():
        stale = (
            Conversation.objects.select_for_update(skip_locked=True)
            .filter(status=ConversationStatus.OPEN, last_message_at__lt=cutoff)
            .order_by("last_message_at")[:500]
        )
        for conversation in stale:
            conversation.status = ConversationStatus.COMPLETED
            conversation.completed_at = now
            conversation.save(update_fields=["status", "completed_at"])
            webhook_event_publish(
                tenant=tenant, event_type=EventType.CONVERSATION_COMPLETED, data=conversation_payload(conversation)
            )
            completed += 1
    if completed:
        logger.info("%d inactive conversations completed in %s", completed, tenant.slug)
    return completed


def provider_settings_update(
    *,
    base_url: str,
    default_model: str,
    timeout_seconds: int,
    max_retries: int,
    api_key: str | None = None,
    clear_api_key: bool = False,
    actor: Actor,
) -> ProviderSettings:
    """Save the workspace's OpenAI-compatible endpoint. `api_key` None keeps the stored key;
    a new key is encrypted at rest (config.crypto) and only its last four characters are kept in clear."""
    row = provider_settings_get()
    row.base_url = base_url.strip()
    row.default_model = default_model.strip()
    row.timeout_seconds = timeout_seconds
    row.max_retries = max_retries
    changed = ["base_url", "default_model", "timeout_seconds", "max_retries"]
    if api_key:
        row.api_key_encrypted = encrypt_text(api_key.strip())
        row.api_key_last4 = api_key.strip()[-4:]
        changed.append("api_key")
    elif clear_api_key:
        row.api_key_encrypted = row.api_key_last4 = ""
        changed.append("api_key")
    with transaction.atomic():
        row.save()
        audit_record(action="model_provider.updated", actor=actor, target=row, data={"changed": changed})
    return row
