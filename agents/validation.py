"""Checks of single agent fields, shared by create and update. Each returns the normalised value
or raises ValidationFailed naming the field (as the API calls it)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from agents.models import DEFAULT_AGENT_TYPE, AgentTool, AgentType
from config.errors import ValidationFailed


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


# "Not given" in a partial update, as opposed to None ("clear it").
UNSET: Final = _Unset()

MAX_LANGUAGES = 10
MAX_TOKEN_BUDGET = 10**12
MAX_COST_BUDGET = Decimal("1000000000")
# BCP 47 language tags as people write them: "en", "ar", "pt-BR", "zh-Hant".
_LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8})*", re.IGNORECASE)
_TYPE_FORMAT = re.compile(r"[a-z][a-z0-9_-]{0,39}")


def _refuse(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, errors={field: [message]})


def text_checked(field: str, value: Any, *, max_length: int, required: bool = False) -> str:
    if not isinstance(value, str):
        raise _refuse(field, "Must be text.")
    value = value.strip()
    if required and not value:
        raise _refuse(field, "This field may not be blank.")
    if len(value) > max_length:
        raise _refuse(field, f"At most {max_length:,} characters.")
    return value


def agent_type_resolve(value: Any) -> str:
    """A known type as given; a well-formed unknown one (the SDK's "nlp") as DEFAULT_AGENT_TYPE;
    an empty one as the default too. Malformed values are refused."""
    if not isinstance(value, str):
        raise _refuse("type", "Must be text.")
    value = value.strip().lower()
    if not value:
        return DEFAULT_AGENT_TYPE
    if not _TYPE_FORMAT.fullmatch(value):
        raise _refuse("type", f"A type is a word such as {', '.join(AgentType.values)}.")
    return value if value in AgentType.values else DEFAULT_AGENT_TYPE


def languages_checked(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise _refuse("languages", 'Give at least one language code, e.g. ["en"].')
    if len(value) > MAX_LANGUAGES:
        raise _refuse("languages", f"At most {MAX_LANGUAGES} languages.")
    tags: list[str] = []
    for item in value:
        if not isinstance(item, str) or len(item) > 16 or not _LANGUAGE_TAG.fullmatch(item.strip()):
            raise _refuse("languages", f"“{str(item)[:20]}” is not a language code such as en, ar or pt-BR.")
        primary, _, rest = item.strip().partition("-")
        tag = primary.lower() + (f"-{rest}" if rest else "")
        if tag not in tags:
            tags.append(tag)
    return tags


def tools_checked(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise _refuse("tools", "A list of tools.")
    unknown = sorted({str(tool) for tool in value} - set(AgentTool.values))
    if unknown:
        raise _refuse("tools", f"Unknown tool(s): {', '.join(unknown)}. Known: {', '.join(AgentTool.values)}.")
    return [tool for tool in AgentTool.values if tool in value]  # one order, no duplicates


def token_budget_checked(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TOKEN_BUDGET:
        raise _refuse("daily_token_budget", f"A whole number of tokens from 1 to {MAX_TOKEN_BUDGET:,}, or null.")
    return value


def cost_budget_checked(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite() or amount < Decimal("0.01") or amount > MAX_COST_BUDGET:
        raise _refuse("daily_cost_budget", "An amount in USD from 0.01 to 1,000,000,000, or null.")
    return amount.quantize(Decimal("0.01"))
