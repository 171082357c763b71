"""POST /api/v1/chat and /api/v1/chat/stream over HTTP: replies, memory, validation, quotas,
budgets, metering, lead capture and server-sent events."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from agents.services import agent_update
from agents.tests.factories import TESTS
from apikeys.tests.factories import IssuedApiKeyFactory, api_client
from billing.tests.factories import override_give
from conversations.models import Conversation, Message
from conversations.providers.local import PHRASES
from conversations.tests.factories import SHOP_FAQS, chat_agent
from usage import store
from usage.events import UsageEvent
from usage.meters import Meter, UsagePeriod
from usage.selectors import usage_live_counters

# The whole request: tenant routing, key, agent, conversation lock, history, retrieval (search and
# coverage), two messages, totals, lead capture and the API call metering.
MAX_CHAT_QUERIES = 18


def _chat(client: Client, body: dict[str, Any], path: str = "/api/v1/chat", **headers: Any) -> Any:
    return client.post(path, data=json.dumps(body), content_type="application/json", **headers)


def _json(response: Any) -> Any:
    return json.loads(response.content)


def _events(response: Any) -> list[tuple[str, Any]]:
    raw = b"".join(response.streaming_content).decode()
    events = []
    for block in raw.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        events.append((lines["event"], json.loads(lines["data"])))
    return events


@pytest.fixture
def alpha_api(tenant_a) -> Client:
    return api_client(tenant_a.host, IssuedApiKeyFactory.create(tenant=tenant_a.tenant).secret)


@pytest.fixture
def agent(tenant_a):  # type: ignore[no-untyped-def]
    with schema_context(tenant_a.schema):
        return chat_agent(tools=["knowledge_search", "lead_capture"])


def _counters(tenant_a) -> dict[str, int]:  # type: ignore[no-untyped-def]
    counters = usage_live_counters(tenant=tenant_a.tenant, period=UsagePeriod.of(timezone.now()))
    return {meter: int(value or 0) for meter, value in counters.items()}


def test_chat_replies_from_knowledge_with_sources_and_usage(tenant_a, alpha_api, agent):
    response = _chat(alpha_api, {"agent": agent.pk, "session_id": "visitor-1", "message": "How do I return a product?"})

    assert response.status_code == 200, response.content
    body = _json(response)
    assert body["reply"] == SHOP_FAQS[0][1]
    assert body["conversation_id"].startswith("conv_") and body["message_id"].startswith("msg_")
    assert [source["title"] for source in body["sources"]] == [SHOP_FAQS[0][0]]
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"] > 0
    assert (body["usage"]["cost"], body["usage"]["currency"], body["model"]) == (
        "0.000000",
        "USD",
        "local/agentry-local",
    )
    with schema_context(tenant_a.schema):
        conversation = Conversation.objects.get(pk=body["conversation_id"])
        assert (conversation.channel, conversation.session_id, conversation.status) == ("api", "visitor-1", "open")
        assert conversation.key_id and conversation.message_count == 2
        assert conversation.total_tokens == body["usage"]["total_tokens"]
        roles = list(conversation.messages.values_list("role", "content"))
    assert roles == [("user", "How do I return a product?"), ("assistant", SHOP_FAQS[0][1])]


def test_chat_keeps_one_conversation_per_session_with_its_memory(tenant_a, alpha_api, agent):
    first = _json(_chat(alpha_api, {"agent": agent.pk, "session_id": "s-1", "message": "Hello"}))
    second = _json(
        _chat(alpha_api, {"agent": agent.pk, "session_id": "s-1", "message": "What are your opening hours?"})
    )
    other = _json(_chat(alpha_api, {"agent": agent.pk, "session_id": "s-2", "message": "Hello"}))

    assert first["conversation_id"] == second["conversation_id"] != other["conversation_id"]
    assert first["reply"] == PHRASES["en"]["greeting"] and second["reply"] == SHOP_FAQS[1][1]
    # The memory (the earlier turns) is part of the prompt.
    assert second["usage"]["prompt_tokens"] > first["usage"]["prompt_tokens"]
    with schema_context(tenant_a.schema):
        assert Message.objects.filter(conversation_id=first["conversation_id"]).count() == 4


def test_chat_meters_the_message_and_tokens_per_agent_and_conversation(tenant_a, alpha_api, agent):
    before = _counters(tenant_a)

    body = _json(_chat(alpha_api, {"agent": agent.pk, "session_id": "m-1", "message": "Do you ship internationally?"}))

    after = _counters(tenant_a)
    assert after[Meter.CHAT_MESSAGES] - before[Meter.CHAT_MESSAGES] == 1
    assert after[Meter.TOKENS] - before[Meter.TOKENS] == body["usage"]["total_tokens"]
    entries = store.stream_read(schema=tenant_a.schema, after="0-0", count=10_000)
    events = [UsageEvent.from_stream_fields(fields) for _, fields in entries]
    mine = [event for event in events if event.conversation_id == body["conversation_id"]]
    assert sorted((e.meter, e.token_type, e.quantity, e.model) for e in mine) == [
        ("chat_messages", "", 1, ""),
        ("tokens", "input", body["usage"]["prompt_tokens"], "local/agentry-local"),
        ("tokens", "output", body["usage"]["completion_tokens"], "local/agentry-local"),
    ]
    assert {e.agent_id for e in mine} == {agent.pk}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"session_id": "s", "message": "hi"}, "agent"),
        ({"agent": "agt_doesnotexist", "session_id": "s", "message": "hi"}, "agent"),
        ({"agent": "{agent}", "session_id": "s", "message": "   "}, "message"),
        ({"agent": "{agent}", "session_id": "", "message": "hi"}, "session_id"),
        ({"agent": "{agent}", "session_id": "s" * 201, "message": "hi"}, "session_id"),
    ],
)
def test_chat_refuses_invalid_input_in_the_one_error_shape(tenant_a, alpha_api, agent, body, field):
    body = {name: value.format(agent=agent.pk) for name, value in body.items()}

    response = _chat(alpha_api, body)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = _json(response)
    assert problem["code"] == "validation_error"
    assert field in {error["field"] for error in problem["errors"]}


def test_chat_refuses_a_message_longer_than_the_setting(tenant_a, alpha_api, agent, settings):
    settings.CHAT_MAX_MESSAGE_CHARS = 10

    response = _chat(alpha_api, {"agent": agent.pk, "session_id": "s", "message": "x" * 11})

    assert response.status_code == 400 and _json(response)["errors"][0]["field"] == "message"


@pytest.mark.parametrize("status", ["draft", "paused", "archived"])
def test_chat_refuses_agents_that_are_not_active(tenant_a, alpha_api, status):
    with schema_context(tenant_a.schema):
        agent = chat_agent(status="paused" if status == "paused" else "draft")
        if status == "archived":
            agent_update(agent=agent, actor=TESTS, changes={"status": "archived"})

    response = _chat(alpha_api, {"agent": agent.pk, "session_id": "s", "message": "hi"})

    assert response.status_code == 409
    assert _json(response)["code"] == "agent_not_active" and _json(response)["agent_status"] == status
    with schema_context(tenant_a.schema):
        assert not Conversation.objects.filter(agent=agent).exists()


def test_chat_with_another_tenants_agent_is_unknown(tenant_a, tenant_b, alpha_api):
    with schema_context(tenant_b.schema):
        their_agent = chat_agent()

    response = _chat(alpha_api, {"agent": their_agent.pk, "session_id": "s", "message": "How do I return a product?"})

    assert response.status_code == 400 and _json(response)["errors"][0]["field"] == "agent"
    with schema_context(tenant_b.schema):
        assert not Conversation.objects.exists()


def test_chat_needs_the_chat_scope(tenant_a, agent):
    client = api_client(
        tenant_a.host, IssuedApiKeyFactory.create(tenant=tenant_a.tenant, scopes=["agents:read"]).secret
    )

    response = _chat(client, {"agent": agent.pk, "session_id": "s", "message": "hi"})

    assert response.status_code == 403 and _json(response)["code"] == "insufficient_scope"


def test_chat_refuses_when_the_chat_message_quota_is_used_up(tenant_a, alpha_api, agent):
    used = _counters(tenant_a)[Meter.CHAT_MESSAGES]
    override_give(tenant_a.tenant, limits={"chat_messages_per_month": used + 1})

    first = _chat(alpha_api, {"agent": agent.pk, "session_id": "q", "message": "hi"})
    second = _chat(alpha_api, {"agent": agent.pk, "session_id": "q", "message": "hi again"})

    assert first.status_code == 200
    assert second.status_code == 429 and _json(second)["code"] == "quota_exceeded"
    assert _json(second)["meter"] == "chat_messages"
    with schema_context(tenant_a.schema):
        assert Message.objects.filter(conversation__session_id="q").count() == 2


def test_chat_refuses_when_the_months_tokens_are_used_up_before_asking_the_model(tenant_a, alpha_api, agent):
    period = UsagePeriod.of(timezone.now())
    store.usage_redis().set(store.counter_key(tenant_a.schema, Meter.TOKENS, period.key), 300)
    override_give(tenant_a.tenant, limits={"tokens_per_month": 300})

    response = _chat(alpha_api, {"agent": agent.pk, "session_id": "t", "message": "hi"})

    assert response.status_code == 429 and _json(response)["code"] == "quota_exceeded"
    assert _json(response)["meter"] == "tokens"
    assert _counters(tenant_a)[Meter.CHAT_MESSAGES] == 0  # refused before the message was counted
    with schema_context(tenant_a.schema):
        assert not Message.objects.filter(conversation__session_id="t").exists()


def test_chat_refuses_when_the_agents_daily_budget_is_used_up(tenant_a, alpha_api):
    with schema_context(tenant_a.schema):
        agent = chat_agent(daily_token_budget=10)

    first = _chat(alpha_api, {"agent": agent.pk, "session_id": "b", "message": "How do I return a product?"})
    second = _chat(alpha_api, {"agent": agent.pk, "session_id": "b", "message": "How do I return a product?"})

    assert first.status_code == 200 and _json(first)["usage"]["total_tokens"] > 10
    assert second.status_code == 429
    assert _json(second)["code"] == "agent_budget_exceeded" and second["Retry-After"]


def test_chat_captures_a_lead_when_the_agent_has_the_tool(tenant_a, alpha_api, agent):
    from leads.models import Lead

    body = _json(_chat(alpha_api, {"agent": agent.pk, "session_id": "l", "message": "I'm Ann Lee, ann@example.com"}))

    assert body["reply"] == PHRASES["en"]["contact_received"]
    with schema_context(tenant_a.schema):
        lead = Lead.objects.get(email="ann@example.com")
        conversation = Conversation.objects.get(pk=body["conversation_id"])
    assert lead.conversation_id == conversation.pk
    assert conversation.visitor_email == "ann@example.com"


def test_chat_without_the_lead_capture_tool_captures_nothing(tenant_a, alpha_api):
    from leads.models import Lead

    with schema_context(tenant_a.schema):
        agent = chat_agent(tools=[])

    _chat(alpha_api, {"agent": agent.pk, "session_id": "l", "message": "I'm Bo, bo@example.com"})

    with schema_context(tenant_a.schema):
        assert not Lead.objects.filter(email="bo@example.com").exists()


def test_chat_stream_sends_deltas_then_the_reply(tenant_a, alpha_api, agent):
    response = _chat(
        alpha_api,
        {"agent": agent.pk, "session_id": "st", "message": "How do I return a product?"},
        "/api/v1/chat/stream",
    )

    assert response.status_code == 200 and response["Content-Type"] == "text/event-stream"
    events = _events(response)
    deltas = [data["text"] for name, data in events if name == "delta"]
    name, done = events[-1]
    assert name == "done" and len(deltas) > 1
    assert "".join(deltas) == done["reply"] == SHOP_FAQS[0][1]
    assert done["sources"][0]["title"] == SHOP_FAQS[0][0]
    with schema_context(tenant_a.schema):
        assert Message.objects.filter(conversation_id=done["conversation_id"]).count() == 2


def test_chat_with_accept_event_stream_streams_too(tenant_a, alpha_api, agent):
    response = _chat(
        alpha_api, {"agent": agent.pk, "session_id": "st2", "message": "Hello"}, HTTP_ACCEPT="text/event-stream"
    )

    assert response["Content-Type"] == "text/event-stream"
    assert _events(response)[-1][1]["reply"] == PHRASES["en"]["greeting"]


def test_chat_stream_errors_before_streaming_are_problem_json(tenant_a, alpha_api):
    with schema_context(tenant_a.schema):
        draft = chat_agent(status="draft")

    response = _chat(alpha_api, {"agent": draft.pk, "session_id": "s", "message": "hi"}, "/api/v1/chat/stream")

    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json" and _json(response)["code"] == "agent_not_active"


def test_chat_reply_query_count_is_bounded(tenant_a, alpha_api, agent, django_assert_max_num_queries):
    body = {"agent": agent.pk, "session_id": "queries", "message": "Hello"}
    _chat(alpha_api, body)  # the conversation exists; caches (key, entitlements, routing) are warm
    body["message"] = "How do I return a product?"

    with django_assert_max_num_queries(MAX_CHAT_QUERIES):
        response = _chat(alpha_api, body)

    assert response.status_code == 200


def test_chat_through_a_publishable_key_is_on_the_widget_channel(tenant_a):
    from widget.tests.factories import publishable_key, widget_client

    with schema_context(tenant_a.schema):
        agent = chat_agent()
    issued = publishable_key(tenant_a.tenant, agent_id=agent.pk)

    response = _chat(
        widget_client(tenant_a.host, issued.secret),
        {"agent": agent.pk, "session_id": "w", "message": "How do I return a product?"},
    )

    assert response.status_code == 200, response.content
    with schema_context(tenant_a.schema):
        conversation = Conversation.objects.get(pk=_json(response)["conversation_id"])
    assert (conversation.channel, conversation.key_id) == ("widget", issued.key.pk)
