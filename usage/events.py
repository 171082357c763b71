"""One usage event, as the recorder writes it to the Redis stream (or the outbox) and the rollup reads it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from usage.models import UsageOutboxEvent

# Stream field names are short: at 10,000 events/s the stream's memory is mostly field names.
_FIELDS = {
    "meter": "m",
    "quantity": "q",
    "idempotency_id": "i",
    "key_id": "k",
    "user_id": "u",
    "agent_id": "a",
    "conversation_id": "c",
    "model": "mo",
    "token_type": "tt",
    "outcome": "o",
}


@dataclass(frozen=True)
class UsageEvent:
    meter: str
    quantity: int
    idempotency_id: str
    occurred_at: datetime
    key_id: str = ""
    user_id: str = ""
    agent_id: str = ""
    conversation_id: str = ""
    model: str = ""
    token_type: str = ""
    latency_ms: int | None = None
    outcome: str = ""

    def as_stream_fields(self) -> list[str]:
        """Flat field/value list for XADD; empty dimensions are left out."""
        flat: list[str] = ["t", str(int(self.occurred_at.timestamp() * 1000))]
        for name, short in _FIELDS.items():
            value = getattr(self, name)
            if value != "":
                flat += [short, str(value)]
        if self.latency_ms is not None:
            flat += ["l", str(self.latency_ms)]
        return flat

    @classmethod
    def from_stream_fields(cls, fields: dict[str, str]) -> UsageEvent:
        values = {name: fields.get(short, "") for name, short in _FIELDS.items()}
        latency = fields.get("l")
        return cls(
            **{**values, "quantity": int(values["quantity"])},  # type: ignore[arg-type]
            occurred_at=datetime.fromtimestamp(int(fields["t"]) / 1000, tz=UTC),
            latency_ms=int(latency) if latency is not None else None,
        )

    def as_outbox_row(self) -> UsageOutboxEvent:
        return UsageOutboxEvent(
            idempotency_id=self.idempotency_id,
            meter=self.meter,
            quantity=self.quantity,
            occurred_at=self.occurred_at,
            key_id=self.key_id,
            user_id=self.user_id,
            agent_id=self.agent_id,
            conversation_id=self.conversation_id,
            model=self.model,
            token_type=self.token_type,
            latency_ms=self.latency_ms,
            outcome=self.outcome,
        )

    @classmethod
    def from_outbox_row(cls, row: UsageOutboxEvent) -> UsageEvent:
        return cls(
            meter=row.meter,
            quantity=row.quantity,
            idempotency_id=row.idempotency_id,
            occurred_at=row.occurred_at,
            key_id=row.key_id,
            user_id=row.user_id,
            agent_id=row.agent_id,
            conversation_id=row.conversation_id,
            model=row.model,
            token_type=row.token_type,
            latency_ms=row.latency_ms,
            outcome=row.outcome,
        )
