"""GET /api/v1/conversations (filters, pagination), one conversation, its messages, the rating,
scopes, two tenants; and completing inactive conversations with `conversation.completed` once."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from apikeys.tests.factories import IssuedApiKeyFactory, api_client
from conversations.models import Conversation
from conversations.services import chat_reply, conversations_complete_inactive
from conversations.tests.factories import chat_agent
from webhooks.models import WebhookEvent


def _json(response: Any) -> Any:
    return json.loads(response.content)


@pytest.fixture
def alpha_api(tenant_a) -> Client:
    return api_client(tenant_a.host, IssuedApiKeyFactory.create(tenant=tenant_a.tenant).secret)


@pytest.fixture
def chats(tenant_a):  # type: ignore[no-untyped-def]
    """Two agents; three conversations (api ×2, portal ×1)."""
    with schema_context(tenant_a.schema):
        first, second = chat_agent(name="First"), chat_agent(name="Second")
        results = [
            chat_reply(agent=first, session_id="s-1", message="How do I return a product?", channel="api"),
            chat_reply(agent=first, session_id="s-2", message="Hello", channel="api"),
            chat_reply(agent=second, session_id="s-1", message="Hello", channel="portal"),
        ]
    return first, second, [result.conversation for result in results]


def test_conversations_list_newest_first_with_filters(tenant_a, alpha_api, chats):
    first, second, conversations = chats

    everything = _json(alpha_api.get("/api/v1/conversations"))["results"]
    by_agent = _json(alpha_api.get(f"/api/v1/conversations?agent={first.pk}"))["results"]
    by_channel = _json(alpha_api.get("/api/v1/conversations?channel=portal"))["results"]
    by_session = _json(alpha_api.get("/api/v1/conversations?session_id=s-1"))["results"]
    completed = _json(alpha_api.get("/api/v1/conversations?status=completed"))["results"]

    assert [c["id"] for c in everything] == [c.pk for c in reversed(conversations)]
    assert {c["id"] for c in by_agent} == {conversations[0].pk, conversations[1].pk}
    assert [c["id"] for c in by_channel] == [conversations[2].pk]
    assert {c["id"] for c in by_session} == {conversations[0].pk, conversations[2].pk}
    assert completed == []
    assert everything[0]["agent"] == {"id": second.pk, "name": "Second"}
    assert everything[-1]["message_count"] == 2 and everything[-1]["currency"] == "USD"


def test_conversations_list_paginates_and_refuses_bad_filters(tenant_a, alpha_api, chats):
    page = _json(alpha_api.get("/api/v1/conversations?limit=2"))
    rest = _json(alpha_api.get(page["next"]))
    bad = alpha_api.get("/api/v1/conversations?channel=fax")

    assert len(page["results"]) == 2 and len(rest["results"]) == 1 and rest["next"] is None
    assert bad.status_code == 400 and _json(bad)["code"] == "validation_error"


def test_conversation_detail_and_transcript_with_sources(tenant_a, alpha_api, chats):
    conversation = chats[2][0]

    detail = _json(alpha_api.get(f"/api/v1/conversations/{conversation.pk}"))
    messages = _json(alpha_api.get(f"/api/v1/conversations/{conversation.pk}/messages"))["results"]

    assert detail["id"] == conversation.pk and detail["session_id"] == "s-1" and detail["status"] == "open"
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[1]["sources"][0]["kind"] == "faq" and messages[1]["model"] == "local/agentry-local"
    assert messages[1]["latency_ms"] is not None and messages[0]["sources"] == []


def test_conversation_rating_sets_and_replaces(tenant_a, alpha_api, chats):
    path = f"/api/v1/conversations/{chats[2][0].pk}/rating"

    first = alpha_api.post(path, data=json.dumps({"rating": 2}), content_type="application/json")
    second = alpha_api.post(path, data=json.dumps({"rating": 5}), content_type="application/json")
    invalid = alpha_api.post(path, data=json.dumps({"rating": 6}), content_type="application/json")

    assert _json(first)["satisfaction_rating"] == 2 and _json(second)["satisfaction_rating"] == 5
    assert invalid.status_code == 400 and _json(invalid)["errors"][0]["field"] == "rating"
    with schema_context(tenant_a.schema):
        assert Conversation.objects.get(pk=chats[2][0].pk).satisfaction_rating == 5


def test_conversations_need_their_scopes(tenant_a, chats):
    reader = api_client(
        tenant_a.host, IssuedApiKeyFactory.create(tenant=tenant_a.tenant, scopes=["conversations:read"]).secret
    )
    chat_only = api_client(tenant_a.host, IssuedApiKeyFactory.create(tenant=tenant_a.tenant, scopes=["chat"]).secret)
    path = f"/api/v1/conversations/{chats[2][0].pk}"

    assert reader.get(path).status_code == 200
    assert reader.post(f"{path}/rating", data='{"rating": 3}', content_type="application/json").status_code == 403
    assert chat_only.get("/api/v1/conversations").status_code == 403


def test_conversations_of_another_tenant_are_not_found(tenant_a, tenant_b, chats):
    beta = api_client(tenant_b.host, IssuedApiKeyFactory.create(tenant=tenant_b.tenant).secret)
    conversation = chats[2][0]

    listed = _json(beta.get("/api/v1/conversations"))["results"]
    responses = [
        beta.get(f"/api/v1/conversations/{conversation.pk}"),
        beta.get(f"/api/v1/conversations/{conversation.pk}/messages"),
        beta.post(
            f"/api/v1/conversations/{conversation.pk}/rating", data='{"rating": 1}', content_type="application/json"
        ),
    ]

    assert listed == []
    assert [r.status_code for r in responses] == [404, 404, 404]
    with schema_context(tenant_a.schema):
        assert Conversation.objects.get(pk=conversation.pk).satisfaction_rating is None


def test_inactive_conversations_complete_once_with_a_webhook_event(tenant_a, chats, settings):
    settings.CONVERSATION_INACTIVITY_MINUTES = 30
    stale, fresh = chats[2][0], chats[2][1]
    with schema_context(tenant_a.schema):
        Conversation.objects.filter(pk=stale.pk).update(last_message_at=timezone.now() - timedelta(minutes=31))
        events_before = WebhookEvent.objects.filter(type="conversation.completed").count()

        first_run = conversations_complete_inactive()
        second_run = conversations_complete_inactive()

        stale.refresh_from_db()
        fresh.refresh_from_db()
        events = list(WebhookEvent.objects.filter(type="conversation.completed").order_by("created_at"))
    assert (first_run, second_run) == (1, 0)
    assert (stale.status, fresh.status) == ("completed", "open") and stale.completed_at is not None
    assert len(events) == events_before + 1
    assert (
        events[-1].data["conversation"]["id"] == stale.pk and events[-1].data["conversation"]["status"] == "completed"
    )


def test_a_new_message_after_completion_opens_a_new_conversation(tenant_a, chats):
    first = chats[0]
    old = chats[2][0]
    with schema_context(tenant_a.schema):
        Conversation.objects.filter(pk=old.pk).update(last_message_at=timezone.now() - timedelta(days=1))
        conversations_complete_inactive()
        again = chat_reply(agent=first, session_id="s-1", message="Hello", channel="api")

    assert again.conversation.pk != old.pk and again.conversation.status == "open"
