"""Alert emails on a real Celery worker (in this process, over the test Redis broker).

The worker has its own thread and database connection and sees only committed rows, so these
tests commit a tenant of their own and drop it at the end (see tenants/tests/test_tasks.py).
"""

from __future__ import annotations

import pytest
from django.core import mail
from django_tenants.utils import schema_context

from alerts.models import UsageAlert
from alerts.services import usage_thresholds_evaluate
from alerts.tasks import usage_alert_email_send_task, usage_thresholds_evaluate_task
from audit.services import Actor
from tenants.models import Tenant
from testing.celery_worker import wait_until

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning"),
]

ACTOR = Actor.system("alert-worker-tests")


def test_alert_email_is_sent_by_the_worker_in_the_tenants_schema_once(worker_tenant: Tenant) -> None:
    # Committed in autocommit mode: the email task is queued on commit, from the tenant's schema.
    crossed = usage_thresholds_evaluate(tenant=worker_tenant, meter="chat_messages", used=9, limit=10, period="2026-11")
    assert crossed == [50, 80]
    wait_until(lambda: len(mail.outbox) == 2)
    assert sorted(m.subject for m in mail.outbox) == [
        f"[{worker_tenant.name}] 50% of your chat messages limit used",
        f"[{worker_tenant.name}] 80% of your chat messages limit used",
    ]
    assert all(m.to == [f"owner@{worker_tenant.slug}.test"] for m in mail.outbox)
    with schema_context(worker_tenant.schema_name):
        alert = UsageAlert.objects.get(threshold=80)
        wait_until(lambda: not UsageAlert.objects.filter(email_sent_at__isnull=True).exists())
        # A redelivered task (same alert) finds the email sent and sends nothing.
        assert usage_alert_email_send_task.delay(alert_id=alert.pk).get(timeout=30) is False
    assert len(mail.outbox) == 2


def test_evaluate_task_runs_for_the_tenant_whose_schema_sent_it(worker_tenant: Tenant) -> None:
    with schema_context(worker_tenant.schema_name):
        result = usage_thresholds_evaluate_task.delay(meter="agents", used=5, limit=5, period="current")
    assert result.get(timeout=30) == [50, 80, 100]
    wait_until(lambda: len(mail.outbox) == 3)
    with schema_context(worker_tenant.schema_name):
        assert UsageAlert.objects.filter(meter="agents", period="current").count() == 3
