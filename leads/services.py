"""Every write to leads: capture from a visitor's message (called by chat) and changes by people.

Capture is deduplicated by normalised email, then phone, then the conversation's own lead, under a
per-schema advisory lock (two messages of one visitor arriving at once make one lead, not two).
`lead.created` is published exactly once per lead, when the row is created.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from django.db import connection, transaction
from django.db.models import Q

from audit.services import Actor, audit_record
from config.errors import ValidationFailed
from leads.extraction import ContactDetails, contact_details_extract, email_normalize, phone_normalize
from leads.models import Lead, LeadIntent, LeadStatus
from tenants.context import current_schema, current_tenant
from webhooks.events import EventType, webhook_event_publish

if TYPE_CHECKING:
    from conversations.models import Conversation

# How many of the visitor's earlier messages are read for a name or company given before the email.
EARLIER_MESSAGES_READ = 20
CAPTURE_ACTOR = Actor.system("lead capture")


class LeadChanges(TypedDict, total=False):
    name: str
    company: str
    intent: str
    status: str
    notes: str


def _leads_lock() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"{current_schema()}:leads"])


def lead_webhook_data(lead: Lead) -> dict[str, Any]:
    return {
        "lead": {
            "id": lead.pk,
            "name": lead.name,
            "email": lead.email,
            "phone": lead.phone,
            "company": lead.company,
            "intent": lead.intent,
            "status": lead.status,
            "conversation_id": lead.conversation_id,
            "agent_id": lead.agent_id,
            "channel": lead.channel,
            "created_at": lead.created_at,
        }
    }


def _earlier_details(conversation: Conversation) -> list[ContactDetails]:
    """What the visitor's earlier messages said, newest first (a name given before the email)."""
    from conversations.models import Message

    texts = (
        Message.objects.filter(conversation=conversation, role="user")
        .order_by("-created_at")
        .values_list("content", flat=True)[:EARLIER_MESSAGES_READ]
    )
    return [contact_details_extract(text) for text in texts]


def _completed(details: ContactDetails, earlier: list[ContactDetails]) -> ContactDetails:
    def first(field: str) -> str:
        return getattr(details, field) or next((getattr(d, field) for d in earlier if getattr(d, field)), "")

    return ContactDetails(
        name=first("name"), email=details.email, phone=details.phone, company=first("company"), intent=first("intent")
    )


def _matching_lead(details: ContactDetails, conversation: Conversation) -> Lead | None:
    if details.email_normalized:
        lead = Lead.objects.filter(email_normalized=details.email_normalized).first()
        if lead is not None:
            return lead
    if details.phone_normalized:
        lead = Lead.objects.filter(phone_normalized=details.phone_normalized).first()
        if lead is not None:
            return lead
    return Lead.objects.filter(conversation=conversation).order_by("created_at").first()


def _fill_blanks(lead: Lead, details: ContactDetails) -> list[str]:
    """Add what the lead lacks; never overwrite what a person may have corrected. The changed fields."""
    changed = [field for field in ("name", "company", "intent") if not getattr(lead, field) and getattr(details, field)]
    for field in changed:
        setattr(lead, field, getattr(details, field))
    others = Lead.objects.exclude(pk=lead.pk)
    if not lead.email and details.email and not others.filter(email_normalized=details.email_normalized).exists():
        lead.email, lead.email_normalized = details.email, details.email_normalized
        changed += ["email", "email_normalized"]
    if not lead.phone and details.phone and not others.filter(phone_normalized=details.phone_normalized).exists():
        lead.phone, lead.phone_normalized = details.phone, details.phone_normalized
        changed += ["phone", "phone_normalized"]
    return changed


def _conversation_visitor_update(conversation: Conversation, lead: Lead) -> None:
    """Copy the lead's contact onto the conversation's blank visitor fields (erasure by email uses them)."""
    updates = {
        field: value
        for field, value in (
            ("visitor_name", lead.name[:200]),
            ("visitor_email", lead.email),
            ("visitor_phone", lead.phone),
        )
        if value and not getattr(conversation, field)
    }
    if updates:
        type(conversation).objects.filter(pk=conversation.pk).update(**updates)
        for field, value in updates.items():
            setattr(conversation, field, value)


def _lead_create(details: ContactDetails, conversation: Conversation) -> Lead:
    lead = Lead.objects.create(
        name=details.name,
        email=details.email,
        email_normalized=details.email_normalized,
        phone=details.phone,
        phone_normalized=details.phone_normalized,
        company=details.company,
        intent=details.intent,
        conversation=conversation,
        agent_id=conversation.agent_id,
        channel=conversation.channel,
    )
    audit_record(action="lead.created", actor=CAPTURE_ACTOR, target=lead, data={"conversation_id": conversation.pk})
    webhook_event_publish(tenant=current_tenant(), event_type=EventType.LEAD_CREATED, data=lead_webhook_data(lead))
    return lead


def lead_capture_from_message(*, conversation: Conversation, text: str) -> Lead | None:
    """Record the contact details of a visitor's message as a lead of `conversation`.

    A message with an email or phone creates a lead, or completes the existing one with the same
    normalised email or phone (or this conversation's lead). A name, company or intent alone only
    completes this conversation's lead, if it has one; a name said before the email is picked up
    from the visitor's earlier messages. Returns the lead created or updated, or None.
    Publishes `lead.created` (on commit) only when a lead is created. Raises nothing for any text.
    """
    details = contact_details_extract(text)
    if details.is_empty:
        return None
    with transaction.atomic():
        _leads_lock()
        if details.has_contact:
            details = _completed(details, _earlier_details(conversation))
            lead = _matching_lead(details, conversation)
            if lead is None:
                lead = _lead_create(details, conversation)
                _conversation_visitor_update(conversation, lead)
                return lead
        else:
            lead = Lead.objects.filter(conversation=conversation).order_by("created_at").first()
            if lead is None:
                return None
        changed = _fill_blanks(lead, details)
        if changed:
            lead.save(update_fields=[*changed, "updated_at"])
        _conversation_visitor_update(conversation, lead)
        return lead


def _text(value: str, *, field: str, max_length: int) -> str:
    value = value.strip()
    if len(value) > max_length:
        raise ValidationFailed(f"`{field}` is too long.", errors={field: [f"At most {max_length} characters."]})
    return value


def lead_update(*, lead: Lead, actor: Actor, changes: LeadChanges) -> Lead:
    """Change status, notes, name, company or intent (what a person may correct). Audited.

    Raises ValidationFailed for an unknown status or intent, or text that is too long."""
    if "status" in changes and changes["status"] not in LeadStatus.values:
        raise ValidationFailed("Unknown status.", errors={"status": [f"One of: {', '.join(LeadStatus.values)}."]})
    if "intent" in changes and changes["intent"] not in LeadIntent.values:
        raise ValidationFailed("Unknown intent.", errors={"intent": ["Not a known intent."]})
    limits = {"name": 200, "company": 200, "notes": 5000, "status": 16, "intent": 16}
    cleaned = {field: _text(str(value), field=field, max_length=limits[field]) for field, value in changes.items()}
    changed = {field: value for field, value in cleaned.items() if getattr(lead, field) != value}
    if not changed:
        return lead
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        before = {field: getattr(lead, field) for field in changed}
        for field, value in changed.items():
            setattr(lead, field, value)
        lead.save(update_fields=[*changed, "updated_at"])
        # Notes may hold personal data: the trail says that they changed, not what they say.
        data = {f: {"from": before[f], "to": v} for f, v in changed.items() if f in ("status", "intent")}
        audit_record(action="lead.updated", actor=actor, target=lead, data={"fields": sorted(changed), **data})
    return lead


def leads_matching_visitor(*, email: str | None = None, phone: str | None = None) -> Q:
    """The condition for a visitor's leads (used by erasure)."""
    condition = Q(pk__in=[])
    if email:
        condition |= Q(email_normalized=email_normalize(email))
    if phone:
        condition |= Q(phone_normalized=phone_normalize(phone))
    return condition
