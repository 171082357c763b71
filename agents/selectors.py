"""Reads of agents, teams, departments and the org chart, in the current tenant's schema."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet

from agents.models import SLOT_HOLDING_STATUSES, Agent, AgentStatus, Department, Team


def _clean_id(value: str) -> str | None:
    # Ids come from URLs and query strings; PostgreSQL refuses NUL in text and no id has one.
    return None if "\x00" in value else value


def agent_count_active() -> int:
    """Agents holding a slot of the plan's `agents` limit: active or paused (archiving frees one).

    Also the `active_agents` usage gauge. Runs in the current tenant's schema.
    """
    return Agent.objects.filter(status__in=SLOT_HOLDING_STATUSES).count()


def agent_list(
    *,
    status: str | None = None,
    type: str | None = None,
    team_id: str | None = None,
    department_id: str | None = None,
) -> QuerySet[Agent]:
    """Newest first. Archived agents are left out unless `status="archived"` asks for them."""
    agents = Agent.objects.select_related("team", "department", "manager").prefetch_related("knowledge_bases")
    agents = agents.filter(status=status) if status else agents.exclude(status=AgentStatus.ARCHIVED)
    if type:
        agents = agents.filter(type=type)
    if team_id:
        agents = agents.filter(team_id=_clean_id(team_id))
    if department_id:
        agents = agents.filter(department_id=_clean_id(department_id))
    return agents


def agent_get(*, agent_id: str) -> Agent | None:
    agent_id_clean = _clean_id(agent_id)
    if agent_id_clean is None:
        return None
    agents = Agent.objects.select_related("team", "department", "manager").prefetch_related("knowledge_bases")
    return agents.filter(pk=agent_id_clean).first()


def agent_reports(*, agent: Agent) -> QuerySet[Agent]:
    return agent.reports.exclude(status=AgentStatus.ARCHIVED).order_by("name", "id")


def agent_manager_chain(*, manager_id: str) -> list[str]:
    """The ids from `manager_id` up its reporting line to the top (one query)."""
    managers = dict(Agent.objects.values_list("id", "manager_id"))
    chain: list[str] = []
    current: str | None = manager_id
    while current is not None and current not in chain:
        chain.append(current)
        current = managers.get(current)
    return chain


def _with_agent_counts(queryset: QuerySet) -> QuerySet:
    return queryset.annotate(agent_count=Count("agents", filter=~Q(agents__status=AgentStatus.ARCHIVED)))


def team_list(*, department_id: str | None = None) -> QuerySet[Team]:
    teams = _with_agent_counts(Team.objects.select_related("department"))
    if department_id:
        teams = teams.filter(department_id=_clean_id(department_id))
    return teams


def team_get(*, team_id: str) -> Team | None:
    team_id_clean = _clean_id(team_id)
    if team_id_clean is None:
        return None
    return _with_agent_counts(Team.objects.select_related("department")).filter(pk=team_id_clean).first()


def department_list() -> QuerySet[Department]:
    return _with_agent_counts(Department.objects.all()).annotate(team_count=Count("teams", distinct=True))


def department_get(*, department_id: str) -> Department | None:
    department_id_clean = _clean_id(department_id)
    if department_id_clean is None:
        return None
    return department_list().filter(pk=department_id_clean).first()


# --- The org chart ---------------------------------------------------------------------------


@dataclass
class ReportingNode:
    agent: Agent
    reports: list[ReportingNode] = field(default_factory=list)


@dataclass
class TeamNode:
    team: Team
    agents: list[Agent]


@dataclass
class DepartmentNode:
    department: Department
    teams: list[TeamNode]
    agents: list[Agent]  # in the department but in no team


@dataclass
class OrgChart:
    departments: list[DepartmentNode]
    unassigned: list[Agent]  # in no department
    reporting_lines: list[ReportingNode]  # agents without a (current) manager, each with its reports
    agent_count: int


def org_chart() -> OrgChart:
    """Departments → teams → agents, and the reporting lines as a tree. Archived agents are left
    out; someone whose manager is archived appears at the top of the reporting lines.

    Three queries whatever the size of the organisation.
    """
    agents = list(Agent.objects.exclude(status=AgentStatus.ARCHIVED).order_by("name", "id"))
    teams = list(Team.objects.order_by("name", "id"))
    departments = list(Department.objects.order_by("name", "id"))

    by_team: dict[str | None, list[Agent]] = defaultdict(list)
    by_department_only: dict[str | None, list[Agent]] = defaultdict(list)
    for agent in agents:
        if agent.team_id:
            by_team[agent.team_id].append(agent)
        else:
            by_department_only[agent.department_id].append(agent)
    teams_of: dict[str, list[TeamNode]] = defaultdict(list)
    for team in teams:
        teams_of[team.department_id].append(TeamNode(team=team, agents=by_team[team.pk]))
    department_nodes = [
        DepartmentNode(department=d, teams=teams_of[d.pk], agents=by_department_only[d.pk]) for d in departments
    ]
    nodes = {agent.pk: ReportingNode(agent=agent) for agent in agents}
    roots: list[ReportingNode] = []
    for agent in agents:
        manager_node = nodes.get(agent.manager_id) if agent.manager_id else None
        (manager_node.reports if manager_node else roots).append(nodes[agent.pk])
    return OrgChart(
        departments=department_nodes,
        unassigned=by_department_only[None],
        reporting_lines=roots,
        agent_count=len(agents),
    )
