"""Every write to delegated tasks except running them (agents.task_runner): create (assign or
delegate), approve, reject and cancel. Audited; queued tasks go to Celery on commit.

Locks on a chain of tasks are always taken from the root down (agents.task_selectors.
task_chain_lock), so a cancel and a child finishing at the same time cannot deadlock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from agents.budgets import agent_budget_remaining
from agents.models import Agent, AgentStatus, AgentTask, AgentTool, TaskStatus
from agents.task_selectors import agent_delegation_reachable_ids, task_chain_lock, task_depth, task_descendants
from agents.validation import text_checked
from audit.models import ActorType
from audit.services import Actor, audit_record
from config.errors import InvalidTransition, ValidationFailed
from tenants.context import current_schema

MAX_TASK_DEPTH = 5  # a task, its sub-tasks, theirs… at most this many levels
MAX_DELEGATE_TO = 20
MAX_TASK_TEXT = 20000
AGENT_CREATOR = "agent"  # created_by_type of a task an agent delegated
CANCELLABLE_STATUSES = (TaskStatus.QUEUED, TaskStatus.WAITING_APPROVAL, TaskStatus.RUNNING)


@dataclass(frozen=True)
class TaskEstimate:
    tokens: int
    cost: Decimal


def agent_actor(agent: Agent) -> Actor:
    """The audit actor for what an agent does on its own (a fan-out)."""
    return Actor(type=ActorType.SYSTEM, id=agent.pk, label=f"agent {agent.name}")


def task_estimate(*, agent: Agent, title: str, text: str) -> TaskEstimate:
    """Tokens and cost a task may use: its prompt (ceil(characters / 4), as the local provider
    counts) plus the agent's whole `max_tokens` for the answer, priced as the agent's model."""
    from conversations.costs import token_cost

    config = agent.config or {}
    prompt_tokens = math.ceil(len(f"{agent.system_prompt}\n{title}\n{text}") / 4)
    completion_tokens = int(config.get("max_tokens") or 0)
    model = f"{config.get('provider', 'local')}/{config.get('model', '')}"
    cost = token_cost(model=model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
    return TaskEstimate(tokens=prompt_tokens + completion_tokens, cost=cost)


def _approval_reason(agent: Agent, estimate: TaskEstimate) -> str:
    """Why a task needs a person's approval before it runs, or "" when it fits the budget."""
    remaining = agent_budget_remaining(agent=agent)
    if remaining["tokens"] is not None and estimate.tokens > remaining["tokens"]:
        return f"Estimated {estimate.tokens:,} tokens; {remaining['tokens']:,} left of today's token budget."
    if remaining["cost"] is not None and estimate.cost > remaining["cost"]:
        return f"Estimated cost {estimate.cost}; {remaining['cost']} left of today's money budget."
    return ""


def _agent_error(message: str, field: str = "agent") -> ValidationFailed:
    return ValidationFailed(message, errors={field: [message]})


def assignee_checked(agent: Agent) -> None:
    if agent.status != AgentStatus.ACTIVE:
        raise _agent_error(f"“{agent.name}” is {agent.status}: only an active agent can take tasks.")


def delegation_checked(*, delegator: Agent, assignee: Agent) -> None:
    """An agent may hand work only to its reports (transitively) or its team-mates, and only
    with the `delegate_task` tool. Raises ValidationFailed."""
    if delegator.status != AgentStatus.ACTIVE:
        raise _agent_error(f"“{delegator.name}” is {delegator.status}: only an active agent delegates.", "delegated_by")
    if AgentTool.DELEGATE_TASK not in (delegator.tools or []):
        raise _agent_error(f"“{delegator.name}” does not have the delegate_task tool.", "delegate_to")
    if assignee.pk == delegator.pk:
        raise _agent_error("An agent cannot delegate a task to itself.", "delegate_to")
    if assignee.pk not in agent_delegation_reachable_ids(agent=delegator):
        raise _agent_error(
            f"“{assignee.name}” is neither in “{delegator.name}”'s reporting line nor in its team.", "delegate_to"
        )


def _delegates_checked(*, agent: Agent, delegate_to: list[str]) -> list[Agent]:
    ids = list(dict.fromkeys(delegate_to))
    if len(ids) > MAX_DELEGATE_TO:
        raise _agent_error(f"At most {MAX_DELEGATE_TO} agents per task.", "delegate_to")
    found = {a.pk: a for a in Agent.objects.filter(pk__in=[i for i in ids if "\x00" not in i])}
    missing = [i for i in ids if i not in found]
    if missing:
        raise _agent_error(f"No such agent: {', '.join(missing)}.", "delegate_to")
    for assignee in found.values():
        delegation_checked(delegator=agent, assignee=assignee)
        assignee_checked(assignee)
    return [found[i] for i in ids]


def agent_task_create(
    *,
    agent: Agent,
    title: str,
    actor: Actor,
    text: str = "",
    delegate_to: list[str] | None = None,
    delegated_by: Agent | None = None,
    parent: AgentTask | None = None,
) -> AgentTask:
    """Assign a task to `agent` (by a person or key), or delegate it (`delegated_by` an agent).

    People may assign to any active agent; an agent only along `delegation_checked`. With
    `delegate_to` the task fans out to those agents when it runs (the assignee must be allowed to
    delegate to each). A task whose estimate exceeds what is left of the agent's daily budget
    waits for approval; otherwise it is queued and runs on Celery after commit.
    Raises ValidationFailed.
    """
    title = text_checked("title", title, max_length=200, required=True)
    text = text_checked("text", text, max_length=MAX_TASK_TEXT)
    assignee_checked(agent)
    if delegated_by is not None:
        delegation_checked(delegator=delegated_by, assignee=agent)
    delegates = _delegates_checked(agent=agent, delegate_to=delegate_to) if delegate_to else []
    if parent is not None and task_depth(task=parent) + 1 >= MAX_TASK_DEPTH:
        raise _agent_error(f"Tasks can be nested at most {MAX_TASK_DEPTH} levels deep.", "parent")
    estimate = task_estimate(agent=agent, title=title, text=text)
    reason = "" if delegates else _approval_reason(agent, estimate)
    creator = delegated_by
    with transaction.atomic():
        task = AgentTask.objects.create(
            agent=agent,
            delegated_by=delegated_by,
            parent=parent,
            title=title,
            input={"text": text, "delegate_to": [a.pk for a in delegates]},
            status=TaskStatus.WAITING_APPROVAL if reason else TaskStatus.QUEUED,
            estimated_tokens=estimate.tokens,
            estimated_cost=estimate.cost,
            approval_reason=reason,
            created_by_type=AGENT_CREATOR if creator else actor.type,
            created_by_id=creator.pk if creator else actor.id,
            created_by_label=creator.name if creator else actor.label,
        )
        data: dict[str, Any] = {"agent": agent.pk, "status": task.status}
        if delegated_by is not None:
            data["delegated_by"] = delegated_by.pk
        if parent is not None:
            data["parent"] = parent.pk
        audit_record(action="agent_task.created", actor=actor, target=task, data=data)
        if task.status == TaskStatus.QUEUED:
            task_enqueue_on_commit(task_id=task.pk)
    return task


def task_enqueue(*, task_id: str) -> None:
    """Send the task to Celery now, to run in this schema."""
    from agents.tasks import agent_task_run_task

    agent_task_run_task.apply_async(kwargs={"task_id": task_id}, headers={"_schema_name": current_schema()})


def task_enqueue_on_commit(*, task_id: str) -> None:
    """Run the task on Celery once committed, in this schema. A broker outage does not fail the
    caller (robust); the task stays `queued` and agents.tasks.agent_tasks_requeue_task resends it."""
    schema_name = current_schema()

    def send() -> None:
        from django_tenants.utils import schema_context

        with schema_context(schema_name):
            task_enqueue(task_id=task_id)

    transaction.on_commit(send, robust=True)


def agent_tasks_stale_queued_ids(*, before: datetime) -> list[str]:
    """Tasks still `queued` that were queued (created or approved) before `before`."""
    stale = AgentTask.objects.filter(status=TaskStatus.QUEUED, created_at__lt=before).exclude(approved_at__gte=before)
    return list(stale.values_list("pk", flat=True)[:1000])


def _locked(task: AgentTask) -> AgentTask:
    return task_chain_lock(task_id=task.pk)[-1]


def agent_task_approve(*, task: AgentTask, actor: Actor) -> AgentTask:
    """A person lets a task that waits for approval run, past the agent's daily budget.
    Raises InvalidTransition unless it is `waiting_approval`."""
    with transaction.atomic():
        task = _locked(task)
        _require_status(task, TaskStatus.QUEUED, (TaskStatus.WAITING_APPROVAL,))
        task.status, task.approved_at, task.approved_by_label = TaskStatus.QUEUED, timezone.now(), actor.label
        task.save(update_fields=["status", "approved_at", "approved_by_label", "updated_at"])
        audit_record(action="agent_task.approved", actor=actor, target=task, data={"reason": task.approval_reason})
        task_enqueue_on_commit(task_id=task.pk)
    return task


def agent_task_reject(*, task: AgentTask, actor: Actor, reason: str = "") -> AgentTask:
    """A person refuses a task that waits for approval: it is cancelled (and so is its parent's
    fan-out, which fails). Raises InvalidTransition unless it is `waiting_approval`."""
    from agents.task_runner import task_parent_settle

    reason = text_checked("reason", reason, max_length=500)
    with transaction.atomic():
        task = _locked(task)
        _require_status(task, TaskStatus.CANCELLED, (TaskStatus.WAITING_APPROVAL,))
        now = timezone.now()
        task.status, task.finished_at = TaskStatus.CANCELLED, now
        task.rejected_at, task.rejected_by_label, task.rejection_reason = now, actor.label, reason
        task.error = f"Rejected by {actor.label}" + (f": {reason.rstrip('.')}." if reason else ".")
        task.save()
        audit_record(action="agent_task.rejected", actor=actor, target=task, data={"reason": reason})
        task_parent_settle(task=task)
    return task


def agent_task_cancel(*, task: AgentTask, actor: Actor) -> AgentTask:
    """Cancel a task that has not finished, and every unfinished task below it. A running model
    call is not interrupted: its tokens are still recorded, its answer is dropped.
    Raises InvalidTransition for a finished task."""
    from agents.task_runner import task_parent_settle

    with transaction.atomic():
        task = _locked(task)
        _require_status(task, TaskStatus.CANCELLED, CANCELLABLE_STATUSES)
        now = timezone.now()
        cancelled = [task, *(t for t in task_descendants(task=task, lock=True) if not t.is_finished)]
        for each in cancelled:
            each.status, each.finished_at = TaskStatus.CANCELLED, now
            each.error = f"Cancelled by {actor.label}."
            each.save(update_fields=["status", "finished_at", "error", "updated_at"])
        audit_record(action="agent_task.cancelled", actor=actor, target=task, data={"tasks": [t.pk for t in cancelled]})
        task_parent_settle(task=task)
    return task


def _require_status(task: AgentTask, to_status: str, allowed: tuple[str, ...]) -> None:
    if task.status not in allowed:
        raise InvalidTransition(
            f"A {task.status} task cannot become {to_status}.",
            extra={"from_status": task.status, "to_status": to_status},
        )
