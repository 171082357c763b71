"""Reads of the platform's metering tables, and of every tenant's usage for staff."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django_tenants.utils import get_public_schema_name, schema_context

from metering.models import ModelPrice, OutboxPending
from tenants.models import Tenant


@dataclass(frozen=True)
class Price:
    input_per_1k: Decimal
    output_per_1k: Decimal


def model_price_map() -> dict[str, Price]:
    """`<provider>/<model>` → its prices."""
    with schema_context(get_public_schema_name()):
        return {
            price.qualified_name: Price(price.input_price_per_1k, price.output_price_per_1k)
            for price in ModelPrice.objects.all()
        }


def outbox_pending_tenant_ids() -> list[int]:
    with schema_context(get_public_schema_name()):
        return list(OutboxPending.objects.values_list("tenant_id", flat=True))


@dataclass(frozen=True)
class TenantMonthRow:
    meter: str
    model: str
    token_type: str
    quantity: int


def tenants_month_usage(*, tenants: Iterable[Tenant], first_day: str, last_day: str) -> dict[int, list[TenantMonthRow]]:
    """Each tenant's daily usage between two ISO days summed per meter, model and token type.

    One query for all of them: a UNION ALL over the tenants' schemas (the names come from
    Tenant rows and are quoted as identifiers, never taken from input).
    """
    tenants = [tenant for tenant in tenants if tenant.schema_name != get_public_schema_name()]
    if not tenants:
        return {}
    quote = connection.ops.quote_name
    parts = [
        f"SELECT %s AS tenant_id, meter, model, token_type, SUM(quantity) AS quantity "  # noqa: S608
        f"FROM {quote(tenant.schema_name)}.usage_usagedaily WHERE day BETWEEN %s AND %s "
        f"GROUP BY meter, model, token_type"
        for tenant in tenants
    ]
    params: list[Any] = []
    for tenant in tenants:
        params += [tenant.pk, first_day, last_day]
    rows: dict[int, list[TenantMonthRow]] = {tenant.pk: [] for tenant in tenants}
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        for tenant_id, meter, model, token_type, quantity in cursor.fetchall():
            rows[tenant_id].append(TenantMonthRow(meter, model, token_type, int(quantity)))
    return rows


@dataclass(frozen=True)
class TenantConversationTotals:
    conversations: int
    messages: int
    cost: Decimal  # USD


def tenants_conversation_totals(*, tenants: Iterable[Tenant]) -> dict[int, TenantConversationTotals]:
    """Each tenant's conversations, messages and conversation cost (all time), in one UNION ALL
    query over the tenants' schemas (names from Tenant rows, quoted as identifiers)."""
    tenants = [tenant for tenant in tenants if tenant.schema_name != get_public_schema_name()]
    if not tenants:
        return {}
    quote = connection.ops.quote_name
    parts = [
        f"SELECT %s AS tenant_id, COUNT(*), COALESCE(SUM(message_count), 0), COALESCE(SUM(cost), 0) "  # noqa: S608
        f"FROM {quote(tenant.schema_name)}.conversations_conversation"
        for tenant in tenants
    ]
    totals: dict[int, TenantConversationTotals] = {}
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), [tenant.pk for tenant in tenants])
        for tenant_id, conversations, messages, cost in cursor.fetchall():
            totals[tenant_id] = TenantConversationTotals(int(conversations), int(messages), Decimal(cost))
    return totals
