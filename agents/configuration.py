"""An agent's model configuration: which provider and model answer, and how.

Stored on `Agent.config` as a complete dict, so readers (chat, the portal) never need defaults:

    {"provider": "local", "model": "agentry-local", "temperature": 0.7, "max_tokens": 1024}
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from typing import Any

from agents.models import ModelProvider
from config.errors import ValidationFailed

DEFAULT_PROVIDER = ModelProvider.LOCAL
DEFAULT_MODELS: dict[str, str] = {ModelProvider.LOCAL: "agentry-local", ModelProvider.OPENAI: "gpt-4o-mini"}
DEFAULT_TEMPERATURE = 0.7
TEMPERATURE_MIN, TEMPERATURE_MAX = 0.0, 2.0
DEFAULT_MAX_TOKENS = 1024
MAX_TOKENS_MIN, MAX_TOKENS_MAX = 1, 32_768
MODEL_NAME_MAX_LENGTH = 100
CONFIG_KEYS = ("provider", "model", "temperature", "max_tokens")
# Model names of OpenAI, Azure deployments, vLLM and Ollama ("llama3.1:8b", "org/model-7b").
_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]*")


@dataclass(frozen=True)
class ModelConfig:
    provider: str
    model: str
    temperature: float
    max_tokens: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _problem(key: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, errors={f"config.{key}": [message]})


def _provider(value: Any) -> str:
    if value not in ModelProvider.values:
        raise _problem("provider", f"Choose one of: {', '.join(ModelProvider.values)}.")
    return str(value)


def _model(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _problem("model", "Give the model's name, e.g. “gpt-4o-mini”.")
    value = value.strip()
    if len(value) > MODEL_NAME_MAX_LENGTH or not _MODEL_NAME.fullmatch(value):
        raise _problem(
            "model",
            f"Up to {MODEL_NAME_MAX_LENGTH} letters, digits and . _ : / @ + - (starting with a letter or digit).",
        )
    return value


def _temperature(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _problem("temperature", "A number from 0 to 2.")
    if not TEMPERATURE_MIN <= value <= TEMPERATURE_MAX:
        raise _problem("temperature", "A number from 0 to 2.")
    return float(value)


def _max_tokens(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not MAX_TOKENS_MIN <= value <= MAX_TOKENS_MAX:
        raise _problem("max_tokens", f"A whole number from {MAX_TOKENS_MIN} to {MAX_TOKENS_MAX:,}.")
    return value


def model_config_parse(raw: dict[str, Any] | None, *, current: dict[str, Any] | None = None) -> ModelConfig:
    """A complete, validated configuration from `raw`, over `current` (a PATCH) or the defaults.

    The model defaults to the provider's default model when neither `raw` nor `current` names
    one, or when `current` had its provider's default and the provider changes. Unknown keys
    are refused (a typo like "temprature" would otherwise be lost).
    Raises ValidationFailed with errors keyed `config.<key>`.
    """
    raw = dict(raw or {})
    unknown = sorted(set(raw) - set(CONFIG_KEYS))
    if unknown:
        message = f"Unknown setting(s): {', '.join(unknown)}. Allowed: {', '.join(CONFIG_KEYS)}."
        raise ValidationFailed(message, errors={"config": [message]})
    current = dict(current or {})
    current_default = DEFAULT_MODELS.get(str(current.get("provider", "")))
    if "model" not in raw and "model" in current and current["model"] == current_default:
        del current["model"]  # a default model follows a change of provider
    merged = {**current, **raw}
    provider = _provider(merged.get("provider", DEFAULT_PROVIDER))
    return ModelConfig(
        provider=provider,
        model=_model(merged["model"]) if "model" in merged else DEFAULT_MODELS[provider],
        temperature=_temperature(merged.get("temperature", DEFAULT_TEMPERATURE)),
        max_tokens=_max_tokens(merged.get("max_tokens", DEFAULT_MAX_TOKENS)),
    )
