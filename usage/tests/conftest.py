"""Helpers of the usage tests: a tenant's aggregates, read back simply."""

from __future__ import annotations

from django.db.models import Sum
from django_tenants.utils import schema_context

from usage.models import UsageDaily, UsageHourly


def daily_total(schema: str, meter: str) -> int:
    with schema_context(schema):
        return int(UsageDaily.objects.filter(meter=meter).aggregate(t=Sum("quantity"))["t"] or 0)


def hourly_total(schema: str, meter: str) -> int:
    with schema_context(schema):
        return int(UsageHourly.objects.filter(meter=meter).aggregate(t=Sum("quantity"))["t"] or 0)
