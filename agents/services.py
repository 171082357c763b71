"""Every write to agents: create, change (status included) and archive. Audited, with webhooks.

Writes that could break an organisation-wide rule (the plan's `agents` limit, a cycle in the
reporting lines) hold a per-schema advisory lock for their transaction, so two concurrent
requests cannot both take the last slot or each make the other its manager.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypedDict

from django.db import connection, transaction
from django.utils import timezone

from agents.configuration import model_config_parse
from agents.models import STATUS_TRANSITIONS, Agent, AgentStatus, Department, Team
from agents.selectors import agent_count_active, agent_manager_chain
from agents.validation import (
    UNSET,
    agent_type_resolve,
    cost_budget_checked,
    languages_checked,
    text_checked,
    token_budget_checked,
    tools_checked,
)
from audit.services import Actor, audit_record
from billing.entitlements import entitlement_require_capacity
from billing.models import Limit
from config.errors import Conflict, InvalidTransition, ValidationFailed
from knowledge.models import KnowledgeBase
from knowledge.selectors import knowledge_base_list
from tenants.context import current_schema, current_tenant
from webhooks.events import EventType, webhook_event_publish

# A sanity bound on drafts and archived agents, which the plan limit does not count.
MAX_AGENTS_PER_WORKSPACE = 1000


class AgentChanges(TypedDict, total=False):
    """The fields `agent_update` may change; a key that is absent is left as it is."""

    name: str
    type: str
    job_title: str
    description: str
    status: str
    team_id: str | None
    department_id: str | None
    manager_id: str | None
    languages: list[str]
    system_prompt: str
    config: dict[str, Any]
    tools: list[str]
    daily_token_budget: int | None
    daily_cost_budget: Decimal | None
    knowledge_base_ids: list[str]


def organisation_lock() -> None:
    """Serialise org-wide checks in this schema until the transaction ends."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"{current_schema()}:agents"])


def _slot_required() -> None:
    entitlement_require_capacity(tenant=current_tenant(), limit=Limit.AGENTS, current_usage=agent_count_active())


def _placement(
    *, team_id: Any, department_id: Any, current_team: Team | None, current_department: Department | None
) -> tuple[Team | None, Department | None]:
    """The (team, department) an agent ends up in. A team implies its department; naming a
    department the team is not in is refused. UNSET keeps the current value."""
    team = current_team
    if team_id is not UNSET:
        team = Team.objects.select_related("department").filter(pk=team_id).first() if team_id else None
        if team_id and team is None:
            raise ValidationFailed("There is no such team.", errors={"team": ["There is no such team."]})
    if department_id is not UNSET:
        department = Department.objects.filter(pk=department_id).first() if department_id else None
        if department_id and department is None:
            raise ValidationFailed("There is no such department.", errors={"department": ["No such department."]})
        if team is not None and (department is None or department.pk != team.department_id):
            message = f"The team “{team.name}” belongs to the department “{team.department.name}”."
            raise ValidationFailed(message, errors={"department": [message]})
    else:
        department = team.department if team is not None else current_department
    return team, department


def _manager_checked(*, manager_id: str | None, agent_id: str | None) -> Agent | None:
    """The manager, refusing unknown or archived agents and any cycle (the agent itself included)."""
    if not manager_id:
        return None
    manager = Agent.objects.filter(pk=manager_id).first()
    if manager is None:
        raise ValidationFailed("There is no such agent.", errors={"manager": ["There is no such agent."]})
    if manager.is_archived:
        message = f"“{manager.name}” is archived and cannot manage anyone."
        raise ValidationFailed(message, errors={"manager": [message]})
    if agent_id is not None and agent_id in agent_manager_chain(manager_id=manager.pk):
        message = (
            "An agent cannot manage itself."
            if manager.pk == agent_id
            else f"“{manager.name}” reports to this agent already: that would make a cycle."
        )
        raise ValidationFailed(message, errors={"manager": [message]})
    return manager


def _knowledge_bases_checked(ids: list[str]) -> list[KnowledgeBase]:
    wanted = list(dict.fromkeys(ids))
    found = list(knowledge_base_list().filter(pk__in=[i for i in wanted if "\x00" not in i]))
    missing = sorted(set(wanted) - {kb.pk for kb in found})
    if missing:
        message = f"No such knowledge base: {', '.join(missing)}."
        raise ValidationFailed(message, errors={"knowledge_bases": [message]})
    return found


def _knowledge_bases_set(agent: Agent, knowledge_bases: list[KnowledgeBase]) -> dict[str, Any]:
    """Give the agent exactly these knowledge bases; the audit entry, or {} if nothing changed."""
    before = sorted(agent.knowledge_bases.values_list("pk", flat=True))
    after = sorted(kb.pk for kb in knowledge_bases)
    if before == after:
        return {}
    agent.knowledge_bases.set(knowledge_bases)
    return {"knowledge_bases": {"from": before, "to": after}}


def agent_event_data(agent: Agent, **extra: Any) -> dict[str, Any]:
    """The `agent.*` webhook payload (docs/agents.md): what changed, not the whole prompt."""
    return {
        "agent": {
            "id": agent.pk,
            "name": agent.name,
            "type": agent.type,
            "status": agent.status,
            "job_title": agent.job_title,
            "team_id": agent.team_id,
            "department_id": agent.department_id,
            "manager_id": agent.manager_id,
            "created_at": agent.created_at,
            "updated_at": agent.updated_at,
        },
        **extra,
    }


def agent_event_publish(agent: Agent, event_type: str, **extra: Any) -> None:
    """Announce `event_type` about `agent` to the tenant's webhook endpoints (on commit)."""
    webhook_event_publish(tenant=current_tenant(), event_type=event_type, data=agent_event_data(agent, **extra))


def agent_create(
    *,
    name: str,
    actor: Actor,
    type: str = "",
    job_title: str = "",
    description: str = "",
    status: str = AgentStatus.DRAFT,
    team_id: str | None = None,
    department_id: str | None = None,
    manager_id: str | None = None,
    languages: list[str] | None = None,
    system_prompt: str = "",
    config: dict[str, Any] | None = None,
    tools: list[str] | None = None,
    daily_token_budget: int | None = None,
    daily_cost_budget: Decimal | None = None,
    knowledge_base_ids: list[str] | None = None,
) -> Agent:
    """Create an agent in the current tenant, as a draft unless `status` says `active`.

    A `type` the platform does not know is stored as `assistant` (docs/agents.md). Creating it
    active takes a slot of the plan's `agents` limit: `PlanLimitReached` when none is free.
    Raises ValidationFailed (fields, placement, manager) or Conflict (workspace cap).
    """
    if status not in (AgentStatus.DRAFT, AgentStatus.ACTIVE):
        message = "A new agent is a draft or active."
        raise ValidationFailed(message, errors={"status": [message]})
    resolved_type = agent_type_resolve(type)
    values: dict[str, Any] = {
        "name": text_checked("name", name, max_length=120, required=True),
        "type": resolved_type,
        "job_title": text_checked("job_title", job_title, max_length=120),
        "description": text_checked("description", description, max_length=2000),
        "status": status,
        "languages": languages_checked(languages if languages is not None else [current_tenant().locale or "en"]),
        "system_prompt": text_checked("system_prompt", system_prompt, max_length=20000),
        "config": model_config_parse(config).as_dict(),
        "tools": tools_checked(tools or []),
        "daily_token_budget": token_budget_checked(daily_token_budget),
        "daily_cost_budget": cost_budget_checked(daily_cost_budget),
        **actor.as_creator(),
    }
    with transaction.atomic():
        organisation_lock()
        values["team"], values["department"] = _placement(
            team_id=team_id, department_id=department_id or UNSET, current_team=None, current_department=None
        )
        values["manager"] = _manager_checked(manager_id=manager_id, agent_id=None)
        if Agent.objects.exclude(status=AgentStatus.ARCHIVED).count() >= MAX_AGENTS_PER_WORKSPACE:
            raise Conflict(f"A workspace can have at most {MAX_AGENTS_PER_WORKSPACE:,} agents. Archive unused ones.")
        if status == AgentStatus.ACTIVE:
            _slot_required()
        agent = Agent.objects.create(**values)
        knowledge_bases = _knowledge_bases_checked(knowledge_base_ids or [])
        agent.knowledge_bases.set(knowledge_bases)
        data: dict[str, Any] = {"type": agent.type, "status": agent.status}
        if knowledge_bases:
            data["knowledge_bases"] = sorted(kb.pk for kb in knowledge_bases)
        if resolved_type != (type or "").strip().lower():
            data["type_requested"] = (type or "")[:40]
        audit_record(action="agent.created", actor=actor, target=agent, data=data)
        agent_event_publish(agent, EventType.AGENT_CREATED)
    return agent


def _status_checked(agent: Agent, status: str) -> None:
    if status not in AgentStatus.values:
        message = f"Choose one of: {', '.join(AgentStatus.values)}."
        raise ValidationFailed(message, errors={"status": [message]})
    if status != agent.status and status not in STATUS_TRANSITIONS[agent.status]:
        raise InvalidTransition(
            f"A {agent.status} agent cannot become {status}.",
            extra={"from_status": agent.status, "to_status": status},
        )


def _changed_values(agent: Agent, changes: AgentChanges) -> dict[str, Any]:
    """Validated new values for the plain fields in `changes` (not status or placement)."""
    checks: dict[str, Any] = {
        "name": lambda v: text_checked("name", v, max_length=120, required=True),
        "type": agent_type_resolve,
        "job_title": lambda v: text_checked("job_title", v, max_length=120),
        "description": lambda v: text_checked("description", v, max_length=2000),
        "languages": languages_checked,
        "system_prompt": lambda v: text_checked("system_prompt", v, max_length=20000),
        "config": lambda v: model_config_parse(v, current=agent.config).as_dict(),
        "tools": tools_checked,
        "daily_token_budget": token_budget_checked,
        "daily_cost_budget": cost_budget_checked,
    }
    return {name: check(changes[name]) for name, check in checks.items() if name in changes}  # type: ignore[literal-required]


def agent_update(*, agent: Agent, actor: Actor, changes: AgentChanges) -> Agent:
    """Change an agent; only the keys present in `changes` are touched (a PATCH).

    An archived agent is read-only until restored (`status: "draft"`, possibly with other
    changes in the same call): Conflict otherwise. Status changes follow STATUS_TRANSITIONS
    (InvalidTransition); becoming active from draft takes a plan slot (PlanLimitReached).
    Archiving through here is `agent_archive`. Raises ValidationFailed for bad values.
    """
    values = _changed_values(agent, changes)
    with transaction.atomic():
        organisation_lock()
        agent = (
            Agent.objects.select_for_update(of=("self",))
            .select_related("team__department", "department")
            .get(pk=agent.pk)
        )
        status = changes.get("status", agent.status)
        if agent.is_archived and status != AgentStatus.DRAFT:
            raise Conflict("This agent is archived. Restore it (status “draft”) before changing it.")
        _status_checked(agent, status)
        if status == AgentStatus.ARCHIVED:
            return agent_archive(agent=agent, actor=actor, **values)
        values["team"], values["department"] = _placement(
            team_id=changes.get("team_id", UNSET),
            department_id=changes.get("department_id", UNSET),
            current_team=agent.team,
            current_department=agent.department,
        )
        if "manager_id" in changes:
            values["manager"] = _manager_checked(manager_id=changes["manager_id"], agent_id=agent.pk)
        if status != agent.status:
            values["status"] = status
            if status == AgentStatus.ACTIVE and not agent.holds_plan_slot:
                _slot_required()
            if status == AgentStatus.DRAFT:
                values["archived_at"] = None
        changed = _apply(agent, values)
        if "knowledge_base_ids" in changes:
            knowledge_change = _knowledge_bases_set(agent, _knowledge_bases_checked(changes["knowledge_base_ids"]))
            if knowledge_change and not changed:
                agent.save(update_fields=["updated_at"])
            changed.update(knowledge_change)
        if changed:
            audit_record(action="agent.updated", actor=actor, target=agent, data=changed)
            agent_event_publish(agent, EventType.AGENT_UPDATED, changed=sorted(changed))
    return agent


def _apply(agent: Agent, values: dict[str, Any]) -> dict[str, Any]:
    """Set `values` on `agent` and save; returns {field: change} for the audit trail (the
    prompt and the config are named, not copied)."""
    changed: dict[str, Any] = {}
    for name, value in values.items():
        before = getattr(agent, name)
        if before == value:
            continue
        setattr(agent, name, value)
        if name == "archived_at":
            continue  # follows the status, which is recorded
        if name in ("system_prompt", "description"):
            changed[name] = "changed"
        elif isinstance(value, Agent | Team | Department) or isinstance(before, Agent | Team | Department):
            changed[name] = {"from": getattr(before, "pk", None), "to": getattr(value, "pk", None)}
        elif isinstance(value, Decimal):
            changed[name] = {"from": str(before) if before is not None else None, "to": str(value)}
        else:
            changed[name] = {"from": before, "to": value}
    if changed or "archived_at" in values:
        agent.save()
    return changed


def agent_archive(*, agent: Agent, actor: Actor, **values: Any) -> Agent:
    """Archive: the agent stops working and frees its plan slot; its history stays.

    Its direct reports move up to its own manager (each an `agent.updated`). Archiving an
    archived agent is a no-op. There is no hard delete: conversations and tasks keep pointing
    at the agent (docs/agents.md, "Deleting").
    """
    with transaction.atomic():
        organisation_lock()
        agent = Agent.objects.select_for_update().get(pk=agent.pk)
        if agent.is_archived:
            return agent
        _status_checked(agent, AgentStatus.ARCHIVED)
        previous = agent.status
        for report in Agent.objects.select_for_update().filter(manager=agent).exclude(status=AgentStatus.ARCHIVED):
            report.manager_id = agent.manager_id
            report.save(update_fields=["manager", "updated_at"])
            change = {"manager": {"from": agent.pk, "to": agent.manager_id}}
            audit_record(action="agent.updated", actor=actor, target=report, data=change)
            agent_event_publish(report, EventType.AGENT_UPDATED, changed=["manager"])
        _apply(agent, {**values, "status": AgentStatus.ARCHIVED, "archived_at": timezone.now()})
        audit_record(action="agent.archived", actor=actor, target=agent, data={"from_status": previous})
        agent_event_publish(agent, EventType.AGENT_DELETED)
    return agent
