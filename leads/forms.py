"""Portal forms of the Leads and Privacy pages."""

from __future__ import annotations

from django import forms

from conversations.retention import RETENTION_MAX_DAYS, RETENTION_MIN_DAYS
from leads.models import LeadIntent, LeadStatus

CHANNEL_CHOICES = [("", "Any channel"), ("widget", "Website widget"), ("api", "API"), ("portal", "Portal preview")]


class LeadFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search", help_text="Name, email, phone or company.")
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *LeadStatus.choices], label="Status")
    intent = forms.ChoiceField(
        required=False, choices=[("", "Any intent"), *[c for c in LeadIntent.choices if c[0]]], label="Intent"
    )
    channel = forms.ChoiceField(required=False, choices=CHANNEL_CHOICES, label="Channel")

    def selector_filters(self) -> dict[str, str | None]:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return {
            "search": data.get("q") or None,
            "status": data.get("status") or None,
            "intent": data.get("intent") or None,
            "channel": data.get("channel") or None,
        }


class LeadStatusForm(forms.Form):
    status = forms.ChoiceField(choices=LeadStatus.choices, label="Status")


class RetentionForm(forms.Form):
    conversation_retention_days = forms.IntegerField(
        required=False,
        min_value=RETENTION_MIN_DAYS,
        max_value=RETENTION_MAX_DAYS,
        label="Keep conversations for (days)",
        help_text="Conversations whose last message is older are deleted every night. Empty: keep them.",
    )


class ErasureForm(forms.Form):
    session_id = forms.CharField(required=False, max_length=200, label="Session id")
    email = forms.EmailField(required=False, max_length=254, label="Email address")

    def clean(self) -> dict[str, str]:
        data = super().clean() or {}
        if not self.errors and not data.get("session_id") and not data.get("email"):
            raise forms.ValidationError("Give the visitor's session id or email address.")
        return data
