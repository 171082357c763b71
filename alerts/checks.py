"""Startup check: the default thresholds obey the same rules as a workspace's own."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from alerts.models import MAX_THRESHOLDS


@register()
def usage_alert_default_thresholds_check(**kwargs: Any) -> list[CheckMessage]:
    thresholds = settings.USAGE_ALERT_DEFAULT_THRESHOLDS
    if (
        1 <= len(thresholds) <= MAX_THRESHOLDS
        and len(set(thresholds)) == len(thresholds)
        and all(1 <= threshold <= 100 for threshold in thresholds)
    ):
        return []
    return [
        Error(
            f"USAGE_ALERT_DEFAULT_THRESHOLDS must be 1 to {MAX_THRESHOLDS} distinct integers from 1 to 100, "
            f"got {thresholds!r}.",
            id="alerts.E001",
        )
    ]
