"""Retention and erasure of visitors' data: conversations, their messages, and leads.

- Retention: a tenant sets `conversation_retention_days`; once a day a task per schema deletes
  the conversations whose last message is older than that (messages go with them; leads stay,
  their link to the conversation becomes null). The cutoff is fixed when the run starts and rows
  go in batches, so a run deletes exactly the conversations older than the cutoff without one
  long transaction.
- Erasure: `visitor_data_erase(session_id=…, email=…)` deletes everything of one visitor — the
  conversations of that session or email, their messages, the leads with the same email or
  phone (and those leads' conversations) — and redacts `lead.created` events already recorded.
  Audited without the personal data itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.services import Actor, audit_record
from config.celery import app
from config.errors import ValidationFailed
from conversations.models import Conversation, Message
from leads.extraction import email_normalize, phone_normalize
from leads.models import Lead
from tenants.context import current_tenant
from tenants.models import Tenant
from tenants.services import tenant_update_details
from webhooks.models import EventType, WebhookEvent

logger = logging.getLogger(__name__)

RETENTION_MIN_DAYS, RETENTION_MAX_DAYS = 1, 3650
PURGE_BATCH_SIZE = 500
RETENTION_ACTOR = Actor.system("conversation retention")


@dataclass(frozen=True)
class ErasureCounts:
    conversations: int
    messages: int
    leads: int


def conversation_retention_set(*, tenant: Tenant, days: int | None, actor: Actor) -> Tenant:
    """Keep conversations `days` days after their last message (None: until erased). Audited.
    Raises ValidationFailed outside RETENTION_MIN_DAYS..RETENTION_MAX_DAYS."""
    if days is not None and not RETENTION_MIN_DAYS <= days <= RETENTION_MAX_DAYS:
        message = f"Between {RETENTION_MIN_DAYS} and {RETENTION_MAX_DAYS} days, or empty to keep conversations."
        raise ValidationFailed(message, errors={"conversation_retention_days": [message]})
    if tenant.conversation_retention_days == days:
        return tenant
    tenant.conversation_retention_days = days
    return tenant_update_details(tenant=tenant, changed_fields=["conversation_retention_days"], actor=actor)


def conversations_purge_expired(
    *, retention_days: int, now: datetime | None = None, batch_size: int = PURGE_BATCH_SIZE
) -> int:
    """Delete this schema's conversations whose last message is older than `retention_days`;
    returns how many. One transaction per batch: an interrupted run leaves whole conversations."""
    cutoff = (now or timezone.now()) - timedelta(days=retention_days)
    expired = Conversation.objects.filter(last_message_at__lt=cutoff).order_by("last_message_at", "id")
    purged = 0
    while True:
        with transaction.atomic():
            ids = list(expired.values_list("pk", flat=True)[:batch_size])
            if not ids:
                break
            Conversation.objects.filter(pk__in=ids).delete()  # messages cascade, leads are unlinked
        purged += len(ids)
    if purged:
        audit_record(
            action="conversations.purged",
            actor=RETENTION_ACTOR,
            data={"conversations": purged, "retention_days": retention_days, "cutoff": cutoff.isoformat()},
        )
    return purged


def _email_checked(email: str) -> str:
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationFailed("Not a valid email address.", errors={"email": ["Not a valid email address."]}) from None
    return email_normalize(email)


def _visitor_rows(*, session_id: str, email: str) -> tuple[set[str], set[str]]:
    """(conversation ids, lead ids) of one visitor: their session's or email's conversations,
    the leads sharing an email or phone with those, and those leads' conversations."""
    base = Q(pk__in=[])
    if session_id:
        base |= Q(session_id=session_id)
    if email:
        base |= Q(visitor_email__iexact=email) | Q(leads__email_normalized=email)
    conversations = list(Conversation.objects.filter(base).values("pk", "visitor_email", "visitor_phone").distinct())
    emails = {email} | {email_normalize(c["visitor_email"]) for c in conversations}
    phones = {phone_normalize(c["visitor_phone"]) for c in conversations}
    lead_condition = (
        Q(conversation_id__in=[c["pk"] for c in conversations])
        | Q(email_normalized__in=emails - {""})
        | Q(phone_normalized__in=phones - {""})
    )
    leads = list(Lead.objects.filter(lead_condition).values_list("pk", "conversation_id"))
    conversation_ids = {c["pk"] for c in conversations} | {
        conversation_id for _, conversation_id in leads if conversation_id
    }
    if emails - {""}:
        more = Conversation.objects.filter(visitor_email__in=[e for e in emails if e]).values_list("pk", flat=True)
        conversation_ids |= set(more)
    return conversation_ids, {lead_id for lead_id, _ in leads}


def _lead_events_redact(lead_ids: set[str]) -> None:
    for event in WebhookEvent.objects.filter(type=EventType.LEAD_CREATED, data__lead__id__in=sorted(lead_ids)):
        event.data = {"lead": {"id": event.data["lead"]["id"], "erased": True}}
        event.save(update_fields=["data"])


def visitor_data_erase(
    *, session_id: str | None = None, email: str | None = None, actor: Actor | None = None
) -> ErasureCounts:
    """Erase one visitor's conversations, messages and leads (see the module docstring).

    Give `session_id`, `email` or both. Erasing a visitor with no data is not an error (counts
    are zero). Raises ValidationFailed when neither is given or the email is not valid.
    """
    session_id = (session_id or "").strip()
    email = _email_checked(email.strip()) if email and email.strip() else ""
    if not session_id and not email:
        message = "Give the visitor's session id or email address."
        raise ValidationFailed(message, errors={"session_id": [message], "email": [message]})
    with transaction.atomic():
        conversation_ids, lead_ids = _visitor_rows(session_id=session_id, email=email)
        messages = Message.objects.filter(conversation_id__in=conversation_ids).count()
        Lead.objects.filter(pk__in=lead_ids).delete()
        Conversation.objects.filter(pk__in=conversation_ids).delete()
        _lead_events_redact(lead_ids)
        counts = ErasureCounts(conversations=len(conversation_ids), messages=messages, leads=len(lead_ids))
        audit_record(
            action="visitor_data.erased",
            actor=actor or Actor.system("erasure"),
            # What was asked and what went, never the email itself (it was just erased).
            data={
                "by_session_id": bool(session_id),
                "by_email": bool(email),
                "conversations": counts.conversations,
                "messages": counts.messages,
                "leads": counts.leads,
            },
        )
    return counts


def conversation_erase(*, session_id: str | None = None, email: str | None = None) -> int:
    """The contract's entry point: `visitor_data_erase`, returning the conversations erased."""
    return visitor_data_erase(session_id=session_id, email=email).conversations


@app.task(acks_late=True)
def conversations_purge_expired_task() -> int:
    """The current tenant's purge (queued per schema by the dispatch task); safe to run twice."""
    days = current_tenant().conversation_retention_days
    return conversations_purge_expired(retention_days=days) if days else 0


@app.task(acks_late=True)
def conversation_retention_dispatch_task() -> list[str]:
    """Daily (beat): queue the purge in every tenant that has a retention setting (suspended and
    cancelled ones too: the promise to delete old data does not lapse with the subscription)."""
    queued = []
    for tenant in Tenant.objects.filter(conversation_retention_days__isnull=False).order_by("schema_name"):
        conversations_purge_expired_task.apply_async(headers={"_schema_name": tenant.schema_name})
        queued.append(tenant.schema_name)
    logger.info("conversation retention queued for %d tenants", len(queued))
    return queued
