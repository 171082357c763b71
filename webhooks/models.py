"""Outgoing webhooks (tenant schema): endpoints a tenant registered, the events that happened,
one delivery per (event, endpoint) and every HTTP attempt of it.

No row carries a tenant: the schema is the boundary (STYLE §4).
"""

from __future__ import annotations

import secrets
import string

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

_ALPHABET = string.digits + string.ascii_letters


def _random_id(prefix: str, length: int = 20) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def _new_endpoint_id() -> str:
    return _random_id("ep_")


def _new_event_id() -> str:
    # Standard Webhooks message ids (`webhook-id`); receivers de-duplicate on them.
    return _random_id("msg_", 24)


def _new_delivery_id() -> str:
    return _random_id("dlv_")


class EventType(models.TextChoices):
    SUBSCRIPTION_CREATED = "subscription.created", "Subscription created"
    SUBSCRIPTION_UPDATED = "subscription.updated", "Subscription updated"
    SUBSCRIPTION_UPGRADED = "subscription.upgraded", "Subscription upgraded"
    SUBSCRIPTION_CANCELLED = "subscription.cancelled", "Subscription cancelled"
    USAGE_THRESHOLD_REACHED = "usage.threshold_reached", "Usage threshold reached"
    USAGE_LIMIT_REACHED = "usage.limit_reached", "Usage limit reached"
    BILLING_PAYMENT_FAILED = "billing.payment_failed", "Payment failed"
    BILLING_PAYMENT_SUCCEEDED = "billing.payment_succeeded", "Payment succeeded"
    AGENT_CREATED = "agent.created", "Agent created"
    AGENT_UPDATED = "agent.updated", "Agent updated"
    AGENT_DELETED = "agent.deleted", "Agent deleted"
    CONVERSATION_COMPLETED = "conversation.completed", "Conversation completed"
    LEAD_CREATED = "lead.created", "Lead created"
    TEST_PING = "test.ping", "Test ping"


# What an endpoint can subscribe to: `test.ping` goes only to the endpoint it is sent to.
SUBSCRIBABLE_EVENT_TYPE_CHOICES = [(value, label) for value, label in EventType.choices if value != EventType.TEST_PING]


class WebhookEndpoint(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=_new_endpoint_id, editable=False)
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    event_types = ArrayField(models.CharField(max_length=64, choices=EventType.choices), default=list)
    is_enabled = models.BooleanField(default=True)
    # Fernet-encrypted `whsec_…` (config.crypto); the plain secret is shown once.
    secret_encrypted = models.TextField()
    # After a rotation the previous secret also signs until `previous_secret_expires_at`.
    previous_secret_encrypted = models.TextField(blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # Start of the current unbroken run of failed attempts (None: the last attempt succeeded).
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at", "id")

    def __str__(self) -> str:
        return self.url

    def is_subscribed_to(self, event_type: str) -> bool:
        return event_type == EventType.TEST_PING or event_type in self.event_types


class WebhookEvent(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=_new_event_id, editable=False)
    type = models.CharField(max_length=64, choices=EventType.choices, db_index=True)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"  # every scheduled attempt failed, or the endpoint was disabled


class DeliveryTrigger(models.TextChoices):
    EVENT = "event", "Event"
    REPLAY = "replay", "Replay"
    TEST = "test", "Send test"


class WebhookDelivery(models.Model):
    """One event to one endpoint: attempted on the retry schedule until it succeeds or gives up."""

    id = models.CharField(primary_key=True, max_length=32, default=_new_delivery_id, editable=False)
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    trigger = models.CharField(max_length=16, choices=DeliveryTrigger.choices, default=DeliveryTrigger.EVENT)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempt_count = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A worker owns the delivery until then (a claim, not a lock held across the HTTP call).
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=["endpoint", "-created_at"]),
            models.Index(
                fields=["next_attempt_at"], name="webhooks_delivery_due", condition=models.Q(status="pending")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id} ({self.status})"


class WebhookDeliveryAttempt(models.Model):
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    attempted_at = models.DateTimeField()
    url = models.URLField(max_length=2000)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    error = models.CharField(max_length=500, blank=True)
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ("delivery", "number")
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="webhooks_attempt_unique_number")]

    def __str__(self) -> str:
        return f"{self.delivery_id} #{self.number}"
