"""Delegation on a real Celery worker (over the test Redis broker): a manager's task fans out to
its two reports, the worker runs each child in the tenant's own schema, and the parent completes
with their results. Committed data: the tenant is created for the test and purged afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django_tenants.utils import schema_context

from agents.budgets import agent_spend_today
from agents.models import AgentTask
from agents.task_services import agent_task_create
from agents.tests.factories import TESTS, AgentFactory
from testing.celery_worker import celery_worker_running, committed_tenant, purge_now, wait_until

pytestmark = [
    pytest.mark.celery_worker,
    # celery 5.7's Redis result backend still calls redis-py's deprecated setex.
    pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning"),
]


@pytest.fixture(scope="module")
def worker(django_db_setup: None, django_db_blocker) -> Iterator[None]:  # type: ignore[no-untyped-def]
    with django_db_blocker.unblock(), celery_worker_running():
        yield


def _status(schema: str, task_id: str) -> str:
    with schema_context(schema):
        return AgentTask.objects.get(pk=task_id).status


def test_worker_runs_a_manager_task_through_two_reports_to_done(worker: None) -> None:
    tenant = committed_tenant("deleg")
    schema = tenant.schema_name
    try:
        with schema_context(schema):
            manager = AgentFactory.create(name="Manager", status="active", type="manager", tools=["delegate_task"])
            reports = [
                AgentFactory.create(name=name, status="active", manager_id=manager.pk) for name in ("North", "South")
            ]
            parent = agent_task_create(
                agent=manager,
                title="Quarterly numbers",
                text="Report your region's numbers.",
                delegate_to=[report.pk for report in reports],
                actor=TESTS,
            )  # committed (no test transaction here): queued to the worker on commit

        wait_until(lambda: _status(schema, parent.pk) in ("done", "failed"), timeout=60)

        with schema_context(schema):
            parent.refresh_from_db()
            children = list(AgentTask.objects.filter(parent=parent).order_by("created_at", "id"))
            assert (parent.status, parent.error) == ("done", "")
            assert [(c.agent.name, c.status, c.delegated_by_id) for c in children] == [
                ("North", "done", manager.pk),
                ("South", "done", manager.pk),
            ]
            assert parent.result == "\n\n".join(f"## {c.agent.name}\n{c.result}" for c in children)
            for child, report in zip(children, reports, strict=True):
                assert child.total_tokens > 0 and child.finished_at is not None
                assert agent_spend_today(agent=report)["tokens"] == child.total_tokens
            assert agent_spend_today(agent=manager)["tokens"] == 0
    finally:
        purge_now(tenant)
