"""Retention end to end on a real Celery worker: the daily dispatcher queues a purge in each
workspace that has a retention setting, and the worker purges that workspace's schema only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from conversations.models import Conversation
from conversations.retention import conversation_retention_dispatch_task, conversation_retention_set
from leads.tests.factories import conversation_for_tests
from testing.celery_worker import ACTOR, celery_worker_running, committed_tenant, purge_now, wait_until

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning"),
]


@pytest.fixture(scope="module")
def worker(django_db_setup: None, django_db_blocker) -> Iterator[None]:  # type: ignore[no-untyped-def]
    with django_db_blocker.unblock(), celery_worker_running():
        yield


def _conversations(schema: str) -> set[str]:
    with schema_context(schema):
        return set(Conversation.objects.values_list("session_id", flat=True))


def test_worker_purges_old_conversations_per_workspace_setting(worker: None) -> None:
    keeping, purging = committed_tenant("ret-keep"), committed_tenant("ret-purge")
    try:
        for tenant in (keeping, purging):
            with schema_context(tenant.schema_name):
                conversation_for_tests(session_id="old", last_message_at=timezone.now() - timedelta(days=45))
                conversation_for_tests(session_id="recent", last_message_at=timezone.now() - timedelta(days=2))
        conversation_retention_set(tenant=purging, days=30, actor=ACTOR)

        queued = conversation_retention_dispatch_task.delay().get(timeout=30)

        assert purging.schema_name in queued and keeping.schema_name not in queued
        wait_until(lambda: _conversations(purging.schema_name) == {"recent"})
        assert _conversations(keeping.schema_name) == {"old", "recent"}
    finally:
        purge_now(keeping)
        purge_now(purging)
