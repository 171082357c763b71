"""Agents, teams and departments made the real way (through the services), in whatever schema the
connection is on: use them inside `schema_context(tenant.schema)`."""

from __future__ import annotations

from typing import Any

import factory

from agents.models import Agent, Department, Team
from agents.org_services import department_create, team_create
from agents.services import agent_create
from audit.services import Actor

TESTS = Actor.system("tests")


class DepartmentFactory(factory.Factory):
    class Meta:
        model = Department

    name = factory.Sequence(lambda n: f"Department {n}")
    actor = TESTS

    @classmethod
    def _create(cls, model_class: type, **kwargs: Any) -> Department:
        return department_create(**kwargs)


class TeamFactory(factory.Factory):
    """`department_id` defaults to a new department."""

    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    department_id = factory.LazyFunction(lambda: DepartmentFactory.create().pk)  # type: ignore[attr-defined]
    actor = TESTS

    @classmethod
    def _create(cls, model_class: type, **kwargs: Any) -> Team:
        return team_create(**kwargs)


class AgentFactory(factory.Factory):
    """A draft `support` agent unless told otherwise (any `agent_create` argument)."""

    class Meta:
        model = Agent

    name = factory.Sequence(lambda n: f"Agent {n}")
    actor = TESTS

    @classmethod
    def _create(cls, model_class: type, **kwargs: Any) -> Agent:
        kwargs.setdefault("type", "support")
        return agent_create(**kwargs)


def agent_path_ids(tenant: Any) -> dict[str, str]:
    """Fresh rows of `tenant` for the `{agent_id}`, `{team_id}` and `{department_id}` placeholders of
    API paths: a draft agent, and a team and a department that are empty (so they may be deleted)."""
    from django_tenants.utils import schema_context

    with schema_context(tenant.schema_name):
        agent = AgentFactory.create(name=f"{tenant.slug} agent")
        team = TeamFactory.create(name=f"{tenant.slug} team")
        department = DepartmentFactory.create(name=f"{tenant.slug} department {Department.objects.count()}")
    return {"agent_id": agent.pk, "team_id": team.pk, "department_id": department.pk}


def task_path_ids(tenant: Any) -> dict[str, str]:
    """Fresh rows of `tenant` for task API paths: an active agent (`{agent_id}`, it can take tasks)
    and a task of it waiting for approval (`{task_id}`: it can be approved, rejected or cancelled)."""
    from django_tenants.utils import schema_context

    from agents.task_services import agent_task_create

    with schema_context(tenant.schema_name):
        agent = AgentFactory.create(name=f"{tenant.slug} worker", status="active", daily_token_budget=1)
        task = agent_task_create(agent=agent, title=f"{tenant.slug} secret task", actor=TESTS)
    return {"agent_id": agent.pk, "task_id": task.pk}
