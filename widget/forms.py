"""The portal form that creates a publishable key for the website widget."""

from __future__ import annotations

from typing import Any

from django import forms

from agents.models import AgentStatus
from agents.selectors import agent_list
from apikeys.origins import MAX_ORIGINS
from portal.forms import SingleSubmissionForm


class WidgetKeyForm(SingleSubmissionForm):
    """Field names match the errors `api_key_create_publishable` reports (`agent`, `allowed_origins`)."""

    name = forms.CharField(max_length=100, label="Name", help_text="Where it is used, e.g. “Main website”.")
    agent = forms.ChoiceField(label="Agent", help_text="The agent the widget talks to (active agents only).")
    allowed_origins = forms.CharField(
        label="Websites",
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "placeholder": "https://www.example.com"}),
        help_text="One origin per line (https://host or https://host:port). Pages anywhere else cannot use the key.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        agent_field = self.fields["agent"]
        assert isinstance(agent_field, forms.ChoiceField)
        agent_field.choices = [(agent.pk, agent.name) for agent in agent_list(status=AgentStatus.ACTIVE)]

    def clean_allowed_origins(self) -> list[str]:
        origins = [line.strip() for line in self.cleaned_data["allowed_origins"].splitlines() if line.strip()]
        if len(origins) > MAX_ORIGINS:
            raise forms.ValidationError(f"At most {MAX_ORIGINS} websites per key.")
        return origins
