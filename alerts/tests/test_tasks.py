"""Alert emails on a real Celery worker (in this process, over the test Redis broker).

The worker has its own thread and database connection and sees only committed rows, so these
tests commit a tenant of their own and drop it at the end (see tenants/tests/test_tasks.py).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django_tenants.utils import schema_context

from alerts.models import UsageAlert
from alerts.services import usage_thresholds_evaluate
from alerts.tasks import usage_alert_email_send_task, usage_thresholds_evaluate_task
from audit.services import Actor
from config.celery import app as celery_app
from tenants.models import Tenant
from tenants.services import tenant_provision, tenant_purge, tenant_request_deletion

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning"),
]

ACTOR = Actor.system("alert-worker-tests")


@pytest.fixture(scope="module")
def worker(django_db_setup: None, django_db_blocker) -> Iterator[None]:  # type: ignore[no-untyped-def]
    hijack_root_logger = celery_app.conf.worker_hijack_root_logger
    celery_app.conf.worker_hijack_root_logger = False
    try:
        with django_db_blocker.unblock():
            celery_app.control.purge()
            with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
                yield
    finally:
        celery_app.conf.worker_hijack_root_logger = hijack_root_logger


@pytest.fixture
def committed_tenant(worker: None, django_db_blocker) -> Iterator[Tenant]:  # type: ignore[no-untyped-def]
    with django_db_blocker.unblock():
        slug = f"alert-task-{uuid.uuid4().hex[:8]}"
        tenant = tenant_provision(
            slug=slug,
            name=f"{slug} Ltd",
            owner_email=f"owner@{slug}.test",
            owner_password=None,
            plan_code="starter",
            actor=ACTOR,
        ).tenant
        try:
            yield tenant
        finally:
            tenant_request_deletion(tenant=tenant, confirm_slug=tenant.slug, actor=ACTOR, grace_days=0)
            tenant.refresh_from_db()
            tenant_purge(tenant=tenant, actor=ACTOR)


def _wait_for(condition, timeout: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the worker")
        time.sleep(0.05)


def test_alert_email_is_sent_by_the_worker_in_the_tenants_schema_once(committed_tenant: Tenant) -> None:
    # Committed in autocommit mode: the email task is queued on commit, from the tenant's schema.
    crossed = usage_thresholds_evaluate(
        tenant=committed_tenant, meter="chat_messages", used=9, limit=10, period="2026-11"
    )
    assert crossed == [50, 80]
    _wait_for(lambda: len(mail.outbox) == 2)
    assert sorted(m.subject for m in mail.outbox) == [
        f"[{committed_tenant.name}] 50% of your chat messages limit used",
        f"[{committed_tenant.name}] 80% of your chat messages limit used",
    ]
    assert all(m.to == [f"owner@{committed_tenant.slug}.test"] for m in mail.outbox)
    with schema_context(committed_tenant.schema_name):
        alert = UsageAlert.objects.get(threshold=80)
        _wait_for(lambda: not UsageAlert.objects.filter(email_sent_at__isnull=True).exists())
        # A redelivered task (same alert) finds the email sent and sends nothing.
        assert usage_alert_email_send_task.delay(alert_id=alert.pk).get(timeout=30) is False
    assert len(mail.outbox) == 2


def test_evaluate_task_runs_for_the_tenant_whose_schema_sent_it(committed_tenant: Tenant) -> None:
    with schema_context(committed_tenant.schema_name):
        result = usage_thresholds_evaluate_task.delay(meter="agents", used=5, limit=5, period="current")
    assert result.get(timeout=30) == [50, 80, 100]
    _wait_for(lambda: len(mail.outbox) == 3)
    with schema_context(committed_tenant.schema_name):
        assert UsageAlert.objects.filter(meter="agents", period="current").count() == 3
