"""Portal forms: the "Try it" message, the conversations filter and the model provider settings."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from agents.models import Agent
from conversations.models import Channel, ConversationStatus


class TryItForm(forms.Form):
    message = forms.CharField(label=_("Message"), max_length=settings.CHAT_MAX_MESSAGE_CHARS, strip=True)


class ConversationFilterForm(forms.Form):
    agent = forms.ModelChoiceField(queryset=Agent.objects.none(), required=False, label=_("Agent"))
    channel = forms.ChoiceField(choices=[("", _("Any channel")), *Channel.choices], required=False, label=_("Channel"))
    status = forms.ChoiceField(
        choices=[("", _("Any status")), *ConversationStatus.choices], required=False, label=_("Status")
    )
    session_id = forms.CharField(max_length=200, required=False, label=_("Session id"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agent"].queryset = Agent.objects.order_by("name")  # type: ignore[attr-defined]

    def selector_filters(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "agent_id": data["agent"].pk if data.get("agent") else None,
            "channel": data.get("channel") or None,
            "status": data.get("status") or None,
            "session_id": data.get("session_id") or None,
        }


class ProviderSettingsForm(forms.Form):
    base_url = forms.URLField(
        label=_("Base URL"),
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text=_("The endpoint's /v1 URL, e.g. https://api.openai.com/v1 or http://ollama:11434/v1. Empty: OpenAI."),
    )
    default_model = forms.CharField(
        label=_("Default model"), required=False, max_length=100, help_text=_("Used when an agent names no model.")
    )
    api_key = forms.CharField(
        label=_("API key"),
        required=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("Leave empty to keep the current key. Stored encrypted; only its last four characters are shown."),
    )
    clear_api_key = forms.BooleanField(label=_("Remove the stored key"), required=False)
    timeout_seconds = forms.IntegerField(label=_("Timeout (seconds)"), min_value=1, max_value=300, initial=30)
    max_retries = forms.IntegerField(
        label=_("Retries"), min_value=0, max_value=5, initial=2, help_text=_("After a timeout, a 429 or a 5xx.")
    )
