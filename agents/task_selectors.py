"""Reads of delegated tasks and of who may delegate to whom, in the current tenant's schema."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import QuerySet

from agents.models import Agent, AgentStatus, AgentTask

_TASK_RELATED = ("agent", "delegated_by", "parent", "parent__agent")


def _clean_id(value: str) -> str | None:
    return None if "\x00" in value else value


def agent_delegation_reachable_ids(*, agent: Agent) -> set[str]:
    """The agents `agent` may delegate to: its reports, theirs and so on, and its team-mates
    (archived agents are left out; the agent itself is not included). One query."""
    rows = list(Agent.objects.exclude(status=AgentStatus.ARCHIVED).values_list("id", "manager_id", "team_id"))
    reports: dict[str, list[str]] = defaultdict(list)
    for agent_id, manager_id, _ in rows:
        if manager_id:
            reports[manager_id].append(agent_id)
    reachable: set[str] = set()
    pending = list(reports[agent.pk])
    while pending:
        current = pending.pop()
        if current not in reachable:
            reachable.add(current)
            pending.extend(reports[current])
    if agent.team_id:
        reachable |= {agent_id for agent_id, _, team_id in rows if team_id == agent.team_id}
    reachable.discard(agent.pk)
    return reachable


def agent_task_list(*, agent_id: str | None = None, status: str | None = None) -> QuerySet[AgentTask]:
    """Newest first, optionally one agent's and in one status."""
    tasks = AgentTask.objects.select_related(*_TASK_RELATED)
    if agent_id is not None:
        tasks = tasks.filter(agent_id=_clean_id(agent_id))
    if status:
        tasks = tasks.filter(status=status)
    return tasks


def agent_task_get(*, task_id: str) -> AgentTask | None:
    task_id_clean = _clean_id(task_id)
    if task_id_clean is None:
        return None
    return AgentTask.objects.select_related(*_TASK_RELATED).filter(pk=task_id_clean).first()


def task_ancestor_ids(*, task: AgentTask) -> list[str]:
    """The ids above `task`, root first (not `task` itself)."""
    ids: list[str] = []
    parent_id = task.parent_id
    while parent_id is not None and parent_id not in ids:
        ids.append(parent_id)
        parent_id = AgentTask.objects.filter(pk=parent_id).values_list("parent_id", flat=True).first()
    return list(reversed(ids))


def task_ancestors(*, task: AgentTask) -> list[AgentTask]:
    """The chain above `task`, root first."""
    ids = task_ancestor_ids(task=task)
    by_id = AgentTask.objects.select_related("agent").in_bulk(ids)
    return [by_id[i] for i in ids if i in by_id]


def task_depth(*, task: AgentTask) -> int:
    """0 for a task without a parent."""
    return len(task_ancestor_ids(task=task))


def task_chain_lock(*, task_id: str) -> list[AgentTask]:
    """Lock `task_id` and every task above it, root first (the one lock order of the app), inside
    the caller's transaction. Returns them root first; the last is the task."""
    task = AgentTask.objects.get(pk=task_id)
    chain = []
    for each_id in [*task_ancestor_ids(task=task), task_id]:
        chain.append(AgentTask.objects.select_for_update().select_related("agent").get(pk=each_id))
    return chain


def task_descendants(*, task: AgentTask, lock: bool = False) -> list[AgentTask]:
    """Every task below `task`, level by level (locked, top down, with `lock`)."""
    found: list[AgentTask] = []
    level = [task.pk]
    while level:
        children = AgentTask.objects.filter(parent_id__in=level).select_related("agent").order_by("created_at", "id")
        batch = list(children.select_for_update(of=("self",)) if lock else children)
        found.extend(batch)
        level = [child.pk for child in batch]
    return found


def task_children(*, task: AgentTask) -> list[AgentTask]:
    return list(task.children.select_related("agent").order_by("created_at", "id"))
