"""The `openai` provider: any OpenAI-compatible chat completions endpoint (OpenAI, Azure, vLLM,
Ollama…) through the official `openai` package, with the workspace's base URL, key and timeouts
(conversations.ProviderSettings). The system prompt and the best knowledge passages are the
context; the token counts are the endpoint's own `usage`.

Every failure becomes `ModelProviderError` (502) with `retryable`; the API key is never put in
a message or a log line.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import openai
from django.conf import settings

from agents.models import Agent
from config.errors import ModelProviderError
from conversations.providers import ChatProvider, ChatTurn, Completion, Source
from conversations.providers.local import estimate_tokens
from conversations.selectors import provider_settings_get
from knowledge.selectors import SearchHit, knowledge_search

logger = logging.getLogger(__name__)

PROVIDER = "openai"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Ollama and vLLM accept any key; the client refuses an empty one.
PLACEHOLDER_KEY = "not-needed"
CONTEXT_INTRO = (
    "Answer from the passages below when they are relevant, and say so when they do not contain the answer; "
    "do not invent facts. Answer in the language of the question."
)


def _passages(agent: Agent, message: str) -> list[SearchHit]:
    kb_ids = [knowledge_base.pk for knowledge_base in agent.knowledge_bases.all()]
    if not kb_ids:
        return []
    return knowledge_search(knowledge_base_ids=kb_ids, query=message, limit=settings.CHAT_CONTEXT_PASSAGES)


def _system_message(agent: Agent, passages: list[SearchHit]) -> str:
    parts = [agent.system_prompt.strip()] if agent.system_prompt.strip() else []
    if passages:
        parts.append(CONTEXT_INTRO)
        parts += [f"[{index}] {hit.title}\n{hit.text}" for index, hit in enumerate(passages, start=1)]
    return "\n\n".join(parts)


def _messages(agent: Agent, history: list[ChatTurn], message: str, passages: list[SearchHit]) -> list[dict[str, str]]:
    system = _system_message(agent, passages)
    messages = [{"role": "system", "content": system}] if system else []
    messages += [{"role": turn.role, "content": turn.content} for turn in history]
    messages.append({"role": "user", "content": message})
    return messages


def _sources(passages: list[SearchHit]) -> list[Source]:
    return [
        Source(
            kind=hit.kind,
            id=hit.faq_id or hit.document_id or "",
            title=hit.title,
            knowledge_base_id=hit.knowledge_base_id,
            snippet=hit.text[:300],
        )
        for hit in passages
    ]


def provider_error(exc: Exception) -> ModelProviderError:
    """The API error for a failure of the `openai` client (never containing the key)."""
    if isinstance(exc, openai.APITimeoutError):
        detail, retryable, status = "The model provider did not answer in time. Try again in a moment.", True, None
    elif isinstance(exc, openai.APIConnectionError):
        detail, retryable, status = "The model provider could not be reached. Try again in a moment.", True, None
    elif isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        retryable = status == 429 or status >= 500
        hint = "Try again in a moment." if retryable else "Check the workspace's model provider settings."
        detail = f"The model provider answered {status}. {hint}"
    else:
        detail, retryable, status = "The model provider's answer could not be read.", False, None
    extra: dict[str, Any] = {"provider": PROVIDER, "retryable": retryable}
    if status is not None:
        extra["provider_status"] = status
    return ModelProviderError(detail, extra=extra)


class OpenAICompatibleProvider(ChatProvider):
    name = PROVIDER

    def _client_and_model(self, agent: Agent) -> tuple[openai.OpenAI, str]:
        config = provider_settings_get()
        api_key = config.api_key() or PLACEHOLDER_KEY
        client = openai.OpenAI(
            api_key=api_key,
            base_url=config.base_url or DEFAULT_BASE_URL,
            timeout=float(config.timeout_seconds),
            max_retries=int(config.max_retries),
        )
        model = (agent.config or {}).get("model") or config.default_model or "gpt-4o-mini"
        return client, model

    def _request(self, agent: Agent, model: str, messages: list[dict[str, str]]) -> dict[str, Any]:
        agent_config = agent.config or {}
        return {
            "model": model,
            "messages": messages,
            "temperature": agent_config.get("temperature", 0.7),
            "max_tokens": agent_config.get("max_tokens", 1024),
        }

    def complete(self, *, agent: Agent, history: list[ChatTurn], message: str) -> Completion:
        client, model = self._client_and_model(agent)
        passages = _passages(agent, message)
        messages = _messages(agent, history, message, passages)
        try:
            response = client.chat.completions.create(**self._request(agent, model, messages))
            text = (response.choices[0].message.content or "") if response.choices else ""
        except openai.OpenAIError as exc:
            raise self._failed(agent, exc) from None
        finally:
            client.close()
        usage = response.usage
        return Completion(
            text=text,
            sources=_sources(passages),
            prompt_tokens=usage.prompt_tokens if usage else sum(estimate_tokens(m["content"]) for m in messages),
            completion_tokens=usage.completion_tokens if usage else estimate_tokens(text),
            model=f"{PROVIDER}/{model}",
        )

    def complete_stream(self, *, agent: Agent, history: list[ChatTurn], message: str) -> Iterator[str | Completion]:
        client, model = self._client_and_model(agent)
        passages = _passages(agent, message)
        messages = _messages(agent, history, message, passages)
        pieces: list[str] = []
        usage = None
        try:
            stream = client.chat.completions.create(
                **self._request(agent, model, messages), stream=True, stream_options={"include_usage": True}
            )
            for chunk in stream:
                usage = chunk.usage or usage
                delta = chunk.choices[0].delta.content if chunk.choices else None
                if delta:
                    pieces.append(delta)
                    yield delta
        except openai.OpenAIError as exc:
            raise self._failed(agent, exc) from None
        finally:
            client.close()
        text = "".join(pieces)
        yield Completion(
            text=text,
            sources=_sources(passages),
            prompt_tokens=usage.prompt_tokens if usage else sum(estimate_tokens(m["content"]) for m in messages),
            completion_tokens=usage.completion_tokens if usage else estimate_tokens(text),
            model=f"{PROVIDER}/{model}",
        )

    @staticmethod
    def _failed(agent: Agent, exc: Exception) -> ModelProviderError:
        error = provider_error(exc)
        logger.warning(
            "model provider failed for agent %s: %s (retryable=%s)",
            agent.pk,
            type(exc).__name__,
            error.extra["retryable"],
        )
        return error
