"""Usage endpoints (scope usage:read): GET /api/v1/subscription/usage (the month against the
plan, the product's published shape), GET /api/v1/usage (time series) and GET /api/v1/usage/costs."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import TenantApi
from apikeys.scopes import Scope
from tenants.context import current_tenant
from usage.meters import Meter, UsagePeriod, is_gauge
from usage.selectors import CostLine, usage_costs, usage_series
from usage.summaries import MeterSummary, usage_summary

GRANULARITIES = ("hour", "day")
MAX_HOURLY_RANGE = timedelta(days=31)
MAX_DAILY_RANGE = timedelta(days=366)
UNITS = {
    Meter.API_CALLS: "calls",
    Meter.CHAT_MESSAGES: "messages",
    Meter.TOKENS: "tokens",
    Meter.STORAGE_BYTES: "bytes",
    Meter.ACTIVE_AGENTS: "agents",
}


class PeriodField(serializers.CharField):
    """A month, `YYYY-MM`, not in the future."""

    def to_internal_value(self, data: Any) -> UsagePeriod:  # type: ignore[override]
        text = super().to_internal_value(data)
        try:
            period = UsagePeriod.parse(text)
        except ValueError:
            raise serializers.ValidationError("Use a month as YYYY-MM, e.g. 2026-11.", code="invalid") from None
        if period.start > timezone.now():
            raise serializers.ValidationError("This month has not started yet.", code="future")
        return period


@extend_schema_field(OpenApiTypes.DATETIME)
class MomentField(serializers.Field):
    """An ISO 8601 date (`2026-11-03`, midnight UTC) or date-time (`2026-11-03T14:00:00Z`; UTC if no offset)."""

    default_error_messages = {"invalid": "Use an ISO 8601 date (2026-11-03) or date-time (2026-11-03T14:00:00Z)."}

    def to_internal_value(self, data: Any) -> datetime:
        text = str(data).strip()
        try:
            moment = parse_datetime(text)
            day = None if moment else parse_date(text)
        except ValueError:
            self.fail("invalid")
        if moment is None and day is None:
            self.fail("invalid")
        if moment is None:
            assert day is not None
            moment = datetime.combine(day, time.min)
        return moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)

    def to_representation(self, value: datetime) -> str:
        return value.isoformat()


class PeriodInput(serializers.Serializer):
    period = PeriodField(required=False, help_text="A month, YYYY-MM (UTC); the current month by default.")


def _period_or_current(request: Request) -> UsagePeriod:
    serializer = PeriodInput(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data.get("period") or UsagePeriod.of(timezone.now())


# --- GET /api/v1/subscription/usage -------------------------------------------------------------


class QuotaOutput(serializers.Serializer):
    total = serializers.IntegerField(help_text="Used this month (live for the current month).")
    limit = serializers.IntegerField(allow_null=True, help_text="The monthly limit; null means unlimited.")
    remaining = serializers.IntegerField(allow_null=True, help_text="Left this month; null when unlimited.")
    overage = serializers.IntegerField(help_text="Past the limit and billed as overage (opted-in workspaces).")
    projected = serializers.IntegerField(
        allow_null=True, help_text="At month end on the current pace (current month, after its first hour)."
    )


def _quota(summary: MeterSummary) -> dict[str, Any]:
    return {
        "total": summary.total,
        "limit": summary.limit,
        "remaining": summary.remaining,
        "overage": summary.overage,
        "projected": summary.projected,
    }


class AgentsOutput(serializers.Serializer):
    active = serializers.IntegerField()
    limit = serializers.IntegerField(allow_null=True)


class StorageOutput(serializers.Serializer):
    used_bytes = serializers.IntegerField()
    limit_bytes = serializers.IntegerField(allow_null=True)


class PerformanceOutput(serializers.Serializer):
    avg_response_time = serializers.IntegerField(allow_null=True, help_text="Milliseconds, mean over the month.")
    success_rate = serializers.FloatField(allow_null=True, help_text="Percent of calls answered 2xx or 3xx.")
    error_rate = serializers.FloatField(allow_null=True, help_text="Percent answered 4xx or 5xx.")


class CostTotalOutput(serializers.Serializer):
    currency = serializers.CharField()
    total = serializers.DecimalField(max_digits=16, decimal_places=4, coerce_to_string=True)
    tokens = serializers.IntegerField()
    unpriced_tokens = serializers.IntegerField(help_text="Tokens of models without a price (not in `total`).")


class SubscriptionUsageOutput(serializers.Serializer):
    tenant_id = serializers.CharField(help_text="The workspace's slug.")
    usage_period = serializers.CharField(help_text="YYYY-MM (UTC); quotas reset at `resets_at`.")
    resets_at = serializers.DateTimeField()
    api_calls = QuotaOutput()
    chat_messages = QuotaOutput()
    tokens = QuotaOutput()
    agents = AgentsOutput()
    storage = StorageOutput()
    performance = PerformanceOutput()
    cost = CostTotalOutput()


_SUMMARY_EXAMPLE = {
    "tenant_id": "acme",
    "usage_period": "2026-11",
    "resets_at": "2026-12-01T00:00:00Z",
    "api_calls": {"total": 87500, "limit": 100000, "remaining": 12500, "overage": 0, "projected": 98400},
    "chat_messages": {"total": 12040, "limit": 20000, "remaining": 7960, "overage": 0, "projected": 13500},
    "tokens": {"total": 9120000, "limit": 20000000, "remaining": 10880000, "overage": 0, "projected": 10260000},
    "agents": {"active": 18, "limit": 25},
    "storage": {"used_bytes": 734003200, "limit_bytes": 5368709120},
    "performance": {"avg_response_time": 245, "success_rate": 99.7, "error_rate": 0.3},
    "cost": {"currency": "USD", "total": "41.2860", "tokens": 9120000, "unpriced_tokens": 0},
}


class SubscriptionUsageApi(TenantApi):
    required_scopes = (Scope.USAGE_READ,)

    @extend_schema(
        operation_id="subscription_usage_retrieve",
        tags=["Usage"],
        summary="Usage this month against the plan",
        description=(
            "API calls, chat messages and tokens used in the month (UTC) with the plan's limits; active agents "
            "and storage against theirs; API performance; the cost of the month's tokens. For the current month "
            "the quota totals are live; everything else trails by at most a minute (the rollup)."
        ),
        parameters=[PeriodInput],
        responses=SubscriptionUsageOutput,
        examples=[OpenApiExample("Professional, mid-month", response_only=True, value=_SUMMARY_EXAMPLE)],
    )
    def get(self, request: Request) -> Response:
        period = _period_or_current(request)
        summary = usage_summary(tenant=current_tenant(), period=period, now=timezone.now())
        meters, performance, costs = summary.meters, summary.performance, summary.costs
        body = {
            "tenant_id": summary.tenant_id,
            "usage_period": period.key,
            "resets_at": period.end,
            "api_calls": _quota(meters[Meter.API_CALLS]),
            "chat_messages": _quota(meters[Meter.CHAT_MESSAGES]),
            "tokens": _quota(meters[Meter.TOKENS]),
            "agents": {"active": meters[Meter.ACTIVE_AGENTS].total, "limit": meters[Meter.ACTIVE_AGENTS].limit},
            "storage": {
                "used_bytes": meters[Meter.STORAGE_BYTES].total,
                "limit_bytes": meters[Meter.STORAGE_BYTES].limit,
            },
            "performance": {
                "avg_response_time": performance.avg_response_time_ms,
                "success_rate": performance.success_rate,
                "error_rate": performance.error_rate,
            },
            "cost": {
                "currency": costs.currency,
                "total": costs.total.cost,
                "tokens": costs.total.tokens,
                "unpriced_tokens": costs.total.unpriced_tokens,
            },
        }
        return Response(SubscriptionUsageOutput(body).data)


# --- GET /api/v1/usage ----------------------------------------------------------------------------


class PointOutput(serializers.Serializer):
    start = serializers.CharField(help_text="The bucket's start: a date-time (hour) or a date (day).")
    quantity = serializers.IntegerField(help_text="The sum over the bucket; for gauges, the highest level.")
    events = serializers.IntegerField(help_text="Events recorded in the bucket.")


class UsageSeriesOutput(serializers.Serializer):
    meter = serializers.ChoiceField(choices=Meter.choices)
    unit = serializers.CharField()
    is_gauge = serializers.BooleanField(help_text="A level (storage, agents) rather than a count.")
    granularity = serializers.ChoiceField(choices=GRANULARITIES)
    start = serializers.DateTimeField(source="from_")
    end = serializers.DateTimeField(source="to")
    points = PointOutput(many=True)


class UsageSeriesApi(TenantApi):
    required_scopes = (Scope.USAGE_READ,)

    class InputSerializer(serializers.Serializer):
        meter = serializers.ChoiceField(choices=Meter.choices)
        granularity = serializers.ChoiceField(choices=GRANULARITIES, default="day")
        # `from` is a Python keyword: the field is declared below under its public name.
        to = MomentField(required=False, help_text="End (exclusive); now by default.")

        def get_fields(self) -> dict[str, serializers.Field]:
            fields = super().get_fields()
            fields["from"] = MomentField(
                required=False,
                help_text="Start (inclusive); the month's first day (day) or 24 hours before `to` (hour) by default.",
            )
            return fields

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            end = attrs.get("to") or timezone.now()
            hourly = attrs["granularity"] == "hour"
            start = attrs.get("from") or (end - timedelta(hours=24) if hourly else UsagePeriod.of(end).start)
            if start >= end:
                raise serializers.ValidationError({"from": ["Must be before `to`."]}, code="invalid")
            longest = MAX_HOURLY_RANGE if hourly else MAX_DAILY_RANGE
            if end - start > longest:
                raise serializers.ValidationError(
                    {"to": [f"At most {longest.days} days of {attrs['granularity']}ly points per request."]},
                    code="range_too_long",
                )
            return {**attrs, "from": start, "to": end}

    @extend_schema(
        operation_id="usage_series",
        tags=["Usage"],
        summary="Usage time series",
        description=(
            "One meter per hour (at most 31 days) or per day (at most 366 days), every bucket present, zeros "
            "included. Trails reality by at most a minute."
        ),
        parameters=[InputSerializer],
        responses=UsageSeriesOutput,
    )
    def get(self, request: Request) -> Response:
        data = self.validated(self.InputSerializer, request.query_params)
        points = usage_series(
            tenant=current_tenant(),
            meter=data["meter"],
            granularity=data["granularity"],
            start=data["from"],
            end=data["to"],
        )
        body = {
            "meter": data["meter"],
            "unit": UNITS[data["meter"]],
            "is_gauge": is_gauge(data["meter"]),
            "granularity": data["granularity"],
            "from_": data["from"],
            "to": data["to"],
            "points": [
                {"start": _bucket(point.start), "quantity": point.quantity, "events": point.events} for point in points
            ],
        }
        return Response(UsageSeriesOutput(body).data)


def _bucket(start: datetime | date) -> str:
    if isinstance(start, datetime):
        return start.isoformat().replace("+00:00", "Z")
    return start.isoformat()


# --- GET /api/v1/usage/costs ----------------------------------------------------------------------


class CostLineOutput(serializers.Serializer):
    id = serializers.CharField(help_text="The agent's, model's or conversation's id (\"\" for usage without one).")
    tokens = serializers.IntegerField()
    cost = serializers.DecimalField(max_digits=16, decimal_places=4, coerce_to_string=True)
    unpriced_tokens = serializers.IntegerField()


class UsageCostsOutput(serializers.Serializer):
    usage_period = serializers.CharField()
    currency = serializers.CharField()
    total = CostLineOutput()
    agents = CostLineOutput(many=True, help_text="Every agent with tokens this month, dearest first.")
    models = CostLineOutput(many=True, help_text="Every model used this month (`provider/model`), dearest first.")
    conversations = CostLineOutput(many=True, help_text="The 20 dearest conversations active this month.")


def _line(line: CostLine) -> dict[str, Any]:
    return {"id": line.id, "tokens": line.tokens, "cost": line.cost, "unpriced_tokens": line.unpriced_tokens}


class UsageCostsApi(TenantApi):
    required_scopes = (Scope.USAGE_READ,)

    @extend_schema(
        operation_id="usage_costs",
        tags=["Usage"],
        summary="Token costs per agent, model and conversation",
        description="Tokens × the model's price per 1,000 tokens (input and output priced apart), today's prices.",
        parameters=[PeriodInput],
        responses=UsageCostsOutput,
    )
    def get(self, request: Request) -> Response:
        period = _period_or_current(request)
        costs = usage_costs(tenant=current_tenant(), period=period)
        body = {
            "usage_period": period.key,
            "currency": costs.currency,
            "total": _line(costs.total),
            "agents": [_line(line) for line in costs.by_agent],
            "models": [_line(line) for line in costs.by_model],
            "conversations": [_line(line) for line in costs.by_conversation],
        }
        return Response(UsageCostsOutput(body).data)
