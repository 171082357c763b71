"""Tenant tasks on a real Celery worker (in this process, over the test Redis broker).

The worker runs on its own thread and database connection, so it only sees committed rows:
these tests commit uniquely named tenants (outside pytest-django's transaction, whose flush
would wipe the public schema) and remove what they leave behind.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone
from django_tenants.utils import schema_context, schema_exists

from audit.models import AuditEvent
from audit.services import Actor
from config.celery import app as celery_app
from tenants.context import current_schema
from tenants.models import Domain, Tenant
from tenants.services import tenant_provision, tenant_purge, tenant_request_deletion
from tenants.tasks import tenants_purge_due_deletions_task

pytestmark = [
    pytest.mark.celery_worker,
    # celery 5.7's Redis result backend still calls redis-py's deprecated setex.
    pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning"),
]

ACTOR = Actor.system("worker-tests")


@celery_app.task(name="tenants.tests.schema_probe")
def schema_probe_task() -> str:
    """Test-only: reports the schema the worker ran the task in."""
    return current_schema()


@pytest.fixture(scope="module")
def worker(django_db_setup: None, django_db_blocker) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """A solo-pool worker on the test broker; database access stays open while it runs."""
    hijack_root_logger = celery_app.conf.worker_hijack_root_logger
    celery_app.conf.worker_hijack_root_logger = False  # keep the suite's logging configuration
    try:
        with django_db_blocker.unblock():
            celery_app.control.purge()  # the test broker only: drop messages earlier tests left unconsumed
            with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
                yield
    finally:
        celery_app.conf.worker_hijack_root_logger = hijack_root_logger


def _committed_tenant(prefix: str) -> Tenant:
    slug = f"{prefix}-{uuid.uuid4().hex[:8]}"
    return tenant_provision(
        slug=slug,
        name=f"{slug} Ltd",
        owner_email=f"owner@{slug}.test",
        owner_password=None,
        plan_code="starter",
        actor=ACTOR,
    ).tenant


def _purge_now(tenant: Tenant) -> None:
    """Clean-up: end the grace period of a tenant a test left behind and purge it."""
    tenant.refresh_from_db()
    if not tenant.is_deleted:
        tenant_request_deletion(tenant=tenant, confirm_slug=tenant.slug, actor=ACTOR, grace_days=0)
    Tenant.objects.filter(pk=tenant.pk).update(purge_after=timezone.now() - timedelta(seconds=1))
    tenant.refresh_from_db()
    tenant_purge(tenant=tenant, actor=ACTOR)


def test_purge_task_drops_tenants_whose_grace_period_ended(worker: None) -> None:
    due = _committed_tenant("purge-due")
    kept = _committed_tenant("purge-kept")
    try:
        tenant_request_deletion(tenant=due, confirm_slug=due.slug, actor=ACTOR, grace_days=0)
        tenant_request_deletion(tenant=kept, confirm_slug=kept.slug, actor=ACTOR, grace_days=30)

        purged = tenants_purge_due_deletions_task.delay().get(timeout=30)

        assert due.slug in purged
        assert kept.slug not in purged
        assert not schema_exists(due.schema_name)
        assert not Tenant.objects.filter(pk=due.pk).exists()
        assert not Domain.objects.filter(tenant_id=due.pk).exists()
        # Beat sends from the public schema, so the worker ran there and the trail survives the purge.
        event = AuditEvent.objects.get(action="tenant.purged", tenant_slug=due.slug)
        assert event.data == {"schema": due.schema_name}
        assert event.actor_label == "deletion-scheduler"
        assert schema_exists(kept.schema_name)
        assert Tenant.objects.filter(pk=kept.pk, deletion_requested_at__isnull=False).exists()
    finally:
        for tenant in (due, kept):
            if Tenant.objects.filter(pk=tenant.pk).exists():
                _purge_now(tenant)


def test_task_runs_in_the_schema_it_was_sent_from(worker: None) -> None:
    tenant = _committed_tenant("task-schema")
    try:
        assert schema_probe_task.delay().get(timeout=30) == "public"
        with schema_context(tenant.schema_name):
            assert schema_probe_task.delay().get(timeout=30) == tenant.schema_name
        assert schema_probe_task.delay().get(timeout=30) == "public"
    finally:
        _purge_now(tenant)
