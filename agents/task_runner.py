"""Running a delegated task (called by the Celery task agents.tasks.agent_task_run_task).

A queued task becomes `running`, then either
- fans out (its input has `delegate_to`): one child task per agent, same title and text, queued
  in the same transaction; the parent stays `running` until every child has finished, then is
  `done` with the children's results joined in order, or `failed` if any child failed or was
  cancelled; or
- asks the agent's model (conversations.providers) once, outside any transaction, and records
  the answer, tokens and cost, meters the tokens and adds them to the agent's daily budget.

Safe to run twice: only a `queued` task starts. Before starting, a task not approved by a person
is checked against the agent's budget; a used-up budget sends it to `waiting_approval`. A task
that would ask the model when the workspace's monthly tokens are used up (and overage is not on)
fails with `quota_exceeded`: approval lifts the agent's budget, never the plan's quota.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from agents.budgets import agent_budget_check, agent_budget_consume
from agents.models import AgentStatus, AgentTask, TaskStatus
from agents.task_selectors import task_chain_lock, task_children
from agents.task_services import agent_actor, agent_task_create
from config.errors import AgentBudgetExceeded, QuotaExceeded, ValidationFailed
from tenants.context import current_tenant
from usage.meters import Meter, TokenType
from usage.quotas import quota_consume
from usage.recorder import usage_record

if TYPE_CHECKING:
    from conversations.providers import Completion

logger = logging.getLogger(__name__)


def agent_task_run(*, task_id: str) -> None:
    """Run one task (see the module docstring). Never raises for the task's own failures: they
    are recorded on the task as `failed` with `error`."""
    task = _start(task_id)
    if task is None or task.input.get("delegate_to"):
        return
    from conversations.providers import provider_for

    try:
        completion = provider_for(task.agent).complete(agent=task.agent, history=[], message=_prompt(task))
    except Exception:  # any provider failure fails this task, never the worker
        logger.exception("model call of task %s failed", task_id)
        _fail(task_id, "The model provider failed to answer.", code="provider_error")
        return
    _complete(task_id, completion)


def _prompt(task: AgentTask) -> str:
    text = task.input.get("text") or ""
    return f"{task.title}\n\n{text}".strip()


def _start(task_id: str) -> AgentTask | None:
    """Move a queued task to running (and fan it out); None when there is nothing to run."""
    with transaction.atomic():
        chain = task_chain_lock(task_id=task_id)
        task = chain[-1]
        if task.status != TaskStatus.QUEUED:
            return None
        if task.agent.status != AgentStatus.ACTIVE:
            error = f"“{task.agent.name}” is {task.agent.status}."
            _finish(task, TaskStatus.FAILED, error=error, code="agent_inactive")
            return None
        if not task.input.get("delegate_to"):
            if not _tokens_left(task):
                return None
            if task.approved_at is None:
                try:
                    agent_budget_check(agent=task.agent)
                except AgentBudgetExceeded as exc:
                    task.status, task.approval_reason = TaskStatus.WAITING_APPROVAL, exc.detail[:300]
                    task.save(update_fields=["status", "approval_reason", "updated_at"])
                    return None
        task.status, task.started_at = TaskStatus.RUNNING, timezone.now()
        task.save(update_fields=["status", "started_at", "updated_at"])
        if task.input.get("delegate_to"):
            _fan_out(task)
    return task


def _tokens_left(task: AgentTask) -> bool:
    """Whether the month's token quota lets the task ask the model (its tokens are counted against
    the quota once known); if not, the task fails with `quota_exceeded` and when the quota resets."""
    try:
        quota_consume(tenant=current_tenant(), meter=Meter.TOKENS, quantity=0, idempotency_id=f"task:{task.pk}:tokens")
    except QuotaExceeded as exc:
        error = f"The workspace's tokens for this month are used up (they reset at {exc.extra['reset_at']})."
        _finish(task, TaskStatus.FAILED, error=error, code="quota_exceeded")
        return False
    return True


def _fan_out(task: AgentTask) -> None:
    """One child per agent of `delegate_to`, all or none: a refused child fails the parent."""
    from agents.models import Agent

    try:
        with transaction.atomic():
            for agent_id in task.input["delegate_to"]:
                agent_task_create(
                    agent=Agent.objects.get(pk=agent_id),
                    title=task.title,
                    text=task.input.get("text") or "",
                    actor=agent_actor(task.agent),
                    delegated_by=task.agent,
                    parent=task,
                )
    except (ValidationFailed, Agent.DoesNotExist) as exc:
        detail = getattr(exc, "detail", "An agent to delegate to no longer exists.")
        _finish(task, TaskStatus.FAILED, error=f"Could not delegate: {detail}", code="delegation_refused")


def _complete(task_id: str, completion: Completion) -> None:
    from conversations.costs import token_cost

    prompt_tokens, completion_tokens, model = completion.prompt_tokens, completion.completion_tokens, completion.model
    cost = token_cost(model=model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
    with transaction.atomic():
        task = task_chain_lock(task_id=task_id)[-1]
        task.prompt_tokens, task.completion_tokens, task.cost, task.model = (
            prompt_tokens,
            completion_tokens,
            cost,
            model,
        )
        if task.status == TaskStatus.RUNNING:
            task.result = completion.text
            _finish(task, TaskStatus.DONE)
        else:  # cancelled while the model answered: keep the spend, drop the answer
            task.save(update_fields=["prompt_tokens", "completion_tokens", "cost", "model", "updated_at"])
        _spend_record(task, cost)


def _spend_record(task: AgentTask, cost: Decimal) -> None:
    """Meter the task's tokens (once per task and token type) and add them to the budget."""
    tenant = current_tenant()
    for token_type, quantity in ((TokenType.INPUT, task.prompt_tokens), (TokenType.OUTPUT, task.completion_tokens)):
        usage_record(
            tenant=tenant,
            meter=Meter.TOKENS,
            quantity=quantity,
            idempotency_id=f"task:{task.pk}:{token_type}",
            agent_id=task.agent_id,
            model=task.model or None,
            token_type=token_type,
        )
    agent_budget_consume(agent=task.agent, tokens=task.total_tokens, cost=cost)


def _fail(task_id: str, error: str, *, code: str) -> None:
    with transaction.atomic():
        task = task_chain_lock(task_id=task_id)[-1]
        if task.status == TaskStatus.RUNNING:
            _finish(task, TaskStatus.FAILED, error=error, code=code)


def _finish(task: AgentTask, status: str, *, error: str = "", code: str = "") -> None:
    """Record the end of `task` (its chain locked by the caller) and settle its parent."""
    task.status, task.finished_at = status, timezone.now()
    if error:
        task.error, task.error_code = error, code
    task.save()
    task_parent_settle(task=task)


def task_parent_settle(*, task: AgentTask) -> None:
    """Once every child of `task`'s parent has finished, finish the parent: `done` with the
    results joined when all are done, else `failed`. Call with the chain locked."""
    if task.parent_id is None:
        return
    parent = AgentTask.objects.select_related("agent").get(pk=task.parent_id)
    if parent.status != TaskStatus.RUNNING:
        return
    children = task_children(task=parent)
    if any(not child.is_finished for child in children):
        return
    unfinished = [child for child in children if child.status != TaskStatus.DONE]
    if unfinished:
        names = ", ".join(f"{child.agent.name} ({child.status})" for child in unfinished)
        _finish(parent, TaskStatus.FAILED, error=f"Sub-tasks did not complete: {names}.", code="subtask_failed")
        return
    parent.result = "\n\n".join(f"## {child.agent.name}\n{child.result}" for child in children)
    _finish(parent, TaskStatus.DONE)
