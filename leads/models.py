"""Leads: contact details a visitor gave an agent in a conversation (tenant schema).

Deduplicated by normalised email and by normalised phone (partial unique constraints back the
rule that leads.services enforces). Every write goes through leads.services.
"""

from __future__ import annotations

import secrets
import string

from django.db import models
from django.db.models import Q

_ALPHABET = string.digits + string.ascii_letters


def _new_lead_id() -> str:
    return "lead_" + "".join(secrets.choice(_ALPHABET) for _ in range(20))


class LeadStatus(models.TextChoices):
    NEW = "new", "New"
    CONTACTED = "contacted", "Contacted"
    QUALIFIED = "qualified", "Qualified"
    CLOSED = "closed", "Closed"


class LeadIntent(models.TextChoices):
    """What the visitor seems to want, from keywords of their messages (leads.extraction)."""

    NONE = "", "Unknown"
    DEMO = "demo", "Wants a demo"
    PRICING = "pricing", "Asks about pricing"
    PURCHASE = "purchase", "Wants to buy"
    SUPPORT = "support", "Needs help"
    PARTNERSHIP = "partnership", "Partnership"
    CALLBACK = "callback", "Wants to be contacted"


class Lead(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=_new_lead_id, editable=False)
    name = models.CharField(max_length=200, blank=True)
    email = models.CharField(max_length=254, blank=True)
    # Lower-cased email, and the phone's digits with a leading "+" when international: the dedup keys.
    email_normalized = models.CharField(max_length=254, blank=True, editable=False)
    phone = models.CharField(max_length=40, blank=True)
    phone_normalized = models.CharField(max_length=20, blank=True, editable=False)
    company = models.CharField(max_length=200, blank=True)
    intent = models.CharField(max_length=16, choices=LeadIntent.choices, blank=True)
    status = models.CharField(max_length=16, choices=LeadStatus.choices, default=LeadStatus.NEW)
    notes = models.TextField(blank=True, max_length=5000)
    # Where it came from. Purging old conversations keeps the lead (the link becomes null);
    # erasing a visitor's data deletes both.
    conversation = models.ForeignKey(
        "conversations.Conversation", on_delete=models.SET_NULL, null=True, blank=True, related_name="leads"
    )
    agent = models.ForeignKey("agents.Agent", on_delete=models.SET_NULL, null=True, blank=True, related_name="leads")
    channel = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["email_normalized"], condition=~Q(email_normalized=""), name="leads_lead_email_unique"
            ),
            models.UniqueConstraint(
                fields=["phone_normalized"], condition=~Q(phone_normalized=""), name="leads_lead_phone_unique"
            ),
        ]
        indexes = [models.Index(fields=["status", "-created_at"], name="leads_lead_status_created")]

    def __str__(self) -> str:
        # The id only: audit labels outlive an erasure, so they must not hold personal data.
        return self.id
