"""What is metered, how each meter adds up, which plan limit caps it, and the monthly usage period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db import models

from billing.models import Limit


class Meter(models.TextChoices):
    API_CALLS = "api_calls", "API calls"
    CHAT_MESSAGES = "chat_messages", "chat messages"
    TOKENS = "tokens", "model tokens"
    STORAGE_BYTES = "storage_bytes", "knowledge storage (bytes)"
    ACTIVE_AGENTS = "active_agents", "active agents"


# Gauges report the current level (bytes stored, agents active), not an increment: their
# aggregates keep the highest level seen in the hour or day, and they have no monthly quota.
GAUGES: frozenset[str] = frozenset({Meter.STORAGE_BYTES, Meter.ACTIVE_AGENTS})
COUNTERS: tuple[str, ...] = (Meter.API_CALLS, Meter.CHAT_MESSAGES, Meter.TOKENS)

# The plan limit of each meter (billing.entitlements). Counters are monthly quotas.
METER_LIMITS: dict[str, str] = {
    Meter.API_CALLS: Limit.API_CALLS_PER_MONTH,
    Meter.CHAT_MESSAGES: Limit.CHAT_MESSAGES_PER_MONTH,
    Meter.TOKENS: Limit.TOKENS_PER_MONTH,
    Meter.STORAGE_BYTES: Limit.KNOWLEDGE_STORAGE_BYTES,
    Meter.ACTIVE_AGENTS: Limit.AGENTS,
}


class Outcome(models.TextChoices):
    """The status class of a metered API call."""

    SUCCESS = "2xx", "2xx"
    REDIRECT = "3xx", "3xx"
    CLIENT_ERROR = "4xx", "4xx"
    SERVER_ERROR = "5xx", "5xx"


def outcome_for_status(status_code: int) -> str:
    return f"{min(max(status_code // 100, 2), 5)}xx"


class TokenType(models.TextChoices):
    INPUT = "input", "input"
    OUTPUT = "output", "output"


def is_gauge(meter: str) -> bool:
    return meter in GAUGES


@dataclass(frozen=True)
class UsagePeriod:
    """A calendar month in UTC: quotas count from its first instant and reset at `end`."""

    start: datetime
    end: datetime

    @property
    def key(self) -> str:
        return self.start.strftime("%Y-%m")

    @property
    def first_day(self) -> date:
        return self.start.date()

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(days=1)).date()

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    @classmethod
    def of(cls, moment: datetime) -> UsagePeriod:
        moment = moment.astimezone(UTC)
        start = datetime(moment.year, moment.month, 1, tzinfo=UTC)
        end = datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)
        return cls(start=start, end=end)

    @classmethod
    def parse(cls, key: str) -> UsagePeriod:
        """`YYYY-MM` → the period; raises ValueError for anything else."""
        if len(key) != 7 or key[4] != "-":
            raise ValueError(f"not a YYYY-MM period: {key!r}")
        return cls.of(datetime(int(key[:4]), int(key[5:]), 1, tzinfo=UTC))

    def previous(self) -> UsagePeriod:
        return UsagePeriod.of(self.start - timedelta(days=1))
