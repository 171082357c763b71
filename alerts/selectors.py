"""Reads of usage alerts, in the schema the connection is on."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db.models import QuerySet

from alerts.models import UsageAlert, UsageAlertSettings


def usage_alert_thresholds() -> list[int]:
    """The workspace's thresholds, ascending: its saved settings, else USAGE_ALERT_DEFAULT_THRESHOLDS."""
    saved = UsageAlertSettings.objects.filter(pk=1).values_list("thresholds", flat=True).first()
    thresholds = saved if saved is not None else settings.USAGE_ALERT_DEFAULT_THRESHOLDS
    return sorted(thresholds)


def usage_alert_list() -> QuerySet[UsageAlert]:
    """Every alert sent, newest first."""
    return UsageAlert.objects.all()


def usage_alert_email_unsent(*, crossed_before: datetime) -> QuerySet[UsageAlert]:
    """Alerts whose email has not gone out although they were crossed before `crossed_before`."""
    return UsageAlert.objects.filter(email_sent_at__isnull=True, crossed_at__lt=crossed_before).order_by("id")
