"""Lead capture: creation, dedup by email/phone, completion across messages, `lead.created` once."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from audit.models import AuditEvent
from audit.services import Actor
from config.errors import ValidationFailed
from conversations.models import Conversation
from leads.models import Lead
from leads.services import lead_update
from leads.tests.factories import conversation_for_tests, visitor_says
from webhooks.models import WebhookEvent


@pytest.fixture
def alpha(tenant_a):
    with schema_context(tenant_a.schema):
        yield tenant_a


def _lead_created_events() -> list[dict]:
    return [event.data["lead"] for event in WebhookEvent.objects.filter(type="lead.created")]


def test_lead_capture_creates_a_lead_linked_to_the_conversation(alpha):
    conversation = conversation_for_tests(session_id="s1", channel="widget")

    lead = visitor_says(conversation, "I'm Sarah Connor from Cyberdyne, sarah@cyberdyne.example, about pricing")

    assert lead is not None
    assert (lead.name, lead.email, lead.company, lead.intent, lead.status) == (
        "Sarah Connor",
        "sarah@cyberdyne.example",
        "Cyberdyne",
        "pricing",
        "new",
    )
    assert (lead.conversation_id, lead.agent_id, lead.channel) == (conversation.pk, conversation.agent_id, "widget")
    conversation.refresh_from_db()
    assert (conversation.visitor_name, conversation.visitor_email) == ("Sarah Connor", "sarah@cyberdyne.example")
    assert [event["id"] for event in _lead_created_events()] == [lead.pk]
    assert AuditEvent.objects.filter(action="lead.created", target_id=lead.pk).count() == 1


def test_lead_capture_ignores_messages_without_contact_details(alpha):
    conversation = conversation_for_tests()

    assert visitor_says(conversation, "What are your opening hours?") is None
    assert visitor_says(conversation, "My name is Sam") is None  # a name alone is not a lead

    assert Lead.objects.count() == 0
    assert _lead_created_events() == []


def test_lead_capture_picks_up_a_name_given_before_the_email(alpha):
    conversation = conversation_for_tests()
    visitor_says(conversation, "Hello! My name is Sam Okafor, I work for Umbrella Corp")
    visitor_says(conversation, "Do you have a demo?")

    lead = visitor_says(conversation, "sure: sam@umbrella.example")

    assert lead is not None
    assert (lead.name, lead.company, lead.intent, lead.email) == (
        "Sam Okafor",
        "Umbrella Corp",
        "demo",
        "sam@umbrella.example",
    )


def test_lead_capture_dedups_by_email_case_insensitively_across_conversations(alpha):
    first = visitor_says(conversation_for_tests(session_id="a"), "sam@example.com")
    second = visitor_says(conversation_for_tests(session_id="b"), "It's me again, SAM@Example.com, my name is Sam")

    assert first is not None and second is not None
    assert second.pk == first.pk
    assert Lead.objects.get().name == "Sam"
    assert len(_lead_created_events()) == 1


def test_lead_capture_dedups_by_phone_in_any_format(alpha):
    first = visitor_says(conversation_for_tests(session_id="a"), "Call me on +44 20 7946 0958")
    second = visitor_says(conversation_for_tests(session_id="b"), "my number: 0044 (20) 7946-0958")
    third = visitor_says(conversation_for_tests(session_id="c"), "رقمي +٤٤ ٢٠ ٧٩٤٦ ٠٩٥٨")

    assert first is not None and second is not None and third is not None
    assert first.pk == second.pk == third.pk
    assert Lead.objects.count() == 1
    assert len(_lead_created_events()) == 1


def test_lead_capture_completes_the_conversations_lead_with_a_later_phone_and_name(alpha):
    conversation = conversation_for_tests()
    lead = visitor_says(conversation, "ana@example.org")
    visitor_says(conversation, "and my phone is +351 912 345 678")
    visitor_says(conversation, "oh, my name is Ana Silva")

    assert lead is not None
    lead.refresh_from_db()
    assert (lead.email, lead.phone, lead.phone_normalized, lead.name) == (
        "ana@example.org",
        "+351 912 345 678",
        "+351912345678",
        "Ana Silva",
    )
    assert Lead.objects.count() == 1
    conversation.refresh_from_db()
    assert conversation.visitor_phone == "+351 912 345 678"


def test_lead_capture_never_overwrites_what_a_person_corrected(alpha):
    conversation = conversation_for_tests()
    lead = visitor_says(conversation, "I'm Bob, bob@example.com")
    assert lead is not None
    lead_update(lead=lead, actor=Actor.system("tests"), changes={"name": "Robert Paulson"})

    visitor_says(conversation_for_tests(session_id="other"), "My name is Bobby, bob@example.com")

    lead.refresh_from_db()
    assert lead.name == "Robert Paulson"


def test_lead_capture_keeps_email_and_phone_unique_when_they_belong_to_two_leads(alpha):
    by_email = visitor_says(conversation_for_tests(session_id="a"), "kim@example.com")
    by_phone = visitor_says(conversation_for_tests(session_id="b"), "+1 415 555 0100")

    both = visitor_says(conversation_for_tests(session_id="c"), "kim@example.com or +1 415 555 0100")

    assert by_email is not None and by_phone is not None and both is not None
    assert both.pk == by_email.pk  # email wins; the phone stays with the lead that has it
    by_email.refresh_from_db()
    assert by_email.phone == ""
    assert Lead.objects.count() == 2


def test_lead_update_changes_status_and_notes_audited(alpha):
    lead = visitor_says(conversation_for_tests(), "zoe@example.com")
    assert lead is not None

    lead = lead_update(
        lead=lead, actor=Actor.system("tests"), changes={"status": "qualified", "notes": "Budget approved."}
    )

    lead.refresh_from_db()
    assert (lead.status, lead.notes) == ("qualified", "Budget approved.")
    event = AuditEvent.objects.get(action="lead.updated", target_id=lead.pk)
    assert event.data["status"] == {"from": "new", "to": "qualified"}
    assert "Budget" not in str(event.data)  # notes may hold personal data


def test_lead_update_refuses_an_unknown_status(alpha):
    lead = visitor_says(conversation_for_tests(), "zoe@example.com")
    assert lead is not None

    with pytest.raises(ValidationFailed):
        lead_update(lead=lead, actor=Actor.system("tests"), changes={"status": "won"})


def test_leads_of_one_tenant_are_invisible_to_another(tenant_a, tenant_b):
    with schema_context(tenant_a.schema):
        visitor_says(conversation_for_tests(), "shared@example.com")
    with schema_context(tenant_b.schema):
        assert Lead.objects.count() == 0
        lead = visitor_says(conversation_for_tests(), "shared@example.com")  # B's own lead, not A's
        assert lead is not None and Lead.objects.count() == 1
        assert Conversation.objects.count() == 1
