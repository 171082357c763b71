"""Conversations with agents, their messages, and the workspace's model provider settings
(tenant schema: no row carries a tenant). Every write goes through conversations.services."""

from __future__ import annotations

import secrets
import string
from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from config.crypto import decrypt_text

_ALPHABET = string.digits + string.ascii_letters


def _random_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(20))


def _new_conversation_id() -> str:
    return _random_id("conv_")


def _new_message_id() -> str:
    return _random_id("msg_")


class Channel(models.TextChoices):
    API = "api", "API"
    WIDGET = "widget", "Website widget"
    PORTAL = "portal", "Portal preview"


class ConversationStatus(models.TextChoices):
    OPEN = "open", "Open"
    COMPLETED = "completed", "Completed"


class Role(models.TextChoices):
    USER = "user", "Visitor"
    ASSISTANT = "assistant", "Agent"


MAX_SESSION_ID_LENGTH = 200


class Conversation(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=_new_conversation_id, editable=False)
    # PROTECT: agents are archived, never deleted, so their history stays readable.
    agent = models.ForeignKey("agents.Agent", on_delete=models.PROTECT, related_name="conversations")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    session_id = models.CharField(max_length=MAX_SESSION_ID_LENGTH)
    status = models.CharField(max_length=16, choices=ConversationStatus.choices, default=ConversationStatus.OPEN)
    satisfaction_rating = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    visitor_name = models.CharField(max_length=200, blank=True)
    visitor_email = models.CharField(max_length=254, blank=True)
    visitor_phone = models.CharField(max_length=40, blank=True)
    # Who started it through the API: an API key id or a portal user id (empty for the widget).
    key_id = models.CharField(max_length=64, blank=True)
    user_id = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    last_message_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    message_count = models.PositiveIntegerField(default=0)
    # In the model price table's currency (metering.ModelPrice, USD).
    cost = models.DecimalField(max_digits=14, decimal_places=6, default=Decimal(0))
    total_tokens = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ("-started_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["agent", "channel", "session_id"],
                condition=Q(status="open"),
                name="conversations_one_open_per_session",
            ),
            models.CheckConstraint(
                condition=Q(satisfaction_rating__isnull=True)
                | Q(satisfaction_rating__gte=1, satisfaction_rating__lte=5),
                name="conversations_rating_1_to_5",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "last_message_at"], name="conv_status_last_message"),
            models.Index(fields=["session_id"], name="conv_session"),
            models.Index(fields=["visitor_email"], name="conv_visitor_email"),
        ]

    def __str__(self) -> str:
        return self.id


class Message(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=_new_message_id, editable=False)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=16, choices=Role.choices)
    content = models.TextField()
    # [{"kind", "id", "title", "knowledge_base_id", "snippet"}] for assistant messages.
    sources = models.JSONField(default=list, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=14, decimal_places=6, default=Decimal(0))
    model = models.CharField(max_length=160, blank=True)  # `<provider>/<model>`, as in the price table
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("created_at", "id")
        indexes = [models.Index(fields=["conversation", "created_at"], name="conv_message_order")]

    def __str__(self) -> str:
        return self.id


class ProviderSettings(models.Model):
    """The workspace's OpenAI-compatible endpoint (one row per schema, pk 1). The key is
    Fernet-encrypted (config.crypto) and only its last four characters are ever shown."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    base_url = models.URLField(max_length=500, blank=True)
    default_model = models.CharField(max_length=100, blank=True)
    api_key_encrypted = models.TextField(blank=True)
    api_key_last4 = models.CharField(max_length=4, blank=True)
    timeout_seconds = models.PositiveSmallIntegerField(default=30)
    max_retries = models.PositiveSmallIntegerField(default=2)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "model provider settings"
        verbose_name_plural = "model provider settings"

    def __str__(self) -> str:
        return "model provider settings"

    @property
    def has_api_key(self) -> bool:
        return bool(self.api_key_encrypted)

    def api_key(self) -> str:
        """The decrypted key ("" when none is set). Never log or render it."""
        return decrypt_text(self.api_key_encrypted) if self.api_key_encrypted else ""
