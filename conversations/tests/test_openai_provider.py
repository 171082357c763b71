"""The `openai` provider against a local fake OpenAI-compatible server (pytest-httpserver): the
request it sends (model, key, system prompt with knowledge, memory), token usage from the
response, streaming, and 429s, 500s, timeouts and refusals mapped to `model_provider_error`."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from agents.tests.factories import TESTS
from apikeys.tests.factories import IssuedApiKeyFactory, api_client
from config.errors import ModelProviderError
from conversations.models import Conversation, ProviderSettings
from conversations.providers import ChatTurn
from conversations.providers.openai_compatible import OpenAICompatibleProvider
from conversations.services import chat_reply_stream, provider_settings_update
from conversations.tests.factories import SHOP_FAQS, chat_agent
from metering.models import ModelPrice
from usage.meters import Meter, UsagePeriod
from usage.selectors import usage_live_counters

API_KEY = "sk-test-0123456789abcd"


def completion_body(text: str, prompt_tokens: int = 120, completion_tokens: int = 17) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_760_000_000,
        "model": "fake-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def _configure(httpserver: HTTPServer, *, timeout: int = 5, retries: int = 0) -> None:
    provider_settings_update(
        base_url=httpserver.url_for("/v1"),
        default_model="fake-model",
        timeout_seconds=timeout,
        max_retries=retries,
        api_key=API_KEY,
        actor=TESTS,
    )


@pytest.fixture
def openai_agent(tenant_a, httpserver: HTTPServer):  # type: ignore[no-untyped-def]
    with schema_context(tenant_a.schema):
        _configure(httpserver)
        return chat_agent(
            system_prompt="You are Acme's support agent.", config={"provider": "openai", "model": "fake-model"}
        )


def _chat_messages_used(tenant_a) -> int:  # type: ignore[no-untyped-def]
    counters = usage_live_counters(tenant=tenant_a.tenant, period=UsagePeriod.of(timezone.now()))
    return int(counters[Meter.CHAT_MESSAGES] or 0)


def _complete(tenant_a, agent, message: str, history: list[ChatTurn] | None = None):  # type: ignore[no-untyped-def]
    with schema_context(tenant_a.schema):
        return OpenAICompatibleProvider().complete(agent=agent, history=history or [], message=message)


def test_openai_sends_prompt_knowledge_and_memory_and_reads_usage(tenant_a, httpserver, openai_agent):
    httpserver.expect_request("/v1/chat/completions", method="POST").respond_with_json(
        completion_body("Within 30 days.")
    )
    history = [ChatTurn("user", "Hello"), ChatTurn("assistant", "Hi! How can I help?")]

    completion = _complete(tenant_a, openai_agent, "How do I return a product?", history)

    assert (completion.text, completion.prompt_tokens, completion.completion_tokens) == ("Within 30 days.", 120, 17)
    assert completion.model == "openai/fake-model"
    assert completion.sources[0].title == SHOP_FAQS[0][0]
    request, _ = httpserver.log[0]
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    sent = json.loads(request.data)
    assert (sent["model"], sent["temperature"], sent["max_tokens"]) == ("fake-model", 0.7, 1024)
    roles = [message["role"] for message in sent["messages"]]
    assert roles == ["system", "user", "assistant", "user"]
    system = sent["messages"][0]["content"]
    assert system.startswith("You are Acme's support agent.") and SHOP_FAQS[0][1] in system
    assert sent["messages"][-1]["content"] == "How do I return a product?"


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (503, True), (429, True), (401, False), (404, False)])
def test_openai_error_statuses_become_model_provider_errors(tenant_a, httpserver, openai_agent, status, retryable):
    httpserver.expect_request("/v1/chat/completions").respond_with_json({"error": {"message": "nope"}}, status=status)

    with pytest.raises(ModelProviderError) as caught:
        _complete(tenant_a, openai_agent, "hi")

    assert caught.value.extra == {"provider": "openai", "retryable": retryable, "provider_status": status}
    assert API_KEY not in caught.value.detail


def test_openai_retries_a_500_then_succeeds(tenant_a, httpserver, openai_agent):
    with schema_context(tenant_a.schema):
        _configure(httpserver, retries=1)
    httpserver.expect_ordered_request("/v1/chat/completions").respond_with_json({"error": {}}, status=500)
    httpserver.expect_ordered_request("/v1/chat/completions").respond_with_json(completion_body("Recovered."))

    assert _complete(tenant_a, openai_agent, "hi").text == "Recovered."
    assert len(httpserver.log) == 2


def test_openai_timeout_is_a_retryable_model_provider_error(tenant_a, httpserver, openai_agent):
    with schema_context(tenant_a.schema):
        _configure(httpserver, timeout=1)

    def slow(request: Request) -> Response:
        time.sleep(2)
        return Response(json.dumps(completion_body("late")), content_type="application/json")

    httpserver.expect_request("/v1/chat/completions").respond_with_handler(slow)

    with pytest.raises(ModelProviderError) as caught:
        _complete(tenant_a, openai_agent, "hi")

    assert caught.value.extra == {"provider": "openai", "retryable": True}


def test_openai_unreachable_is_a_retryable_model_provider_error(tenant_a, openai_agent):
    with schema_context(tenant_a.schema):
        ProviderSettings.objects.filter(pk=1).update(base_url="http://127.0.0.1:9/v1")

    with pytest.raises(ModelProviderError) as caught:
        _complete(tenant_a, openai_agent, "hi")

    assert caught.value.extra["retryable"] is True


def test_chat_api_with_openai_meters_the_providers_tokens(tenant_a, httpserver, openai_agent):
    httpserver.expect_request("/v1/chat/completions").respond_with_json(completion_body("Within 30 days.", 200, 30))
    client = api_client(tenant_a.host, IssuedApiKeyFactory.create(tenant=tenant_a.tenant).secret)

    response = client.post(
        "/api/v1/chat",
        data=json.dumps({"agent": openai_agent.pk, "session_id": "o", "message": "How do I return a product?"}),
        content_type="application/json",
    )

    body = json.loads(response.content)
    assert body["reply"] == "Within 30 days." and body["model"] == "openai/fake-model"
    assert (body["usage"]["prompt_tokens"], body["usage"]["completion_tokens"], body["usage"]["total_tokens"]) == (
        200,
        30,
        230,
    )


def test_chat_api_maps_provider_failures_to_502_and_stores_nothing(tenant_a, httpserver, openai_agent):
    httpserver.expect_request("/v1/chat/completions").respond_with_json({"error": {}}, status=503)
    client = api_client(tenant_a.host, IssuedApiKeyFactory.create(tenant=tenant_a.tenant).secret)

    response = client.post(
        "/api/v1/chat",
        data=json.dumps({"agent": openai_agent.pk, "session_id": "o", "message": "hi"}),
        content_type="application/json",
    )

    assert response.status_code == 502 and response["Content-Type"] == "application/problem+json"
    problem = json.loads(response.content)
    assert (problem["code"], problem["retryable"], problem["provider_status"]) == ("model_provider_error", True, 503)
    assert API_KEY not in response.content.decode()
    # The failed turn gave its chat message back: the customer pays only for answered messages.
    assert _chat_messages_used(tenant_a) == 0


def test_openai_streams_deltas_and_usage(tenant_a, httpserver, openai_agent):
    chunks = [
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "Within"}}]},
        {"choices": [{"index": 0, "delta": {"content": " 30 days."}}]},
        {"choices": [], "usage": {"prompt_tokens": 50, "completion_tokens": 4, "total_tokens": 54}},
    ]
    base = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "fake-model"}
    sse = "".join(f"data: {json.dumps({**base, **chunk})}\n\n" for chunk in chunks) + "data: [DONE]\n\n"
    httpserver.expect_request("/v1/chat/completions").respond_with_data(sse, content_type="text/event-stream")

    with schema_context(tenant_a.schema):
        items = list(OpenAICompatibleProvider().complete_stream(agent=openai_agent, history=[], message="Returns?"))

    assert items[:-1] == ["Within", " 30 days."]
    assert (items[-1].text, items[-1].prompt_tokens, items[-1].completion_tokens) == ("Within 30 days.", 50, 4)
    assert json.loads(httpserver.log[0][0].data)["stream"] is True


def test_provider_settings_keep_the_key_encrypted_and_show_only_its_last_four(tenant_a, httpserver):
    with schema_context(tenant_a.schema):
        _configure(httpserver)
        row = ProviderSettings.objects.get(pk=1)
        assert API_KEY not in row.api_key_encrypted and row.api_key_last4 == "abcd"
        assert row.api_key() == API_KEY
        provider_settings_update(
            base_url=row.base_url, default_model="m", timeout_seconds=5, max_retries=0, api_key=None, actor=TESTS
        )
        assert ProviderSettings.objects.get(pk=1).api_key() == API_KEY  # None keeps the key
        assert not Conversation.objects.exists()


def test_chat_api_prices_the_tokens_with_the_platforms_model_price(tenant_a, httpserver, openai_agent):
    ModelPrice.objects.create(
        provider="openai", model="fake-model", input_price_per_1k=Decimal("0.5"), output_price_per_1k=Decimal("1.5")
    )
    httpserver.expect_request("/v1/chat/completions").respond_with_json(completion_body("Within 30 days.", 200, 30))
    client = api_client(tenant_a.host, IssuedApiKeyFactory.create(tenant=tenant_a.tenant).secret)

    body = json.loads(
        client.post(
            "/api/v1/chat",
            data=json.dumps({"agent": openai_agent.pk, "session_id": "priced", "message": "Returns?"}),
            content_type="application/json",
        ).content
    )

    assert body["usage"]["cost"] == "0.145000"  # 200 × 0.5 / 1000 + 30 × 1.5 / 1000
    with schema_context(tenant_a.schema):
        assert Conversation.objects.get(pk=body["conversation_id"]).cost == Decimal("0.145")


def test_chat_stream_with_a_failing_provider_is_a_problem_before_streaming(tenant_a, httpserver, openai_agent):
    httpserver.expect_request("/v1/chat/completions").respond_with_json({"error": {}}, status=500)
    client = api_client(tenant_a.host, IssuedApiKeyFactory.create(tenant=tenant_a.tenant).secret)

    response = client.post(
        "/api/v1/chat/stream",
        data=json.dumps({"agent": openai_agent.pk, "session_id": "s", "message": "hi"}),
        content_type="application/json",
    )

    assert response.status_code == 502 and json.loads(response.content)["code"] == "model_provider_error"
    with schema_context(tenant_a.schema):
        assert not Conversation.objects.filter(session_id="s").exists()


def test_a_stream_whose_provider_fails_gives_its_chat_message_back(tenant_a, httpserver, openai_agent):
    httpserver.expect_request("/v1/chat/completions").respond_with_json({"error": {}}, status=500)

    with schema_context(tenant_a.schema), pytest.raises(ModelProviderError):
        list(chat_reply_stream(agent=openai_agent, session_id="s", message="hi", channel="api"))

    assert _chat_messages_used(tenant_a) == 0
    with schema_context(tenant_a.schema):
        assert not Conversation.objects.filter(session_id="s").exclude(message_count=0).exists()
