"""Portal forms for agents, teams and departments. They check the shape of the input; the rules
(placement, cycles, limits) are the services', whose errors come back onto these forms."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from agents.budgets import BUDGET_CURRENCY
from agents.configuration import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_TEMPERATURE,
    MAX_TOKENS_MAX,
    MAX_TOKENS_MIN,
    TEMPERATURE_MAX,
    TEMPERATURE_MIN,
)
from agents.models import Agent, AgentStatus, AgentTool, AgentType, ModelProvider
from agents.selectors import agent_list, department_list, team_list
from agents.validation import MAX_TOKEN_BUDGET
from config.errors import ValidationFailed
from knowledge.selectors import knowledge_base_list

NONE_CHOICE = ("", "—")


class AgentFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "Not archived"), *AgentStatus.choices], required=False)
    type = forms.ChoiceField(choices=[("", "Any type"), *AgentType.choices], required=False)
    department = forms.ChoiceField(required=False)
    team = forms.ChoiceField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].choices = [("", "Any department"), *((d.pk, d.name) for d in department_list())]  # type: ignore[attr-defined]
        self.fields["team"].choices = [  # type: ignore[attr-defined]
            ("", "Any team"),
            *((t.pk, f"{t.name} ({t.department.name})") for t in team_list()),
        ]

    def selector_filters(self) -> dict[str, str | None]:
        data = self.cleaned_data
        return {
            "status": data["status"] or None,
            "type": data["type"] or None,
            "team_id": data["team"] or None,
            "department_id": data["department"] or None,
        }


class AgentForm(forms.Form):
    """Create (with `activate`) and edit. `service_arguments()` speaks agents.services."""

    name = forms.CharField(max_length=120)
    type = forms.ChoiceField(choices=AgentType.choices, initial=AgentType.SUPPORT)
    job_title = forms.CharField(max_length=120, required=False, label="Role or job title")
    description = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    department = forms.ChoiceField(required=False, help_text="Choosing a team puts the agent in its department.")
    team = forms.ChoiceField(required=False)
    manager = forms.ChoiceField(required=False, label="Reports to")
    languages = forms.CharField(
        max_length=200, initial="en", help_text="Language codes separated by commas, e.g. “en, ar”."
    )
    system_prompt = forms.CharField(
        max_length=20000, required=False, widget=forms.Textarea(attrs={"rows": 6}), label="System prompt"
    )
    provider = forms.ChoiceField(choices=ModelProvider.choices, initial=ModelProvider.LOCAL, label="Model provider")
    model = forms.CharField(max_length=100, required=False, help_text="Empty: the provider's default model.")
    temperature = forms.DecimalField(
        min_value=Decimal(str(TEMPERATURE_MIN)),
        max_value=Decimal(str(TEMPERATURE_MAX)),
        decimal_places=2,
        initial=DEFAULT_TEMPERATURE,
        widget=forms.NumberInput(attrs={"step": "0.1"}),
    )
    max_tokens = forms.IntegerField(min_value=MAX_TOKENS_MIN, max_value=MAX_TOKENS_MAX, initial=DEFAULT_MAX_TOKENS)
    tools = forms.MultipleChoiceField(choices=AgentTool.choices, required=False, widget=forms.CheckboxSelectMultiple)
    knowledge_bases = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Knowledge it may answer from"
    )
    daily_token_budget = forms.IntegerField(
        min_value=1, max_value=MAX_TOKEN_BUDGET, required=False, label="Daily token budget", help_text="Empty: none."
    )
    daily_cost_budget = forms.DecimalField(
        min_value=Decimal("0.01"),
        max_digits=12,
        decimal_places=2,
        required=False,
        label=f"Daily budget ({BUDGET_CURRENCY})",
        help_text="Model cost per UTC day, in US dollars like model prices. Empty: none.",
    )
    activate = forms.BooleanField(
        required=False, label="Activate now", help_text="Active agents count against your plan's agent limit."
    )

    def __init__(self, *args: Any, agent: Agent | None = None, **kwargs: Any) -> None:
        if agent is not None and "initial" not in kwargs:
            kwargs["initial"] = _initial_of(agent)
        super().__init__(*args, **kwargs)
        self.agent = agent
        self.fields["department"].choices = [NONE_CHOICE, *((d.pk, d.name) for d in department_list())]  # type: ignore[attr-defined]
        self.fields["team"].choices = [  # type: ignore[attr-defined]
            NONE_CHOICE,
            *((t.pk, f"{t.name} ({t.department.name})") for t in team_list()),
        ]
        managers = agent_list().exclude(pk=agent.pk) if agent else agent_list()
        self.fields["manager"].choices = [NONE_CHOICE, *((a.pk, a.name) for a in managers.order_by("name"))]  # type: ignore[attr-defined]
        self.fields["knowledge_bases"].choices = [(kb.pk, kb.name) for kb in knowledge_base_list()]  # type: ignore[attr-defined]
        if agent is not None:
            del self.fields["activate"]

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        config: dict[str, Any] = {
            "provider": data["provider"],
            "temperature": float(data["temperature"]),
            "max_tokens": data["max_tokens"],
        }
        if data["model"].strip():
            config["model"] = data["model"].strip()
        arguments: dict[str, Any] = {
            "name": data["name"],
            "type": data["type"],
            "job_title": data["job_title"],
            "description": data["description"],
            "team_id": data["team"] or None,
            "department_id": data["department"] or None,
            "manager_id": data["manager"] or None,
            "languages": [code.strip() for code in data["languages"].split(",") if code.strip()],
            "system_prompt": data["system_prompt"],
            "config": config,
            "tools": data["tools"],
            "knowledge_base_ids": data["knowledge_bases"],
            "daily_token_budget": data["daily_token_budget"],
            "daily_cost_budget": data["daily_cost_budget"],
        }
        if data["team"]:
            del arguments["department_id"]  # the team's department
        if self.agent is None:
            arguments["status"] = AgentStatus.ACTIVE if data.get("activate") else AgentStatus.DRAFT
        elif "model" not in config and data["provider"] == self.agent.config.get("provider"):
            config["model"] = self.agent.config.get("model")  # an emptied field keeps the current model
        return arguments

    def add_service_error(self, error: ValidationFailed) -> None:
        """Service fields are the API's (`config.temperature`); the form's are flat."""
        for field, problems in error.errors.items():
            flat = field.removeprefix("config.")
            name = {"knowledge_base_ids": "knowledge_bases"}.get(flat, flat)
            for problem in problems:
                self.add_error(name if name in self.fields else None, problem)


def _initial_of(agent: Agent) -> dict[str, Any]:
    return {
        "name": agent.name,
        "type": agent.type,
        "job_title": agent.job_title,
        "description": agent.description,
        "department": agent.department_id or "",
        "team": agent.team_id or "",
        "manager": agent.manager_id or "",
        "languages": ", ".join(agent.languages),
        "system_prompt": agent.system_prompt,
        "provider": agent.config.get("provider"),
        "model": agent.config.get("model"),
        "temperature": agent.config.get("temperature"),
        "max_tokens": agent.config.get("max_tokens"),
        "tools": agent.tools,
        "knowledge_bases": [kb.pk for kb in agent.knowledge_bases.all()],
        "daily_token_budget": agent.daily_token_budget,
        "daily_cost_budget": agent.daily_cost_budget,
    }


class DepartmentForm(forms.Form):
    name = forms.CharField(max_length=120, label="Department name")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "id_department_%s")  # shares the org chart page with TeamForm
        super().__init__(*args, **kwargs)


class TeamForm(forms.Form):
    name = forms.CharField(max_length=120, label="Team name")
    department = forms.ChoiceField(label="In department")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "id_team_%s")
        super().__init__(*args, **kwargs)
        self.fields["department"].choices = [(d.pk, d.name) for d in department_list()]  # type: ignore[attr-defined]
