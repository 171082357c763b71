"""Every write of usage alerts: the thresholds, the exactly-once evaluation, the alert email.

`usage_thresholds_evaluate` is the entry point of the usage capability: call it with a meter's
use and limit whenever they may have changed (after a rollup, after a gauge moved).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from accounts.models import User
from alerts.emails import usage_alert_email_build
from alerts.models import CURRENT_PERIOD, MAX_THRESHOLDS, UsageAlert, UsageAlertSettings
from alerts.selectors import usage_alert_email_unsent, usage_alert_thresholds
from alerts.wording import usage_alert_text
from audit.services import Actor, audit_record
from config.errors import ValidationFailed
from notifications.models import NotificationLevel
from notifications.services import MANAGER_ROLES, notification_create_for_managers
from tenants.context import current_tenant, on_public_schema
from tenants.selectors import tenant_list_live
from webhooks.events import EventType, webhook_event_publish

if TYPE_CHECKING:
    from tenants.models import Tenant

logger = logging.getLogger(__name__)

_METER = re.compile(r"[a-z][a-z0-9_]{0,63}")
SWEEP_BATCH = 500
_PERIOD = re.compile(rf"\d{{4}}-(0[1-9]|1[0-2])|{CURRENT_PERIOD}")


def usage_alert_thresholds_set(*, thresholds: list[int], actor: Actor, user: User | None = None) -> list[int]:
    """Save the workspace's thresholds (ascending) and audit the change.

    Raises ValidationFailed unless they are 1 to MAX_THRESHOLDS distinct integers from 1 to 100.
    """
    problems = []
    if not 1 <= len(thresholds) <= MAX_THRESHOLDS:
        problems.append(f"Choose between 1 and {MAX_THRESHOLDS} thresholds.")
    if any(isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100 for value in thresholds):
        problems.append("Each threshold is a whole number from 1 to 100.")
    if len(set(thresholds)) != len(thresholds):
        problems.append("Each threshold may appear only once.")
    if problems:
        raise ValidationFailed(problems[0], errors={"thresholds": problems})
    chosen = sorted(thresholds)
    with transaction.atomic():
        before = usage_alert_thresholds()
        UsageAlertSettings.objects.update_or_create(pk=1, defaults={"thresholds": chosen, "updated_by": user})
        audit_record(action="usage_alerts.thresholds_changed", actor=actor, data={"before": before, "after": chosen})
    return chosen


@dataclass(frozen=True)
class _Claimed:
    id: int
    threshold: int


def _claim(*, meter: str, period: str, thresholds: list[int], used: int, limit: int) -> list[_Claimed]:
    """INSERT one row per threshold; a threshold already claimed (by this or a concurrent
    transaction, which we wait for) conflicts and is skipped. Returns the rows this call inserted."""
    # The ORM cannot say which rows an ON CONFLICT DO NOTHING insert kept; only the (quoted)
    # table name is formatted in, every value is a parameter.
    table = connection.ops.quote_name(UsageAlert._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (meter, period, threshold, used, allowed, crossed_at)
            SELECT %s, %s, threshold, %s, %s, %s FROM unnest(%s::smallint[]) AS threshold
            ON CONFLICT (meter, period, threshold) WHERE rearmed_at IS NULL DO NOTHING
            RETURNING id, threshold
            """,  # noqa: S608
            [meter, period, used, limit, timezone.now(), thresholds],
        )
        return sorted((_Claimed(id=row[0], threshold=row[1]) for row in cursor.fetchall()), key=lambda c: c.threshold)


def _rearm(*, meter: str, crossed: list[int]) -> None:
    """A gauge back below a threshold may alert again when it next crosses it."""
    UsageAlert.objects.filter(meter=meter, period=CURRENT_PERIOD, rearmed_at__isnull=True).exclude(
        threshold__in=crossed
    ).update(rearmed_at=timezone.now())


def _email_queue(*, schema_name: str, alert_id: int) -> None:
    from alerts.tasks import usage_alert_email_send_task  # tasks import this module

    # Sent from the tenant's schema so the worker runs it there (tenant-schemas-celery), whatever
    # schema the connection is on when the caller's transaction commits.
    with schema_context(schema_name):
        usage_alert_email_send_task.delay(alert_id=alert_id)


def _announce(*, tenant: Tenant, alert: UsageAlert) -> None:
    text = usage_alert_text(alert=alert, workspace_name=tenant.name)
    notification_create_for_managers(
        title=text.title,
        body=text.body,
        link=reverse("portal:billing", urlconf=settings.ROOT_URLCONF),
        level=NotificationLevel.ERROR if alert.is_limit_reached else NotificationLevel.WARNING,
    )
    webhook_event_publish(
        tenant=tenant,
        event_type=EventType.USAGE_LIMIT_REACHED if alert.is_limit_reached else EventType.USAGE_THRESHOLD_REACHED,
        data={
            "meter": alert.meter,
            "threshold": alert.threshold,
            "used": alert.used,
            "limit": alert.allowed,
            "period": alert.period,
        },
    )
    # robust: the alert is committed by now; a broker outage must not fail the caller. The
    # hourly sweep (usage_alert_emails_sweep_task) sends what was not queued.
    transaction.on_commit(
        lambda: _email_queue(schema_name=tenant.schema_name, alert_id=alert.pk),
        robust=True,
    )


def usage_thresholds_evaluate(*, tenant: Tenant, meter: str, used: int, limit: int | None, period: str) -> list[int]:
    """Alert the workspace's owners and admins for each of its thresholds that `used` of `limit`
    crosses for the first time in `period`; returns those thresholds, ascending.

    `period` is the month ("2026-11") for monthly limits, or "current" for gauges (agents, team
    members, storage). Each threshold crossed yields exactly one email, one in-portal notification
    per owner/admin and one webhook event (`usage.threshold_reached`, or `usage.limit_reached` at
    100 %), however many workers call this at once and however often a caller retries: the claim
    row, the notification and the webhook event commit together (with the caller's transaction,
    if any), and the email is queued on commit. For a gauge, a threshold `used` is back below is
    re-armed. `limit` None (unlimited) or 0 (not in the plan) alerts nothing.

    Raises ValueError for a malformed meter or period or a negative `used` (programming errors).
    """
    if not _METER.fullmatch(meter):
        raise ValueError(f"malformed meter name {meter!r}")
    if not _PERIOD.fullmatch(period):
        raise ValueError(f"period must be YYYY-MM or {CURRENT_PERIOD!r}, got {period!r}")
    if used < 0:
        raise ValueError("used must not be negative")
    if limit is None or limit <= 0:
        return []
    with tenant_context(tenant):
        crossed = [threshold for threshold in usage_alert_thresholds() if used * 100 >= threshold * limit]
        if not crossed and period != CURRENT_PERIOD:
            return []
        with transaction.atomic():
            if period == CURRENT_PERIOD:
                _rearm(meter=meter, crossed=crossed)
            claimed = _claim(meter=meter, period=period, thresholds=crossed, used=used, limit=limit) if crossed else []
            for claim in claimed:
                alert = UsageAlert(
                    id=claim.id, meter=meter, period=period, threshold=claim.threshold, used=used, allowed=limit
                )
                _announce(tenant=tenant, alert=alert)
        if claimed:
            logger.info(
                "usage alert %s %s at %s%% for tenant %s", meter, period, [c.threshold for c in claimed], tenant.slug
            )
    return [claim.threshold for claim in claimed]


def usage_alert_email_send(*, alert_id: int) -> bool:
    """Send the alert's email to the workspace's active owners and admins, once: the alert row is
    locked while sending and marked sent in the same transaction, so a second run (a retry, a
    redelivered task, the sweep) finds it sent. Returns whether this call sent it.

    An SMTP error propagates (nothing is marked; the task retries). Only a crash between the
    server accepting the message and the commit can send it twice.
    """
    tenant = current_tenant()
    with transaction.atomic():
        alert = UsageAlert.objects.select_for_update().filter(pk=alert_id).first()
        if alert is None or alert.email_sent_at is not None:
            return False
        recipients = list(
            User.objects.filter(is_active=True, role__in=MANAGER_ROLES)
            .order_by("email")
            .values_list("email", flat=True)
        )
        if recipients:
            usage_alert_email_build(tenant=tenant, alert=alert, recipients=recipients).send()
        alert.email_sent_at = timezone.now()
        alert.save(update_fields=["email_sent_at"])
    logger.info("usage alert email %s sent to %d people of tenant %s", alert_id, len(recipients), tenant.slug)
    return bool(recipients)


@on_public_schema
def usage_alert_emails_sweep(*, now: datetime | None = None) -> int:
    """Queue the email of every alert, in every live workspace, still unsent
    USAGE_ALERT_EMAIL_SWEEP_AFTER_MINUTES after it was crossed (the broker was down when it
    committed, or the task was lost). Sending is idempotent, so a task merely slow is harmless.
    Returns how many were queued (at most SWEEP_BATCH per workspace and run)."""
    from alerts.tasks import usage_alert_email_send_task

    crossed_before = (now or timezone.now()) - timedelta(minutes=settings.USAGE_ALERT_EMAIL_SWEEP_AFTER_MINUTES)
    queued = 0
    for tenant in tenant_list_live():
        with tenant_context(tenant):
            unsent = usage_alert_email_unsent(crossed_before=crossed_before).values_list("id", flat=True)
            for alert_id in unsent[:SWEEP_BATCH]:
                usage_alert_email_send_task.delay(alert_id=alert_id)
                queued += 1
    if queued:
        logger.warning("usage alert sweep queued %d unsent alert emails", queued)
    return queued
