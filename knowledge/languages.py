"""Languages a knowledge base can be written in, and the PostgreSQL text search configuration of each.

Every configuration named here ships with PostgreSQL ≥ 12 (snowball stemmers; `arabic` included).
`simple` lower-cases and splits words without stemming: the safe choice for any other language.
"""

from __future__ import annotations

from django.db import models


class KnowledgeLanguage(models.TextChoices):
    ENGLISH = "en", "English"
    ARABIC = "ar", "Arabic"
    FRENCH = "fr", "French"
    GERMAN = "de", "German"
    SPANISH = "es", "Spanish"
    ITALIAN = "it", "Italian"
    PORTUGUESE = "pt", "Portuguese"
    DUTCH = "nl", "Dutch"
    RUSSIAN = "ru", "Russian"
    TURKISH = "tr", "Turkish"
    OTHER = "other", "Other (no stemming)"


SEARCH_CONFIGS: dict[str, str] = {
    KnowledgeLanguage.ENGLISH: "english",
    KnowledgeLanguage.ARABIC: "arabic",
    KnowledgeLanguage.FRENCH: "french",
    KnowledgeLanguage.GERMAN: "german",
    KnowledgeLanguage.SPANISH: "spanish",
    KnowledgeLanguage.ITALIAN: "italian",
    KnowledgeLanguage.PORTUGUESE: "portuguese",
    KnowledgeLanguage.DUTCH: "dutch",
    KnowledgeLanguage.RUSSIAN: "russian",
    KnowledgeLanguage.TURKISH: "turkish",
    KnowledgeLanguage.OTHER: "simple",
}


def search_config_for(language: str) -> str:
    """The text search configuration for a language code (`simple` for anything unknown)."""
    return SEARCH_CONFIGS.get(language, "simple")
