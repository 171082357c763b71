"""Agents with knowledge to chat with, made the real way (through the services), in whatever
schema the connection is on: use them inside `schema_context(tenant.schema)`."""

from __future__ import annotations

import itertools
from typing import Any

from agents.models import Agent
from agents.services import agent_update
from agents.tests.factories import TESTS, AgentFactory
from knowledge.models import KnowledgeBase
from knowledge.services import faq_create, knowledge_base_create

SHOP_FAQS = [
    ("How do I return a product?", "You can return any product within 30 days of delivery from the Orders page."),
    ("What are your opening hours?", "Our support team is available Monday to Friday, 9:00 to 18:00."),
    ("Do you ship internationally?", "Yes, we ship to 40 countries; delivery takes 5 to 10 working days."),
]
ARABIC_FAQS = [("كيف يمكنني إرجاع المنتجات؟", "يمكنك إرجاع المنتجات خلال ثلاثين يوما من الشراء.")]


_numbers = itertools.count(1)


def knowledge_base_with_faqs(
    *, name: str = "", language: str = "en", faqs: list[tuple[str, str]] | None = None
) -> KnowledgeBase:
    """A knowledge base with `faqs` (default: SHOP_FAQS), named "Help centre N" unless named."""
    knowledge_base = knowledge_base_create(name=name or f"Help centre {next(_numbers)}", language=language, actor=TESTS)
    for question, answer in SHOP_FAQS if faqs is None else faqs:
        faq_create(knowledge_base=knowledge_base, question=question, answer=answer, actor=TESTS)
    return knowledge_base


def chat_agent(*, knowledge_bases: list[KnowledgeBase] | None = None, status: str = "active", **fields: Any) -> Agent:
    """An active support agent answering from `knowledge_bases` (default: a new shop help centre)."""
    if knowledge_bases is None:
        knowledge_bases = [knowledge_base_with_faqs()]
    agent = AgentFactory.create(
        status="active" if status in ("active", "paused") else status,
        knowledge_base_ids=[kb.pk for kb in knowledge_bases],
        **fields,
    )
    if status == "paused":
        agent = agent_update(agent=agent, actor=TESTS, changes={"status": "paused"})
    return Agent.objects.prefetch_related("knowledge_bases").get(pk=agent.pk)


def conversation_path_ids(tenant: Any) -> dict[str, str]:
    """Fresh rows of `tenant` for `{conversation_id}` (a conversation with two messages) and
    `{agent_id}` (the active agent it is with) in API paths."""
    from django_tenants.utils import schema_context

    from conversations.services import chat_reply

    with schema_context(tenant.schema_name):
        agent = chat_agent(name=f"{tenant.slug} chat agent")
        result = chat_reply(agent=agent, session_id=f"{tenant.slug}-visitor", message="Hello", channel="api")
    return {"conversation_id": result.conversation.pk, "agent_id": agent.pk}
