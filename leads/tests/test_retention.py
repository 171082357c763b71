"""Retention (purge after the tenant's setting) and erasure of one visitor's data (service and API)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from agents.tests.factories import AgentFactory
from apikeys.tests.factories import IssuedApiKeyFactory, api_client
from audit.models import AuditEvent
from audit.services import Actor
from config.errors import ValidationFailed
from conversations.models import Conversation, Message
from conversations.retention import (
    conversation_erase,
    conversation_retention_set,
    conversations_purge_expired,
    conversations_purge_expired_task,
    visitor_data_erase,
)
from leads.models import Lead
from leads.tests.factories import conversation_for_tests, visitor_says
from tenants.models import Tenant
from webhooks.models import WebhookEvent

TESTS = Actor.system("tests")


@pytest.fixture
def alpha(tenant_a):
    with schema_context(tenant_a.schema):
        yield tenant_a


def _conversation_aged(days: float, *, session_id: str, agent=None) -> Conversation:  # type: ignore[no-untyped-def]
    conversation = conversation_for_tests(
        agent=agent, session_id=session_id, last_message_at=timezone.now() - timedelta(days=days)
    )
    Message.objects.create(conversation=conversation, role="user", content="hello")
    Message.objects.create(conversation=conversation, role="assistant", content="hi")
    return conversation


def test_purge_deletes_exactly_the_conversations_older_than_the_retention_in_batches(alpha):
    agent = AgentFactory.create(status="active")
    old = [_conversation_aged(31 + i, session_id=f"old-{i}", agent=agent) for i in range(5)]
    kept = [_conversation_aged(days, session_id=f"new-{days}", agent=agent) for days in (29.9, 1, 0)]
    lead = visitor_says(old[0], "old@example.com")

    purged = conversations_purge_expired(retention_days=30, batch_size=2)

    assert purged == 5
    assert set(Conversation.objects.values_list("pk", flat=True)) == {c.pk for c in kept}
    assert not Message.objects.filter(conversation_id__in=[c.pk for c in old]).exists()
    assert Message.objects.count() == 2 * len(kept)
    assert lead is not None
    lead.refresh_from_db()  # the lead stays, unlinked
    assert lead.conversation_id is None
    event = AuditEvent.objects.get(action="conversations.purged")
    assert (event.data["conversations"], event.data["retention_days"]) == (5, 30)
    assert conversations_purge_expired(retention_days=30) == 0  # a second run changes nothing


def test_purge_task_follows_the_tenants_setting(alpha):
    _conversation_aged(10, session_id="ten-days")
    assert conversations_purge_expired_task() == 0  # no retention setting: kept

    conversation_retention_set(tenant=alpha.tenant, days=7, actor=TESTS)
    alpha.tenant.refresh_from_db()

    with schema_context(alpha.schema):
        assert conversations_purge_expired_task() == 1
        assert Conversation.objects.count() == 0


def test_retention_setting_is_validated_and_audited(alpha):
    with pytest.raises(ValidationFailed):
        conversation_retention_set(tenant=alpha.tenant, days=0, actor=TESTS)

    conversation_retention_set(tenant=alpha.tenant, days=90, actor=TESTS)

    assert Tenant.objects.get(pk=alpha.tenant.pk).conversation_retention_days == 90
    with schema_context(alpha.schema):
        event = AuditEvent.objects.filter(action="tenant.updated").latest("id")
        assert event.data["changes"]["conversation_retention_days"] == ["None", "90"]


def test_erase_by_session_removes_conversations_messages_and_leads_of_that_visitor(alpha):
    mine = conversation_for_tests(session_id="visitor-1")
    visitor_says(mine, "I'm Ann, ann@example.com")
    same_email_elsewhere = conversation_for_tests(session_id="visitor-1-other-device")
    visitor_says(same_email_elsewhere, "ann@example.com again")
    someone_else = conversation_for_tests(session_id="visitor-2")
    other_lead = visitor_says(someone_else, "bob@example.com")

    counts = visitor_data_erase(session_id="visitor-1", actor=TESTS)

    assert (counts.conversations, counts.messages, counts.leads) == (2, 2, 1)
    assert list(Conversation.objects.values_list("pk", flat=True)) == [someone_else.pk]
    assert other_lead is not None
    assert list(Lead.objects.values_list("pk", flat=True)) == [other_lead.pk]
    assert not Message.objects.filter(content__icontains="ann").exists()
    event = AuditEvent.objects.get(action="visitor_data.erased")
    assert "ann" not in json.dumps(event.data).lower()
    assert not AuditEvent.objects.filter(target_label__icontains="ann").exists()


def test_erase_by_email_is_case_insensitive_and_redacts_lead_webhook_events(alpha):
    conversation = conversation_for_tests(session_id="s")
    lead = visitor_says(conversation, "My name is Cleo, +1 415 555 0199, cleo@example.com")
    assert lead is not None
    assert WebhookEvent.objects.filter(type="lead.created").count() == 1

    assert conversation_erase(email="CLEO@Example.com") == 1

    assert not Lead.objects.exists() and not Conversation.objects.exists()
    event = WebhookEvent.objects.get(type="lead.created")
    assert event.data == {"lead": {"id": lead.pk, "erased": True}}


def test_erase_needs_a_session_or_a_valid_email(alpha):
    with pytest.raises(ValidationFailed):
        visitor_data_erase()
    with pytest.raises(ValidationFailed):
        visitor_data_erase(email="not an email")
    assert visitor_data_erase(email="nobody@example.com").conversations == 0


def test_erase_api_needs_conversations_write_and_stays_in_its_tenant(tenant_a, tenant_b):
    with schema_context(tenant_a.schema):
        visitor_says(conversation_for_tests(session_id="shared-session"), "dan@example.com")
    with schema_context(tenant_b.schema):
        visitor_says(conversation_for_tests(session_id="shared-session"), "dan@example.com")
    reader = api_client(tenant_b.host, IssuedApiKeyFactory.create(tenant=tenant_b.tenant, scopes=["leads:read"]).secret)
    writer = api_client(
        tenant_b.host, IssuedApiKeyFactory.create(tenant=tenant_b.tenant, scopes=["conversations:write"]).secret
    )
    body = json.dumps({"session_id": "shared-session", "email": "dan@example.com"})

    refused = reader.post("/api/v1/conversations/erase", data=body, content_type="application/json")
    erased = writer.post("/api/v1/conversations/erase", data=body, content_type="application/json")

    assert refused.status_code == 403
    assert erased.status_code == 200, erased.content
    assert json.loads(erased.content) == {"conversations": 1, "messages": 1, "leads": 1}
    with schema_context(tenant_b.schema):
        assert not Conversation.objects.exists() and not Lead.objects.exists()
    with schema_context(tenant_a.schema):  # A's visitor with the same session and email is untouched
        assert Conversation.objects.count() == 1 and Lead.objects.count() == 1


def test_erase_api_refuses_an_empty_request_with_a_problem(tenant_a):
    client = api_client(tenant_a.host, IssuedApiKeyFactory.create(tenant=tenant_a.tenant).secret)

    response = client.post("/api/v1/conversations/erase", data="{}", content_type="application/json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert json.loads(response.content)["code"] == "validation_error"
