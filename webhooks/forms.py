"""Portal forms of the Webhooks page. Field names match the errors the services report."""

from __future__ import annotations

from django import forms

from portal.forms import LabelledForm, SingleSubmissionForm
from webhooks.models import SUBSCRIBABLE_EVENT_TYPE_CHOICES


def _event_types_field() -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label="Events to send",
        choices=SUBSCRIBABLE_EVENT_TYPE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one event type."},
    )


class WebhookEndpointForm(LabelledForm):
    url = forms.CharField(
        label="Endpoint URL",
        max_length=2000,
        widget=forms.TextInput(
            attrs={"placeholder": "https://hooks.example.com/agentry", "inputmode": "url", "spellcheck": "false"}
        ),
        help_text="An https URL on the public internet. Redirects are not followed.",
    )
    description = forms.CharField(label="Description", max_length=200, required=False)
    event_types = _event_types_field()
    is_enabled = forms.BooleanField(label="Enabled", required=False, initial=True)


class WebhookEndpointCreateForm(WebhookEndpointForm, SingleSubmissionForm):
    """Creating shows the secret once, in the POST's response: guarded against resubmission."""


class WebhookRotateForm(SingleSubmissionForm):
    overlap_hours = forms.IntegerField(
        label="Keep the old secret signing for (hours)",
        min_value=0,
        max_value=168,
        initial=24,
        help_text="During this time every delivery carries both signatures, so receivers can switch over.",
    )
