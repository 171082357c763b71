"""Portal forms for delegated tasks: the filter of the tasks page and "Assign a task" on an
agent's page. Shape only: the delegation rules are agents.task_services'."""

from __future__ import annotations

from typing import Any

from django import forms

from agents.models import Agent, AgentStatus, AgentTool, TaskStatus
from agents.task_selectors import agent_delegation_reachable_ids
from agents.task_services import MAX_TASK_TEXT


class TaskFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "Any status"), *TaskStatus.choices], required=False)


class TaskAssignForm(forms.Form):
    title = forms.CharField(max_length=200)
    text = forms.CharField(
        max_length=MAX_TASK_TEXT, required=False, label="Instructions", widget=forms.Textarea(attrs={"rows": 3})
    )
    delegate_to = forms.MultipleChoiceField(
        required=False,
        label="Hand it on to",
        widget=forms.CheckboxSelectMultiple,
        help_text="The agent splits the task among these (its reports and team-mates) and completes it with "
        "their answers.",
    )

    def __init__(self, *args: Any, agent: Agent, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices: list[tuple[str, str]] = []
        if AgentTool.DELEGATE_TASK in (agent.tools or []):
            reachable = agent_delegation_reachable_ids(agent=agent)
            candidates = Agent.objects.filter(pk__in=reachable, status=AgentStatus.ACTIVE).order_by("name", "id")
            choices = [(a.pk, a.name) for a in candidates]
        if choices:
            self.fields["delegate_to"].choices = choices  # type: ignore[attr-defined]
        else:
            del self.fields["delegate_to"]
