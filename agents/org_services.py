"""Every write to departments and teams (the agents' own writes are in agents.services).

Names are unique per workspace (departments) and per department (teams), case-insensitively.
A department or team that still has agents or teams is not deleted (Conflict): move them first,
so no agent silently loses its place in the organisation.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from agents.models import Agent, AgentStatus, Department, Team
from agents.services import agent_event_publish, organisation_lock
from agents.validation import UNSET, text_checked
from audit.services import Actor, audit_record
from config.errors import Conflict, ValidationFailed
from webhooks.events import EventType

MAX_DEPARTMENTS = 200
MAX_TEAMS = 1000


def _name_taken(message: str) -> ValidationFailed:
    return ValidationFailed(message, errors={"name": [message]})


def _department_of(department_id: str) -> Department:
    department = Department.objects.filter(pk=department_id).first()
    if department is None:
        raise ValidationFailed("There is no such department.", errors={"department": ["No such department."]})
    return department


def department_create(*, name: str, actor: Actor, description: str = "") -> Department:
    """Raises ValidationFailed (blank or taken name) or Conflict (over MAX_DEPARTMENTS)."""
    name = text_checked("name", name, max_length=120, required=True)
    description = text_checked("description", description, max_length=2000)
    with transaction.atomic():
        organisation_lock()
        if Department.objects.count() >= MAX_DEPARTMENTS:
            raise Conflict(f"A workspace can have at most {MAX_DEPARTMENTS} departments.")
        if Department.objects.filter(name__iexact=name).exists():
            raise _name_taken(f"There is already a department called “{name}”.")
        department = Department.objects.create(name=name, description=description)
        audit_record(action="department.created", actor=actor, target=department, data={"name": name})
    return department


def department_update(
    *, department: Department, actor: Actor, name: Any = UNSET, description: Any = UNSET
) -> Department:
    changes: dict[str, Any] = {}
    if name is not UNSET:
        changes["name"] = text_checked("name", name, max_length=120, required=True)
    if description is not UNSET:
        changes["description"] = text_checked("description", description, max_length=2000)
    with transaction.atomic():
        organisation_lock()
        department = Department.objects.select_for_update().get(pk=department.pk)
        others = Department.objects.exclude(pk=department.pk)
        if "name" in changes and others.filter(name__iexact=changes["name"]).exists():
            raise _name_taken(f"There is already a department called “{changes['name']}”.")
        changed = {key: value for key, value in changes.items() if getattr(department, key) != value}
        if changed:
            for key, value in changed.items():
                setattr(department, key, value)
            department.save()
            audit_record(action="department.updated", actor=actor, target=department, data={"changed": sorted(changed)})
    return department


def department_delete(*, department: Department, actor: Actor) -> None:
    """Refused (Conflict) while teams or non-archived agents are in it; archived agents lose the link."""
    with transaction.atomic():
        organisation_lock()
        teams = Team.objects.filter(department=department).count()
        agents = Agent.objects.filter(department=department).exclude(status=AgentStatus.ARCHIVED).count()
        if teams or agents:
            raise Conflict(
                f"“{department.name}” still has {teams} team(s) and {agents} agent(s). Move or delete them first."
            )
        Agent.objects.filter(department=department).update(department=None)
        audit_record(action="department.deleted", actor=actor, target=department, data={"name": department.name})
        department.delete()


def team_create(*, name: str, department_id: str, actor: Actor, description: str = "") -> Team:
    """Raises ValidationFailed (blank or taken name, unknown department) or Conflict (over MAX_TEAMS)."""
    name = text_checked("name", name, max_length=120, required=True)
    description = text_checked("description", description, max_length=2000)
    with transaction.atomic():
        organisation_lock()
        department = _department_of(department_id)
        if Team.objects.count() >= MAX_TEAMS:
            raise Conflict(f"A workspace can have at most {MAX_TEAMS} teams.")
        if Team.objects.filter(department=department, name__iexact=name).exists():
            raise _name_taken(f"“{department.name}” already has a team called “{name}”.")
        team = Team.objects.create(name=name, department=department, description=description)
        audit_record(
            action="agent_team.created", actor=actor, target=team, data={"name": name, "department": department.pk}
        )
    return team


def team_update(
    *, team: Team, actor: Actor, name: Any = UNSET, description: Any = UNSET, department_id: Any = UNSET
) -> Team:
    """Moving a team to another department moves its agents with it (an `agent.updated` each)."""
    changes: dict[str, Any] = {}
    if name is not UNSET:
        changes["name"] = text_checked("name", name, max_length=120, required=True)
    if description is not UNSET:
        changes["description"] = text_checked("description", description, max_length=2000)
    with transaction.atomic():
        organisation_lock()
        team = Team.objects.select_for_update().get(pk=team.pk)
        if department_id is not UNSET:
            changes["department"] = _department_of(department_id)
        target_department = changes.get("department", team.department)
        target_name = changes.get("name", team.name)
        clash = Team.objects.filter(department=target_department, name__iexact=target_name).exclude(pk=team.pk)
        if clash.exists():
            raise _name_taken(f"“{target_department.name}” already has a team called “{target_name}”.")
        changed = {key: value for key, value in changes.items() if getattr(team, key) != value}
        if not changed:
            return team
        for key, value in changed.items():
            setattr(team, key, value)
        team.save()
        if "department" in changed:
            for agent in Agent.objects.filter(team=team).exclude(department=team.department):
                agent.department = team.department
                agent.save(update_fields=["department", "updated_at"])
                agent_event_publish(agent, EventType.AGENT_UPDATED, changed=["department"])
        data: dict[str, Any] = {"changed": sorted(changed)}
        if "department" in changed:
            data["department"] = team.department_id
        audit_record(action="agent_team.updated", actor=actor, target=team, data=data)
    return team


def team_delete(*, team: Team, actor: Actor) -> None:
    """Refused (Conflict) while non-archived agents are in it; archived agents lose the link."""
    with transaction.atomic():
        organisation_lock()
        agents = Agent.objects.filter(team=team).exclude(status=AgentStatus.ARCHIVED).count()
        if agents:
            raise Conflict(f"“{team.name}” still has {agents} agent(s). Move them to another team first.")
        Agent.objects.filter(team=team).update(team=None)
        audit_record(action="agent_team.deleted", actor=actor, target=team, data={"name": team.name})
        team.delete()
