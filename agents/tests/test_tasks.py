"""Delegated tasks through their services and the runner: who may delegate to whom, approval
against the daily budget, running with the local provider, fan-out to reports, failures and
cancellation leaving the chain consistent. (The Celery worker run is in test_tasks_worker.py.)"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from agents.budgets import agent_budget_consume, agent_spend_today
from agents.models import Agent, AgentTask
from agents.services import agent_update
from agents.task_runner import agent_task_run
from agents.task_services import MAX_TASK_DEPTH, agent_task_approve, agent_task_cancel, agent_task_create
from agents.tests.factories import TESTS, AgentFactory, TeamFactory
from audit.models import AuditEvent
from config.errors import InvalidTransition, ValidationFailed
from usage import store
from usage.meters import Meter, UsagePeriod


@pytest.fixture
def alpha(tenant_a):
    with schema_context(tenant_a.schema):
        yield tenant_a


@dataclass
class Org:
    manager: Agent
    lead: Agent  # reports to the manager
    report: Agent  # reports to the lead (so to the manager transitively)
    teammate: Agent  # in the manager's team, reports to nobody
    outsider: Agent  # neither


@pytest.fixture
def org(alpha) -> Org:
    team = TeamFactory.create()
    manager = AgentFactory.create(
        name="Manager", type="manager", status="active", tools=["delegate_task"], team_id=team.pk
    )
    lead = AgentFactory.create(name="Lead", status="active", manager_id=manager.pk, tools=["delegate_task"])
    report = AgentFactory.create(name="Report", status="active", manager_id=lead.pk)
    teammate = AgentFactory.create(name="Teammate", status="active", team_id=team.pk)
    outsider = AgentFactory.create(name="Outsider", status="active")
    return Org(manager, lead, report, teammate, outsider)


def _reload(task: AgentTask) -> AgentTask:
    return AgentTask.objects.get(pk=task.pk)


# --- Creating and the delegation rules -----------------------------------------------------------


def test_agent_task_create_by_a_person_queues_it_with_an_estimate_and_audits(org):
    task = agent_task_create(agent=org.outsider, title="  Summarise Q3  ", text="Use the notes.", actor=TESTS)

    assert (task.status, task.title, task.input) == (
        "queued",
        "Summarise Q3",
        {"text": "Use the notes.", "delegate_to": []},
    )
    assert (task.created_by_type, task.created_by_label, task.delegated_by) == ("system", "tests", None)
    assert task.estimated_tokens == 1024 + 7  # max_tokens + ceil(len("\nSummarise Q3\nUse the notes.") / 4)
    assert AuditEvent.objects.get(action="agent_task.created", target_id=task.pk).data == {
        "agent": org.outsider.pk,
        "status": "queued",
    }


@pytest.mark.parametrize("status", ["draft", "paused"])
def test_agent_task_create_refuses_an_agent_that_is_not_active(alpha, status):
    agent = AgentFactory.create(status="active" if status == "paused" else "draft")
    if status == "paused":
        agent = agent_update(agent=agent, actor=TESTS, changes={"status": "paused"})

    with pytest.raises(ValidationFailed) as excinfo:
        agent_task_create(agent=agent, title="Work", actor=TESTS)

    assert "only an active agent can take tasks" in excinfo.value.errors["agent"][0]
    assert not AgentTask.objects.exists()


def test_agent_may_delegate_to_its_reports_transitively_and_its_team(org):
    for assignee in (org.lead, org.report, org.teammate):
        task = agent_task_create(agent=assignee, title="Work", actor=TESTS, delegated_by=org.manager)
        assert (task.delegated_by_id, task.created_by_type, task.created_by_id) == (
            org.manager.pk,
            "agent",
            org.manager.pk,
        )


@pytest.mark.parametrize(
    ("delegator", "assignee", "message"),
    [
        ("manager", "outsider", "neither in “Manager”'s reporting line nor in its team"),
        ("report", "lead", "does not have the delegate_task tool"),  # upwards, and without the tool
        ("lead", "manager", "neither in “Lead”'s reporting line"),  # its own manager is not a report
        ("manager", "manager", "cannot delegate a task to itself"),
    ],
)
def test_agent_delegation_outside_its_line_and_team_is_refused(org, delegator, assignee, message):
    with pytest.raises(ValidationFailed) as excinfo:
        agent_task_create(agent=getattr(org, assignee), title="Work", actor=TESTS, delegated_by=getattr(org, delegator))

    assert message in excinfo.value.errors["delegate_to"][0]
    assert not AgentTask.objects.exists()


def test_an_agent_that_is_not_active_cannot_delegate(org):
    agent_update(agent=org.manager, actor=TESTS, changes={"status": "paused"})

    with pytest.raises(ValidationFailed) as excinfo:
        agent_task_create(agent=org.lead, title="Work", actor=TESTS, delegated_by=Agent.objects.get(pk=org.manager.pk))

    assert excinfo.value.errors["delegated_by"] == ["“Manager” is paused: only an active agent delegates."]


def test_agent_tasks_stale_queued_ids_finds_tasks_never_sent(org):
    from datetime import timedelta

    from django.utils import timezone

    from agents.task_services import agent_tasks_stale_queued_ids

    old = agent_task_create(agent=org.outsider, title="Lost in the broker", actor=TESTS)
    recent = agent_task_create(agent=org.outsider, title="Just queued", actor=TESTS)
    AgentTask.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    done = agent_task_create(agent=org.outsider, title="Done long ago", actor=TESTS)
    AgentTask.objects.filter(pk=done.pk).update(created_at=timezone.now() - timedelta(minutes=10), status="done")

    stale = agent_tasks_stale_queued_ids(before=timezone.now() - timedelta(minutes=2))

    assert stale == [old.pk] and recent.pk not in stale


def test_agent_task_create_checks_delegate_to_against_the_assignees_line(org):
    with pytest.raises(ValidationFailed) as excinfo:
        agent_task_create(agent=org.manager, title="Plan", actor=TESTS, delegate_to=[org.lead.pk, org.outsider.pk])
    assert "Outsider" in excinfo.value.errors["delegate_to"][0]

    with pytest.raises(ValidationFailed) as excinfo:
        agent_task_create(agent=org.manager, title="Plan", actor=TESTS, delegate_to=["agt_nope"])
    assert excinfo.value.errors["delegate_to"] == ["No such agent: agt_nope."]


def test_agent_task_nesting_is_bounded(org):
    parent = None
    for _ in range(MAX_TASK_DEPTH):
        parent = agent_task_create(agent=org.report, title="Deeper", actor=TESTS, parent=parent)

    with pytest.raises(ValidationFailed) as excinfo:
        agent_task_create(agent=org.report, title="Too deep", actor=TESTS, parent=parent)
    assert set(excinfo.value.errors) == {"parent"}


# --- Approval against the daily budget ----------------------------------------------------------


def test_agent_task_over_the_remaining_budget_waits_for_approval_then_runs_past_it(org):
    agent = agent_update(agent=org.outsider, actor=TESTS, changes={"daily_token_budget": 1500})
    agent_budget_consume(agent=agent, tokens=1000, cost=Decimal("0"))

    task = agent_task_create(agent=agent, title="Big job", actor=TESTS)
    assert task.status == "waiting_approval"
    assert task.approval_reason == "Estimated 1,027 tokens; 500 left of today's token budget."
    agent_task_run(task_id=task.pk)
    assert _reload(task).status == "waiting_approval"  # the runner leaves it alone

    approved = agent_task_approve(task=task, actor=TESTS)
    assert (approved.status, approved.approved_by_label) == ("queued", "tests")
    agent_task_run(task_id=task.pk)

    task = _reload(task)
    assert task.status == "done" and task.total_tokens > 0
    assert agent_spend_today(agent=agent)["tokens"] == 1000 + task.total_tokens  # past the budget, approved
    with pytest.raises(InvalidTransition):
        agent_task_approve(task=task, actor=TESTS)


def test_agent_task_reject_cancels_it_with_the_reason(org):
    from agents.task_services import agent_task_reject

    agent = agent_update(agent=org.outsider, actor=TESTS, changes={"daily_token_budget": 10})
    task = agent_task_create(agent=agent, title="Big job", actor=TESTS)

    rejected = agent_task_reject(task=task, actor=TESTS, reason="Not today")

    assert (rejected.status, rejected.rejection_reason, rejected.error) == (
        "cancelled",
        "Not today",
        "Rejected by tests: Not today.",
    )
    assert rejected.rejected_at is not None and rejected.finished_at is not None
    with pytest.raises(InvalidTransition):
        agent_task_reject(task=task, actor=TESTS)


def test_agent_task_queued_but_budget_used_up_before_it_runs_waits_for_approval(org):
    agent = agent_update(agent=org.outsider, actor=TESTS, changes={"daily_token_budget": 5000})
    task = agent_task_create(agent=agent, title="Job", actor=TESTS)
    agent_budget_consume(agent=agent, tokens=5000, cost=Decimal("0"))

    agent_task_run(task_id=task.pk)

    task = _reload(task)
    assert task.status == "waiting_approval" and "daily tokens budget" in task.approval_reason
    assert task.total_tokens == 0


# --- Running ------------------------------------------------------------------------------------


def test_agent_task_run_records_tokens_meters_them_and_consumes_the_budget(org, tenant_a):
    task = agent_task_create(agent=org.outsider, title="Answer", text="What is our refund policy?", actor=TESTS)

    agent_task_run(task_id=task.pk)
    agent_task_run(task_id=task.pk)  # a second delivery of the Celery message changes nothing

    task = _reload(task)
    assert (task.status, task.model, task.error) == ("done", "local/agentry-local", "")
    assert task.result  # the local provider's (deterministic) answer
    assert task.prompt_tokens > 0 and task.completion_tokens > 0 and task.cost == Decimal("0")
    assert task.started_at <= task.finished_at
    assert agent_spend_today(agent=org.outsider)["tokens"] == task.total_tokens
    period = UsagePeriod.of(task.finished_at).key
    counted = store.counters_get(schema=tenant_a.schema, meters=[Meter.TOKENS], period=period)
    assert counted[Meter.TOKENS] == task.total_tokens


def test_agent_task_run_fails_the_task_when_the_agent_was_paused_meanwhile(org):
    task = agent_task_create(agent=org.outsider, title="Job", actor=TESTS)
    agent_update(agent=org.outsider, actor=TESTS, changes={"status": "paused"})

    agent_task_run(task_id=task.pk)

    task = _reload(task)
    assert (task.status, task.error_code, task.error) == ("failed", "agent_inactive", "“Outsider” is paused.")


def test_agent_task_provider_failure_fails_the_task_without_spending(org, monkeypatch):
    from conversations.providers.local import LocalProvider

    def broken(self, **kwargs):
        raise ConnectionError("model endpoint down")

    monkeypatch.setattr(LocalProvider, "complete", broken)
    task = agent_task_create(agent=org.outsider, title="Job", actor=TESTS)

    agent_task_run(task_id=task.pk)

    task = _reload(task)
    assert (task.status, task.error_code, task.total_tokens) == ("failed", "provider_error", 0)
    assert agent_spend_today(agent=org.outsider)["tokens"] == 0


# --- Fan-out to reports -------------------------------------------------------------------------


def _fan_out(org: Org) -> tuple[AgentTask, list[AgentTask]]:
    parent = agent_task_create(
        agent=org.manager,
        title="Weekly report",
        text="Summarise your week.",
        actor=TESTS,
        delegate_to=[org.lead.pk, org.teammate.pk],
    )
    agent_task_run(task_id=parent.pk)
    return _reload(parent), list(AgentTask.objects.filter(parent=parent).order_by("created_at", "id"))


def test_manager_task_fans_out_to_its_reports_and_completes_with_their_results(org):
    parent, children = _fan_out(org)

    assert parent.status == "running" and parent.total_tokens == 0  # the manager itself asks no model
    assert [(c.agent_id, c.delegated_by_id, c.status, c.title) for c in children] == [
        (org.lead.pk, org.manager.pk, "queued", "Weekly report"),
        (org.teammate.pk, org.manager.pk, "queued", "Weekly report"),
    ]
    agent_task_run(task_id=children[0].pk)
    assert _reload(parent).status == "running"  # one child still to go
    agent_task_run(task_id=children[1].pk)

    parent = _reload(parent)
    children = [_reload(c) for c in children]
    assert parent.status == "done" and parent.finished_at is not None
    assert parent.result == f"## Lead\n{children[0].result}\n\n## Teammate\n{children[1].result}"


def test_manager_fan_out_fails_when_a_child_fails_and_keeps_the_others_results(org, monkeypatch):
    parent, children = _fan_out(org)
    agent_task_run(task_id=children[0].pk)
    from conversations.providers.local import LocalProvider

    monkeypatch.setattr(LocalProvider, "complete", lambda self, **kw: (_ for _ in ()).throw(TimeoutError()))
    agent_task_run(task_id=children[1].pk)

    parent = _reload(parent)
    assert (parent.status, parent.error_code) == ("failed", "subtask_failed")
    assert parent.error == "Sub-tasks did not complete: Teammate (failed)."
    assert _reload(children[0]).status == "done"


def test_manager_fan_out_refused_at_run_time_fails_the_parent_and_creates_no_children(org):
    parent = agent_task_create(agent=org.manager, title="Plan", actor=TESTS, delegate_to=[org.lead.pk, org.report.pk])
    agent_update(agent=org.report, actor=TESTS, changes={"status": "paused"})

    agent_task_run(task_id=parent.pk)

    parent = _reload(parent)
    assert (parent.status, parent.error_code) == ("failed", "delegation_refused")
    assert "only an active agent can take tasks" in parent.error
    assert not AgentTask.objects.filter(parent=parent).exists()  # the first child was rolled back too


def test_cancelling_a_parent_cancels_its_unfinished_children(org):
    parent, children = _fan_out(org)
    agent_task_run(task_id=children[0].pk)

    agent_task_cancel(task=parent, actor=TESTS)

    assert [_reload(t).status for t in (parent, *children)] == ["cancelled", "done", "cancelled"]
    agent_task_run(task_id=children[1].pk)  # its message was already in the queue: nothing happens
    assert _reload(children[1]).total_tokens == 0
    with pytest.raises(InvalidTransition):
        agent_task_cancel(task=parent, actor=TESTS)


def test_cancelling_one_child_fails_the_parent(org):
    parent, children = _fan_out(org)
    agent_task_run(task_id=children[0].pk)

    agent_task_cancel(task=children[1], actor=TESTS)

    parent = _reload(parent)
    assert (parent.status, parent.error) == ("failed", "Sub-tasks did not complete: Teammate (cancelled).")


def test_a_task_cancelled_while_its_model_answers_keeps_the_spend_and_drops_the_answer(org, monkeypatch):
    from conversations.providers.local import LocalProvider

    task = agent_task_create(agent=org.outsider, title="Job", actor=TESTS)
    real_complete = LocalProvider.complete

    def cancel_meanwhile(self, **kwargs):
        agent_task_cancel(task=task, actor=TESTS)
        return real_complete(self, **kwargs)

    monkeypatch.setattr(LocalProvider, "complete", cancel_meanwhile)
    agent_task_run(task_id=task.pk)

    task = _reload(task)
    assert (task.status, task.result) == ("cancelled", "")
    assert task.total_tokens > 0 and agent_spend_today(agent=org.outsider)["tokens"] == task.total_tokens


def test_agent_task_fails_with_quota_exceeded_when_the_months_tokens_are_used_up(org, tenant_a, monkeypatch):
    from billing.tests.factories import override_give
    from conversations.providers.local import LocalProvider

    def must_not_be_called(self, **kwargs):
        raise AssertionError("the model was asked although the quota is used up")

    monkeypatch.setattr(LocalProvider, "complete", must_not_be_called)
    period = UsagePeriod.of(timezone.now())
    store.usage_redis().set(store.counter_key(tenant_a.schema, Meter.TOKENS, period.key), 500)
    override_give(tenant_a.tenant, limits={"tokens_per_month": 500})
    task = agent_task_create(agent=org.outsider, title="Job", actor=TESTS)

    agent_task_run(task_id=task.pk)

    task = _reload(task)
    assert (task.status, task.error_code, task.total_tokens) == ("failed", "quota_exceeded", 0)
    assert task.error.startswith("The workspace's tokens for this month are used up")
    assert agent_spend_today(agent=org.outsider)["tokens"] == 0
