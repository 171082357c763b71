from django import forms

from accounts.models import Role
from billing.selectors import plan_list_public
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
        plan_field.choices = [(p.code, f"{p.name} — ${p.monthly_price:,.0f}/month") for p in plans]
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
