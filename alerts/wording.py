"""What an alert says, in the notification and the email: one place, so both always agree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.template.defaultfilters import filesizeformat

from alerts.models import CURRENT_PERIOD, UsageAlert

# Meters named by the usage capability (docs/usage.md) and the entitlement limits they share;
# anything else is shown with its underscores as spaces.
METER_LABELS = {
    "api_calls": "API calls",
    "chat_messages": "chat messages",
    "tokens": "model tokens",
    "storage_bytes": "knowledge storage",
    "knowledge_storage_bytes": "knowledge storage",
    "active_agents": "agents",
    "agents": "agents",
    "team_members": "team members",
}
BYTE_METERS = frozenset({"storage_bytes", "knowledge_storage_bytes"})


@dataclass(frozen=True)
class AlertText:
    title: str
    body: str


def meter_label(meter: str) -> str:
    return METER_LABELS.get(meter, meter.replace("_", " "))


def period_label(period: str) -> str:
    """ "2026-11" → "November 2026"; "current" (and anything else) stays as it is."""
    try:
        year, month = (int(part) for part in period.split("-"))
        return date(year, month, 1).strftime("%B %Y")
    except ValueError:
        return period


def usage_amount(meter: str, value: int) -> str:
    return str(filesizeformat(value)) if meter in BYTE_METERS else f"{value:,}"


def usage_alert_text(*, alert: UsageAlert, workspace_name: str) -> AlertText:
    label = meter_label(alert.meter)
    used, allowed = usage_amount(alert.meter, alert.used), usage_amount(alert.meter, alert.allowed)
    if alert.period == CURRENT_PERIOD:
        usage = f"{workspace_name} is using {used} of the {allowed} {label} its plan allows."
    else:
        usage = f"{workspace_name} has used {used} of its {allowed} {label} for {period_label(alert.period)}."
    if alert.is_limit_reached:
        return AlertText(
            title=f"Limit reached: {label}",
            body=f"{usage} Upgrade the plan or add an add-on to raise the limit.",
        )
    return AlertText(title=f"{alert.threshold}% of your {label} limit used", body=usage)
