"""Exactly once under concurrency: many threads, each on its own PostgreSQL connection, evaluate
the same crossing at the same moment; every threshold is claimed, notified, published and
emailed once.

The threads only see committed rows, so this test commits a tenant of its own (outside
pytest-django's transaction) and drops it at the end.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core import mail
from django.db import connection
from django_tenants.utils import schema_context

from accounts.models import Role
from accounts.services import user_create
from alerts.models import UsageAlert
from alerts.services import usage_thresholds_evaluate
from audit.services import Actor
from notifications.models import Notification
from tenants.models import Tenant
from tenants.services import tenant_provision, tenant_purge, tenant_request_deletion
from webhooks.models import WebhookEvent

THREADS = 8
ACTOR = Actor.system("alert-tests")
pytestmark = pytest.mark.usefixtures("eager_tasks")


@pytest.fixture
def committed_tenant(django_db_setup: None, django_db_blocker) -> Iterator[Tenant]:  # type: ignore[no-untyped-def]
    with django_db_blocker.unblock():
        slug = f"alerts-{uuid.uuid4().hex[:8]}"
        tenant = tenant_provision(
            slug=slug,
            name=f"{slug} Ltd",
            owner_email=f"owner@{slug}.test",
            owner_password=None,
            plan_code="professional",
            actor=ACTOR,
        ).tenant
        with schema_context(tenant.schema_name):
            user_create(email=f"admin@{slug}.test", password=None, role=Role.ADMIN, email_verified=True)
        try:
            yield tenant
        finally:
            tenant_request_deletion(tenant=tenant, confirm_slug=tenant.slug, actor=ACTOR, grace_days=0)
            tenant.refresh_from_db()
            tenant_purge(tenant=tenant, actor=ACTOR)


def test_usage_thresholds_evaluate_concurrently_alerts_each_threshold_exactly_once(committed_tenant: Tenant) -> None:
    start = threading.Barrier(THREADS)
    backend_pids: set[int] = set()

    def evaluate() -> list[int]:
        try:
            start.wait(timeout=30)
            crossed = usage_thresholds_evaluate(
                tenant=committed_tenant, meter="api_calls", used=100_000, limit=100_000, period="2026-11"
            )
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                backend_pids.add(cursor.fetchone()[0])
            return crossed
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(lambda _: evaluate(), range(THREADS)))

    assert len(backend_pids) == THREADS  # one PostgreSQL session per thread
    assert sorted(threshold for result in results for threshold in result) == [50, 80, 100]
    with schema_context(committed_tenant.schema_name):
        assert sorted(UsageAlert.objects.values_list("threshold", flat=True)) == [50, 80, 100]
        assert Notification.objects.count() == 3 * 2  # owner and admin
        assert sorted(WebhookEvent.objects.filter(type__startswith="usage.").values_list("type", flat=True)) == [
            "usage.limit_reached",
            "usage.threshold_reached",
            "usage.threshold_reached",
        ]
        assert not UsageAlert.objects.filter(email_sent_at__isnull=True).exists()
    assert sorted(m.subject for m in mail.outbox) == sorted(
        f"[{committed_tenant.name}] {subject}"
        for subject in (
            "50% of your API calls limit used",
            "80% of your API calls limit used",
            "Limit reached: API calls",
        )
    )

    # A retry of every caller afterwards changes nothing.
    assert (
        usage_thresholds_evaluate(
            tenant=committed_tenant, meter="api_calls", used=100_000, limit=100_000, period="2026-11"
        )
        == []
    )
    assert len(mail.outbox) == 3
