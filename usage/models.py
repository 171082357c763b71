"""Per-tenant usage aggregates and the bookkeeping of the rollup (all in the tenant's schema).

The hot path never writes here: events go to Redis (usage.recorder), and the rollup
(usage.rollup) folds them into these aggregates. Only while Redis is unreachable does the
recorder write an `UsageOutboxEvent` row, which the rollup merges and deletes.
"""

from __future__ import annotations

from django.db import models

from usage.meters import Meter, TokenType


class UsageHourly(models.Model):
    """Tenant-wide totals per meter and hour: the `granularity=hour` time series."""

    meter = models.CharField(max_length=32, choices=Meter.choices)
    hour = models.DateTimeField()
    quantity = models.BigIntegerField(default=0)  # a sum, or for gauges the highest level seen
    events = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["meter", "hour"], name="usage_hourly_unique_bucket")]

    def __str__(self) -> str:
        return f"{self.meter} {self.hour:%Y-%m-%d %H}:00 = {self.quantity}"


class UsageDaily(models.Model):
    """Per meter, day and dimension (key, user, agent, model, token type): per-day, per-key and
    per-agent charts, costs, and API performance (latency and outcomes of `api_calls`).

    Missing dimensions are stored as "" rather than NULL so the unique constraint (the upsert's
    conflict target) treats them as equal.
    """

    meter = models.CharField(max_length=32, choices=Meter.choices)
    day = models.DateField()
    key_id = models.CharField(max_length=64, blank=True, default="")
    user_id = models.CharField(max_length=64, blank=True, default="")
    agent_id = models.CharField(max_length=64, blank=True, default="")
    model = models.CharField(max_length=200, blank=True, default="")
    token_type = models.CharField(max_length=16, blank=True, default="", choices=TokenType.choices)
    quantity = models.BigIntegerField(default=0)
    events = models.BigIntegerField(default=0)
    latency_ms_sum = models.BigIntegerField(default=0)
    latency_count = models.BigIntegerField(default=0)
    success_count = models.BigIntegerField(default=0)  # 2xx and 3xx
    client_error_count = models.BigIntegerField(default=0)  # 4xx
    server_error_count = models.BigIntegerField(default=0)  # 5xx

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["meter", "day", "key_id", "user_id", "agent_id", "model", "token_type"],
                name="usage_daily_unique_bucket",
            )
        ]
        indexes = [models.Index(fields=["day", "meter"], name="usage_daily_day_meter")]

    def __str__(self) -> str:
        return f"{self.meter} {self.day} = {self.quantity}"


class ConversationUsage(models.Model):
    """Totals per conversation (and model and token type), for the cost of each conversation."""

    conversation_id = models.CharField(max_length=64)
    meter = models.CharField(max_length=32, choices=Meter.choices)
    model = models.CharField(max_length=200, blank=True, default="")
    token_type = models.CharField(max_length=16, blank=True, default="", choices=TokenType.choices)
    agent_id = models.CharField(max_length=64, blank=True, default="")
    quantity = models.BigIntegerField(default=0)
    events = models.BigIntegerField(default=0)
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["conversation_id", "meter", "model", "token_type"], name="usage_conversation_unique_bucket"
            )
        ]
        indexes = [models.Index(fields=["last_at"], name="usage_conversation_last_at")]

    def __str__(self) -> str:
        return f"{self.conversation_id} {self.meter} = {self.quantity}"


class RollupCursor(models.Model):
    """The last Redis stream entry folded into the aggregates: one row, advanced in the same
    transaction as the aggregates it covers (see docs/usage.md, "The rollup")."""

    stream_id = models.CharField(max_length=40, default="0-0")
    rolled_up_at = models.DateTimeField(null=True, blank=True)
    events_total = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"rolled up through {self.stream_id}"


class UsageOutboxEvent(models.Model):
    """An event recorded while Redis was unreachable; merged (and deleted) by the next rollup."""

    idempotency_id = models.CharField(max_length=200, unique=True)
    meter = models.CharField(max_length=32, choices=Meter.choices)
    quantity = models.BigIntegerField()
    occurred_at = models.DateTimeField()
    key_id = models.CharField(max_length=64, blank=True, default="")
    user_id = models.CharField(max_length=64, blank=True, default="")
    agent_id = models.CharField(max_length=64, blank=True, default="")
    conversation_id = models.CharField(max_length=64, blank=True, default="")
    model = models.CharField(max_length=200, blank=True, default="")
    token_type = models.CharField(max_length=16, blank=True, default="")
    latency_ms = models.IntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=8, blank=True, default="")
    recorded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.meter} +{self.quantity} ({self.idempotency_id})"


class OverageReport(models.Model):
    """Overage handed to the billing backend: one row per (meter, period, cumulative overage).

    Written by the rollup in the transaction that produced the overage, sent after commit with
    the stable identifier `<schema>:<meter>:<period>:<through>` so a resend is recognised.
    """

    meter = models.CharField(max_length=32, choices=Meter.choices)
    period = models.CharField(max_length=7)  # YYYY-MM
    through = models.BigIntegerField()  # cumulative overage of the period this report brings us to
    quantity = models.BigIntegerField()  # what this report adds
    created_at = models.DateTimeField(auto_now_add=True)
    reported_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["meter", "period", "through"], name="usage_overage_unique_report")
        ]

    def __str__(self) -> str:
        return f"{self.meter} {self.period} +{self.quantity}"


class UsageSettings(models.Model):
    """The workspace's metering preferences: one row (pk 1)."""

    overage_opt_in = models.BooleanField(
        default=False, help_text="Keep serving past the monthly limits and bill the overage (plans with overage)."
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by_label = models.CharField(max_length=254, blank=True, default="")

    def __str__(self) -> str:
        return f"overage {'on' if self.overage_opt_in else 'off'}"
