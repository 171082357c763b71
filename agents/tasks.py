"""Celery entry points for delegated tasks (thin: the work is in agents.task_runner)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone
from django_tenants.utils import tenant_context

from agents.task_runner import agent_task_run
from agents.task_services import agent_tasks_stale_queued_ids, task_enqueue
from config.celery import app
from tenants.selectors import tenant_list_live

logger = logging.getLogger(__name__)

# A queued task older than this was probably never sent (a broker outage at commit): resend it.
REQUEUE_AFTER = timedelta(minutes=2)


@app.task(acks_late=True, ignore_result=True)
def agent_task_run_task(*, task_id: str) -> None:
    """Run one delegated task in the schema named by the task's `_schema_name` header."""
    agent_task_run(task_id=task_id)


@app.task(acks_late=True, ignore_result=True)
def agent_tasks_requeue_task() -> int:
    """Every few minutes: send again the tasks left `queued` (running them twice is harmless)."""
    before = timezone.now() - REQUEUE_AFTER
    sent = 0
    for tenant in tenant_list_live().iterator():
        with tenant_context(tenant):
            for task_id in agent_tasks_stale_queued_ids(before=before):
                task_enqueue(task_id=task_id)
                sent += 1
    if sent:
        logger.info("requeued %d delegated tasks", sent)
    return sent
