"""Model providers behind one interface, chosen per agent (`agent.config["provider"]`).

    provider = provider_for(agent)
    completion = provider.complete(agent=agent, history=[ChatTurn("user", "hi"), ...], message="...")

`local` (the default) answers offline from the agent's knowledge bases; `openai` calls the
workspace's OpenAI-compatible endpoint (conversations.ProviderSettings). Providers never write:
conversations.services stores, meters and bills what they return.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agents.models import Agent


@dataclass(frozen=True)
class ChatTurn:
    role: str  # "user" | "assistant"
    content: str


@dataclass(frozen=True)
class Source:
    """A knowledge passage a reply was drawn from."""

    kind: str  # "faq" | "document"
    id: str  # the FAQ's or the document's id
    title: str
    knowledge_base_id: str
    snippet: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Completion:
    text: str
    sources: list[Source] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model: str = ""  # `<provider>/<model>`, the name the price table (metering.ModelPrice) uses
    needs_contact: bool = False  # the agent could not answer and asked for contact details

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class ChatProvider:
    """The interface. `complete` answers in one piece; `complete_stream` yields text deltas and
    then the whole `Completion` (the default streams the finished reply word by word)."""

    name = ""

    def complete(self, *, agent: Agent, history: list[ChatTurn], message: str) -> Completion:
        raise NotImplementedError

    def complete_stream(self, *, agent: Agent, history: list[ChatTurn], message: str) -> Iterator[str | Completion]:
        completion = self.complete(agent=agent, history=history, message=message)
        yield from text_deltas(completion.text)
        yield completion


def text_deltas(text: str) -> Iterator[str]:
    """`text` in word-sized pieces that join back to exactly `text`."""
    start = 0
    for index, char in enumerate(text):
        if char == " " and index > start:
            yield text[start:index]
            start = index
    if start < len(text):
        yield text[start:]


def provider_for(agent: Agent) -> ChatProvider:
    """The agent's provider (`local` when its configuration names none)."""
    from agents.models import ModelProvider

    name = (agent.config or {}).get("provider") or ModelProvider.LOCAL
    if name == ModelProvider.OPENAI:
        from conversations.providers.openai_compatible import OpenAICompatibleProvider

        return OpenAICompatibleProvider()
    from conversations.providers.local import LocalProvider

    return LocalProvider()
