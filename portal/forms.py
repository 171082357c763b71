from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import groupby
from typing import Any

from django import forms
from django.utils import timezone

from accounts.models import Role
from apikeys.scopes import SCOPE_DESCRIPTIONS, Scope
from billing.selectors import plan_list_public
from portal.submissions import submission_token_new
from tenants.slugs import SLUG_MAX_LENGTH, SLUG_MIN_LENGTH


class SignupForm(forms.Form):
    company_name = forms.CharField(max_length=120, label="Company name")
    slug = forms.CharField(
        min_length=SLUG_MIN_LENGTH,
        max_length=SLUG_MAX_LENGTH,
        label="Workspace address",
        help_text="Lowercase letters, digits and hyphens. Your portal will live at <address>.",
    )
    email = forms.EmailField(label="Your work email")
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}), min_length=8)
    plan = forms.ChoiceField(label="Plan")

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        plans = list(plan_list_public())
        plan_field = self.fields["plan"]
        assert isinstance(plan_field, forms.ChoiceField)
        plan_field.choices = [
            (p.code, f"{p.name} — ${p.monthly_price:,.0f}/month" if p.monthly_price is not None else p.name)
            for p in plans
        ]
        if not self.is_bound and plans:
            self.initial.setdefault("plan", plans[0].code)

    def clean_slug(self) -> str:
        return self.cleaned_data["slug"].strip().lower()


class InviteForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class ProfileForm(forms.Form):
    full_name = forms.CharField(max_length=150, required=False, label="Full name")


class InvitationAcceptForm(forms.Form):
    full_name = forms.CharField(max_length=150, required=False, label="Full name")
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password_confirm = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}), label="Confirm password"
    )

    def clean(self):  # type: ignore[no-untyped-def]
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("password_confirm"):
            self.add_error("password_confirm", "The two passwords do not match.")
        return data


class LabelledForm(forms.Form):
    """Rendered with `as_field_group`: labels read “Name”, not “Name:”."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class SingleSubmissionForm(LabelledForm):
    """A form whose successful POST must not take effect twice (see portal/submissions.py)."""

    submission = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial.setdefault("submission", submission_token_new())


MAX_ALLOWED_CIDRS = 50


class ApiKeyCreateForm(SingleSubmissionForm):
    """Field names match the errors `api_key_create` reports, so they land on the right field."""

    name = forms.CharField(max_length=100, label="Name", help_text="What will use it, e.g. “CRM sync”.")
    scopes = forms.MultipleChoiceField(
        label="Scopes",
        error_messages={
            "required": "Choose at least one scope.",
            "invalid_choice": "“%(value)s” is not a scope you can grant.",
        },
    )
    expires_at = forms.DateField(
        required=False,
        label="Expires on",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Optional. The key stops working at 00:00 UTC on this day.",
    )
    allowed_cidrs = forms.CharField(
        required=False,
        label="Allowed IP addresses",
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "placeholder": "203.0.113.0/24\n2001:db8::/32"}),
        help_text="Optional. One IPv4 or IPv6 address or CIDR range per line; calls from anywhere else are refused.",
    )
    signing_required = forms.BooleanField(
        required=False,
        label="Require signed requests",
        help_text="Every call must carry an HMAC signature made with a separate signing secret.",
    )

    def __init__(self, *args: Any, offered_scopes: frozenset[str], **kwargs: Any) -> None:
        """Only `offered_scopes` (the creator's own) are offered, and only they are accepted."""
        super().__init__(*args, **kwargs)
        self.offered_scopes = [scope.value for scope in Scope if scope in offered_scopes]
        scopes_field = self.fields["scopes"]
        assert isinstance(scopes_field, forms.MultipleChoiceField)
        scopes_field.choices = [(scope, scope) for scope in self.offered_scopes]
        expires_widget = self.fields["expires_at"].widget
        expires_widget.attrs["min"] = (timezone.now().date() + timedelta(days=1)).isoformat()

    def scope_options(self) -> list[dict[str, Any]]:
        """Each offered scope with its description and whether it is ticked (for the template)."""
        ticked = set(self["scopes"].value() or [])
        return [
            {"value": scope, "description": SCOPE_DESCRIPTIONS[scope], "checked": scope in ticked, "index": index}
            for index, scope in enumerate(self.offered_scopes)
        ]

    def clean_expires_at(self) -> datetime | None:
        day: date | None = self.cleaned_data["expires_at"]
        return datetime.combine(day, time.min, tzinfo=UTC) if day else None

    def clean_allowed_cidrs(self) -> list[str]:
        cidrs = [line.strip() for line in self.cleaned_data["allowed_cidrs"].splitlines() if line.strip()]
        if len(cidrs) > MAX_ALLOWED_CIDRS:
            raise forms.ValidationError(f"At most {MAX_ALLOWED_CIDRS} addresses or ranges.")
        return cidrs


ROTATION_OVERLAPS = [
    (0, "None: the old secret stops working now"),
    (3600, "1 hour"),
    (86400, "24 hours"),
    (604800, "7 days"),
]


class ApiKeyRotateForm(SingleSubmissionForm):
    overlap_seconds = forms.TypedChoiceField(
        coerce=int,
        choices=ROTATION_OVERLAPS,
        initial=0,
        widget=forms.RadioSelect,
        label="Keep the old secret working for",
    )


class AuditLogFilterForm(LabelledForm):
    action = forms.ChoiceField(required=False, label="Action")
    actor = forms.CharField(
        required=False, max_length=254, label="Actor", help_text="An email, a key id (key_…) or a name."
    )
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, actions: list[str], **kwargs: Any) -> None:
        """`actions`: the distinct actions recorded, grouped in the menu by their prefix."""
        super().__init__(*args, **kwargs)
        choices: list[Any] = [("", "All actions")]
        for prefix, group in groupby(sorted(actions), key=lambda action: action.partition(".")[0]):
            members = [(action, action) for action in group]
            if any("." in action for action, _ in members):
                members.insert(0, (f"{prefix}.", f"All {prefix} events"))
            choices.append((prefix, members))
        action_field = self.fields["action"]
        assert isinstance(action_field, forms.ChoiceField)
        action_field.choices = choices

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "Must be on or after the “From” date.")
        return data

    def selector_filters(self) -> dict[str, Any]:
        """The cleaned filters as `audit_event_list` arguments (whole days, UTC)."""
        data = self.cleaned_data
        return {
            "action": data["action"],
            "actor": data["actor"].strip(),
            "since": datetime.combine(data["since"], time.min, tzinfo=UTC) if data["since"] else None,
            "until": datetime.combine(data["until"], time.max, tzinfo=UTC) if data["until"] else None,
        }
