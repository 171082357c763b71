"""The workspace's usage page: this month per meter and day (SVG charts), limits with a
projection to month end, usage per API key, person and agent, token costs, a CSV export, and
the overage opt-in.

Anyone with VIEW_PORTAL may look and export; opting in or out of overage needs MANAGE_BILLING.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.permissions import Permission, role_has
from accounts.selectors import member_list
from apikeys.selectors import api_key_list
from audit.services import Actor
from config.errors import ApplicationError
from portal.access import permission_required
from portal.errors import message_service_error
from tenants.context import TenantHttpRequest
from usage.charts import BarChart, RankedChart, RankedItem, bar_chart, ranked_chart
from usage.meters import COUNTERS, Meter, UsagePeriod
from usage.selectors import BreakdownRow, CostSummary, usage_breakdown, usage_daily_export, usage_series
from usage.services import usage_overage_set
from usage.summaries import MeterSummary, usage_summary


@dataclass(frozen=True)
class MeterPanel:
    summary: MeterSummary
    chart: BarChart


@dataclass(frozen=True)
class NamedRow:
    name: str
    quantity: int


def _period(request: TenantHttpRequest) -> UsagePeriod:
    now = timezone.now()
    try:
        period = UsagePeriod.parse(request.GET.get("period", ""))
    except ValueError:
        return UsagePeriod.of(now)
    return period if period.start <= now else UsagePeriod.of(now)


def _named(rows: list[BreakdownRow], names: dict[str, str], missing: str) -> list[NamedRow]:
    return [NamedRow(names.get(row.id, row.id) if row.id else missing, row.quantity) for row in rows if row.quantity]


@dataclass(frozen=True)
class RankedCharts:
    """The per-agent and per-key bar charts; the tables below them stay the accessible alternative."""

    agent_tokens: RankedChart
    agent_cost: RankedChart
    key_calls: RankedChart


def _ranked_charts(costs: CostSummary, by_key: list[NamedRow]) -> RankedCharts:
    others, no_agent = _("Others"), _("No agent")
    return RankedCharts(
        agent_tokens=ranked_chart(
            [RankedItem(line.id or no_agent, line.tokens) for line in costs.by_agent], others_label=others
        ),
        agent_cost=ranked_chart(
            [RankedItem(line.id or no_agent, line.cost) for line in costs.by_agent], others_label=others
        ),
        key_calls=ranked_chart([RankedItem(row.name, row.quantity) for row in by_key], others_label=others),
    )


@permission_required(Permission.VIEW_PORTAL)
def usage(request: TenantHttpRequest) -> HttpResponse:
    tenant, period, now = request.tenant, _period(request), timezone.now()
    summary = usage_summary(tenant=tenant, period=period, now=now)
    panels = [
        MeterPanel(
            summary=summary.meters[meter],
            chart=bar_chart(
                usage_series(tenant=tenant, meter=meter, granularity="day", start=period.start, end=period.end)
            ),
        )
        for meter in COUNTERS
    ]
    key_names = dict(api_key_list(tenant=tenant).values_list("id", "name"))
    user_names = {str(pk): email for pk, email in member_list().values_list("pk", "email")}
    by_key = _named(
        usage_breakdown(tenant=tenant, meter=Meter.API_CALLS, period=period, by="key_id"),
        key_names,
        _("Signed-in people (portal)"),
    )
    context = {
        "period": period,
        "previous_period": period.previous(),
        "next_period": None if summary.is_current else UsagePeriod.of(period.end),
        "summary": summary,
        "panels": panels,
        "gauges": [summary.meters[Meter.ACTIVE_AGENTS], summary.meters[Meter.STORAGE_BYTES]],
        "by_key": by_key,
        "charts": _ranked_charts(summary.costs, by_key),
        "by_user": [
            row
            for row in _named(
                usage_breakdown(tenant=tenant, meter=Meter.API_CALLS, period=period, by="user_id"), user_names, ""
            )
            if row.name  # calls made with a key have no person
        ],
        "by_agent": _named(
            usage_breakdown(tenant=tenant, meter=Meter.TOKENS, period=period, by="agent_id"), {}, _("No agent")
        ),
        "can_manage_billing": role_has(request.user.role, Permission.MANAGE_BILLING),
    }
    return render(request, "portal/usage.html", context)


@permission_required(Permission.VIEW_PORTAL)
def usage_export(request: TenantHttpRequest) -> HttpResponse:
    """Every daily aggregate row of the month, as CSV."""
    period = _period(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="usage-{request.tenant.slug}-{period.key}.csv"'
    writer = csv.writer(response)
    writer.writerow(
        [
            "day",
            "meter",
            "quantity",
            "events",
            "api_key",
            "user",
            "agent",
            "model",
            "token_type",
            "avg_latency_ms",
            "success",
            "client_errors",
            "server_errors",
        ]
    )
    for row in usage_daily_export(tenant=request.tenant, period=period):
        average = round(row.latency_ms_sum / row.latency_count) if row.latency_count else ""
        writer.writerow(
            [
                row.day.isoformat(),
                row.meter,
                row.quantity,
                row.events,
                row.key_id,
                row.user_id,
                row.agent_id,
                row.model,
                row.token_type,
                average,
                row.success_count,
                row.client_error_count,
                row.server_error_count,
            ]
        )
    return response


@require_POST
@permission_required(Permission.MANAGE_BILLING)
def usage_overage(request: TenantHttpRequest) -> HttpResponse:
    opt_in = request.POST.get("overage") == "on"
    try:
        usage_overage_set(tenant=request.tenant, opt_in=opt_in, actor=Actor.for_user(request.user))
    except ApplicationError as error:
        message_service_error(request, error)
    else:
        messages.success(
            request,
            _("Overage is on: past a monthly limit, usage continues and is billed.")
            if opt_in
            else _("Overage is off: usage stops at the monthly limits."),
        )
    return redirect("portal:usage")
