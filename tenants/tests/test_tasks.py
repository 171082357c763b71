"""Tenant tasks on a real Celery worker (in this process, over the test Redis broker).

The worker runs on its own thread and database connection, so it only sees committed rows:
these tests commit uniquely named tenants (outside pytest-django's transaction, whose flush
would wipe the public schema) and remove what they leave behind.
"""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context, schema_exists

from audit.models import AuditEvent
from config.celery import app as celery_app
from tenants.context import current_schema
from tenants.models import Domain, Tenant
from tenants.services import tenant_request_deletion
from tenants.tasks import tenants_purge_due_deletions_task
from testing.celery_worker import ACTOR, committed_tenant, purge_now

pytestmark = [
    pytest.mark.celery_worker,
    # celery 5.7's Redis result backend still calls redis-py's deprecated setex.
    pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning"),
]


@celery_app.task(name="tenants.tests.schema_probe")
def schema_probe_task() -> str:
    """Test-only: reports the schema the worker ran the task in."""
    return current_schema()


def test_purge_task_drops_tenants_whose_grace_period_ended(worker: None) -> None:
    due = committed_tenant("purge-due")
    kept = committed_tenant("purge-kept")
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
                purge_now(tenant)


def test_task_runs_in_the_schema_it_was_sent_from(worker: None) -> None:
    tenant = committed_tenant("task-schema")
    try:
        assert schema_probe_task.delay().get(timeout=30) == "public"
        with schema_context(tenant.schema_name):
            assert schema_probe_task.delay().get(timeout=30) == tenant.schema_name
        assert schema_probe_task.delay().get(timeout=30) == "public"
    finally:
        purge_now(tenant)
