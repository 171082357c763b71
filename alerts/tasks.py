"""Celery entry points of usage alerts: thin, and safe to run twice."""

from __future__ import annotations

from smtplib import SMTPException

from alerts.services import usage_alert_email_send, usage_alert_emails_sweep, usage_thresholds_evaluate
from config.celery import app
from tenants.context import current_tenant


@app.task(
    acks_late=True, autoretry_for=(SMTPException, OSError), retry_backoff=30, retry_backoff_max=3600, max_retries=10
)
def usage_alert_email_send_task(*, alert_id: int) -> bool:
    """Send one alert's email, in the schema it was sent from (tenant-schemas-celery headers)."""
    return usage_alert_email_send(alert_id=alert_id)


@app.task(acks_late=True)
def usage_thresholds_evaluate_task(*, meter: str, used: int, limit: int | None, period: str) -> list[int]:
    """`usage_thresholds_evaluate` off the request path, for the workspace whose schema sent it."""
    return usage_thresholds_evaluate(tenant=current_tenant(), meter=meter, used=used, limit=limit, period=period)


@app.task(acks_late=True)
def usage_alert_emails_sweep_task() -> int:
    """Hourly, from the public schema: queue the emails of alerts not sent in time."""
    return usage_alert_emails_sweep()
