"""Conversations to capture leads from, and leads captured the real way (through
`lead_capture_from_message`), in whatever schema the connection is on."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from agents.models import Agent, AgentTool
from agents.tests.factories import AgentFactory
from conversations.models import Conversation, Message
from leads.models import Lead
from leads.services import lead_capture_from_message


def conversation_for_tests(
    *, agent: Agent | None = None, session_id: str = "visitor-1", channel: str = "widget", **fields: Any
) -> Conversation:
    """An open conversation (rows written directly: chat itself is tested in conversations/)."""
    agent = agent or AgentFactory.create(status="active", tools=[AgentTool.LEAD_CAPTURE])
    fields.setdefault("last_message_at", timezone.now())
    return Conversation.objects.create(agent=agent, channel=channel, session_id=session_id, **fields)


def visitor_says(conversation: Conversation, text: str) -> Lead | None:
    """Store the visitor's message the way chat does, then capture (chat calls capture first)."""
    lead = lead_capture_from_message(conversation=conversation, text=text)
    Message.objects.create(conversation=conversation, role="user", content=text)
    return lead


def lead_path_ids(tenant: Any) -> dict[str, str]:
    """A fresh lead of `tenant` for the `{lead_id}` placeholder of API paths."""
    from django_tenants.utils import schema_context

    with schema_context(tenant.schema_name):
        conversation = conversation_for_tests(session_id=f"path-ids-{Lead.objects.count()}")
        lead = visitor_says(conversation, f"I'm Pat, pat{Lead.objects.count()}@{tenant.slug}.example")
    assert lead is not None
    return {"lead_id": lead.pk}
