"""The local provider: answers from the agent's knowledge (English and Arabic), greets, thanks,
asks for contact details when it cannot answer, never invents; deterministic token estimates."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from agents.tests.factories import TESTS
from conversations.providers import ChatTurn, provider_for, text_deltas
from conversations.providers.local import (
    PHRASES,
    LocalProvider,
    estimate_tokens,
    gives_contact_details,
    message_language,
)
from conversations.tests.factories import ARABIC_FAQS, SHOP_FAQS, chat_agent, knowledge_base_with_faqs
from knowledge.indexing import document_index
from knowledge.services import document_create_from_text


def _ask(agent, message, history=None):  # type: ignore[no-untyped-def]
    return LocalProvider().complete(agent=agent, history=history or [], message=message)


def test_local_answers_with_the_best_faq_verbatim_and_its_source(tenant_a):
    with schema_context(tenant_a.schema):
        agent = chat_agent()
        completion = _ask(agent, "How can I return a product I bought?")

    assert completion.text == SHOP_FAQS[0][1]
    assert [(s.kind, s.title) for s in completion.sources] == [("faq", SHOP_FAQS[0][0])]
    assert completion.sources[0].id.startswith("faq_")
    assert completion.model == "local/agentry-local"
    assert not completion.needs_contact


@pytest.mark.parametrize(
    "question",
    ["What is the airspeed velocity of an unladen swallow?", "Can you sell me a spaceship", "returns spaceship moon"],
)
def test_local_asks_for_contact_details_instead_of_inventing(tenant_a, question):
    with schema_context(tenant_a.schema):
        agent = chat_agent()
        completion = _ask(agent, question)

    assert completion.text == PHRASES["en"]["cannot_answer"]
    assert completion.needs_contact and completion.sources == []


def test_local_without_knowledge_bases_cannot_answer(tenant_a):
    with schema_context(tenant_a.schema):
        agent = chat_agent(knowledge_bases=[])
        completion = _ask(agent, "How do I return a product?")

    assert completion.needs_contact


def test_local_answers_arabic_questions_from_arabic_faqs(tenant_a):
    with schema_context(tenant_a.schema):
        english = knowledge_base_with_faqs()
        arabic = knowledge_base_with_faqs(name="مركز المساعدة", language="ar", faqs=ARABIC_FAQS)
        agent = chat_agent(knowledge_bases=[english, arabic])
        completion = _ask(agent, "كيف أرجع المنتج؟")
        unknown = _ask(agent, "ما هو لون السماء على المريخ؟")

    assert completion.text == ARABIC_FAQS[0][1]
    assert unknown.text == PHRASES["ar"]["cannot_answer"]


def test_local_answers_from_a_document_passage(tenant_a):
    with schema_context(tenant_a.schema):
        knowledge_base = knowledge_base_with_faqs(faqs=[])
        document = document_create_from_text(
            knowledge_base=knowledge_base,
            title="Warranty",
            text="Every kettle has a two year warranty covering heating element failures.",
            source="text",
            actor=TESTS,
        )
        document_index(document_id=document.pk)
        agent = chat_agent(knowledge_bases=[knowledge_base])
        completion = _ask(agent, "How long is the kettle warranty?")

    assert "two year warranty" in completion.text
    assert completion.sources[0].kind == "document" and completion.sources[0].title == "Warranty"


@pytest.mark.parametrize(
    ("message", "phrase", "language"),
    [
        ("Hello!", "greeting", "en"),
        ("good morning", "greeting", "en"),
        ("مرحبا", "greeting", "ar"),
        ("السلام عليكم", "greeting", "ar"),
        ("Thanks a lot", "thanks", "en"),
        ("thank you", "thanks", "en"),
        ("شكرا جزيلا", "thanks", "ar"),
        ("I'm Ann, ann@example.com", "contact_received", "en"),
        ("call me on +44 20 7946 0958", "contact_received", "en"),
    ],
)
def test_local_greets_thanks_and_acknowledges_contact_details(tenant_a, message, phrase, language):
    with schema_context(tenant_a.schema):
        agent = chat_agent(knowledge_bases=[])
        completion = _ask(agent, message)

    assert completion.text == PHRASES[language][phrase]
    assert completion.sources == [] and not completion.needs_contact


def test_local_is_deterministic_and_estimates_tokens(tenant_a):
    history = [ChatTurn("user", "Hello"), ChatTurn("assistant", PHRASES["en"]["greeting"])]
    with schema_context(tenant_a.schema):
        agent = chat_agent(system_prompt="Be brief.")
        first = _ask(agent, "What are your opening hours?", history)
        second = _ask(agent, "What are your opening hours?", history)

    assert first == second
    expected_prompt = (
        estimate_tokens("Be brief.")
        + estimate_tokens("Hello")
        + estimate_tokens(PHRASES["en"]["greeting"])
        + estimate_tokens("What are your opening hours?")
        + estimate_tokens(SHOP_FAQS[1][1])
        + 4 * 3
    )
    assert (first.prompt_tokens, first.completion_tokens) == (expected_prompt, estimate_tokens(SHOP_FAQS[1][1]))


def test_estimate_tokens_is_a_quarter_of_the_characters_rounded_up():
    assert [estimate_tokens(text) for text in ("", "a", "abcd", "abcde")] == [0, 1, 1, 2]


def test_message_language_and_contact_detection():
    assert message_language("كيف حالك؟ ok") == "ar"
    assert message_language("How are you") == "en"
    assert gives_contact_details("mail me at a.b@example.co.uk")
    assert gives_contact_details("my phone is 020 7946 0958")
    assert not gives_contact_details("where is my order 12345678?")


def test_text_deltas_join_back_to_the_text():
    text = "You can return any product  within 30 days."
    assert "".join(text_deltas(text)) == text and len(list(text_deltas(text))) > 3


def test_provider_for_defaults_to_local(tenant_a):
    with schema_context(tenant_a.schema):
        agent = chat_agent(knowledge_bases=[])
        agent.config = {}
        assert provider_for(agent).name == "local"
        agent.config = {"provider": "openai"}
        assert provider_for(agent).name == "openai"
