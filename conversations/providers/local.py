"""The `local` provider: offline and deterministic, it answers only from the agent's knowledge.

What it says, in order:
1. a greeting or thanks (and nothing else) gets a polite answer;
2. a message that gives an email address or phone number is thanked (lead capture records it);
3. the best FAQ answer, verbatim, or the best document passage, with its source — when the
   passage is good enough: its score is at least CHAT_LOCAL_MIN_SCORE and it covers at least
   CHAT_LOCAL_MIN_COVERAGE of the question's words (stemmed in the passage's language);
4. otherwise it says it cannot answer and asks for contact details. It never invents.
Fixed phrases are in the question's language when it is Arabic or English.

Tokens are estimated (there is no tokenizer): `estimate_tokens(text) = ceil(characters / 4)`, plus
4 per turn of the prompt. The prompt is the system prompt, the history, the message and the passage.
"""

from __future__ import annotations

import math
import re

from django.conf import settings
from django.db import connection

from agents.models import Agent
from conversations.providers import ChatProvider, ChatTurn, Completion, Source
from knowledge.selectors import SearchHit, knowledge_search

LOCAL_MODEL = "local/agentry-local"
TOKENS_PER_TURN = 4
SEARCH_LIMIT = 5

_ARABIC_LETTER = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF]")
_LATIN_LETTER = re.compile(r"[A-Za-z]")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?:\+|00)?\d[\d\s().-]{6,}\d")
# A long number is only a phone number when it starts with + or 00 or the message says so
# (an order number is not contact details).
_PHONE_WORDS = re.compile(r"phone|mobile|call|whatsapp|tel|هاتف|جوال|رقم|اتصل|واتساب", re.IGNORECASE)
_WORD = re.compile(r"[\w']+")

# A greeting or thanks is a short message of these words with at least one of the first set.
GREETINGS = frozenset(
    [
        "hi",
        "hello",
        "hey",
        "hiya",
        "howdy",
        "greetings",
        "morning",
        "evening",
        "afternoon",
        "مرحبا",
        "مرحباً",
        "اهلا",
        "أهلا",
        "هلا",
        "السلام",
        "سلام",
        "صباح",
        "مساء",
    ]
)
THANKS = frozenset(["thanks", "thank", "thx", "ty", "cheers", "شكرا", "شكراً", "مشكور", "تسلم"])
FILLERS = frozenset(
    [
        "good",
        "there",
        "all",
        "everyone",
        "you",
        "so",
        "very",
        "much",
        "a",
        "lot",
        "again",
        "ok",
        "okay",
        "great",
        "perfect",
        "and",
        "team",
        "عليكم",
        "الخير",
        "النور",
        "جزيلا",
        "لك",
        "لكم",
    ]
)

PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "greeting": "Hello! How can I help you today?",
        "thanks": "You're welcome! Is there anything else I can help you with?",
        "contact_received": "Thank you! We have your details and someone from our team will get back to you soon.",
        "cannot_answer": (
            "I'm sorry, I don't have an answer to that. If you leave your name and your email address or "
            "phone number, someone from our team will get back to you."
        ),
    },
    "ar": {
        "greeting": "مرحباً! كيف يمكنني مساعدتك اليوم؟",
        "thanks": "على الرحب والسعة! هل هناك أي شيء آخر يمكنني مساعدتك به؟",
        "contact_received": "شكراً لك! لقد سجلنا بياناتك وسيتواصل معك أحد أعضاء فريقنا قريباً.",
        "cannot_answer": (
            "عذراً، ليست لدي إجابة على ذلك. إذا تركت اسمك وبريدك الإلكتروني أو رقم هاتفك، فسيتواصل معك أحد أعضاء فريقنا."
        ),
    },
}


def estimate_tokens(text: str) -> int:
    """The documented estimate: one token per four characters, rounded up (0 for no text)."""
    return math.ceil(len(text) / 4)


def message_language(text: str) -> str:
    """`ar` when most letters are Arabic, else `en`."""
    arabic = len(_ARABIC_LETTER.findall(text))
    return "ar" if arabic and arabic >= len(_LATIN_LETTER.findall(text)) else "en"


def _words(text: str) -> list[str]:
    return [word.lower() for word in _WORD.findall(text)]


def _is_only(text: str, vocabulary: frozenset[str]) -> bool:
    """A short message of `vocabulary` and filler words only, with at least one of `vocabulary`."""
    words = _words(text)
    return (
        0 < len(words) <= 6
        and any(word in vocabulary for word in words)
        and all(word in vocabulary or word in FILLERS for word in words)
    )


def gives_contact_details(text: str) -> bool:
    if _EMAIL.search(text):
        return True
    phone = _PHONE.search(text)
    return phone is not None and (phone.group().startswith(("+", "00")) or bool(_PHONE_WORDS.search(text)))


def coverage(hit: SearchHit, question: str) -> float:
    """The share of the question's words (stemmed as the passage was indexed) that the passage has.
    One query: PostgreSQL stems both with the passage's text search configuration."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tsvector_to_array(to_tsvector(%s::regconfig, %s)), "
            "tsvector_to_array(to_tsvector(%s::regconfig, %s))",
            [hit.search_config, question, hit.search_config, f"{hit.title}\n{hit.text}"],
        )
        asked, found = cursor.fetchone()
    asked_set = set(asked or [])
    if not asked_set:
        return 0.0
    return len(asked_set & set(found or [])) / len(asked_set)


def best_passage(*, agent: Agent, message: str) -> SearchHit | None:
    """The best passage of the agent's knowledge that answers `message` well enough, or None.
    Content in the question's language is preferred; other languages are searched next."""
    kb_ids = [knowledge_base.pk for knowledge_base in agent.knowledge_bases.all()]
    if not kb_ids:
        return None
    language = message_language(message)
    for search_language in (language, None):
        for hit in knowledge_search(knowledge_base_ids=kb_ids, query=message, language=search_language, limit=3):
            if (
                hit.score >= settings.CHAT_LOCAL_MIN_SCORE
                and coverage(hit, message) >= settings.CHAT_LOCAL_MIN_COVERAGE
            ):
                return hit
    return None


def _source(hit: SearchHit) -> Source:
    return Source(
        kind=hit.kind,
        id=hit.faq_id or hit.document_id or "",
        title=hit.title,
        knowledge_base_id=hit.knowledge_base_id,
        snippet=hit.text[:300],
    )


class LocalProvider(ChatProvider):
    name = "local"

    def complete(self, *, agent: Agent, history: list[ChatTurn], message: str) -> Completion:
        phrases = PHRASES[message_language(message)]
        hit: SearchHit | None = None
        needs_contact = False
        if _is_only(message, GREETINGS):
            text = phrases["greeting"]
        elif _is_only(message, THANKS):
            text = phrases["thanks"]
        elif gives_contact_details(message):
            text = phrases["contact_received"]
        else:
            hit = best_passage(agent=agent, message=message)
            if hit is None:
                text, needs_contact = phrases["cannot_answer"], True
            else:
                text = self._answer(hit, agent)
        context = hit.text if hit is not None else ""
        prompt = [agent.system_prompt, *(turn.content for turn in history), message, context]
        return Completion(
            text=text,
            sources=[_source(hit)] if hit is not None else [],
            prompt_tokens=sum(estimate_tokens(part) for part in prompt) + TOKENS_PER_TURN * (len(history) + 1),
            completion_tokens=estimate_tokens(text),
            model=LOCAL_MODEL,
            needs_contact=needs_contact,
        )

    @staticmethod
    def _answer(hit: SearchHit, agent: Agent) -> str:
        """An FAQ's answer verbatim; a document's passage, cut at the agent's `max_tokens`."""
        max_chars = int((agent.config or {}).get("max_tokens") or 1024) * 4
        text = hit.text.strip()
        if len(text) <= max_chars:
            return text
        cut = text[:max_chars]
        return cut[: cut.rfind(" ")] + " …" if " " in cut else cut
