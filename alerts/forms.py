from __future__ import annotations

import re

from django import forms

from alerts.models import MAX_THRESHOLDS


class UsageAlertSettingsForm(forms.Form):
    thresholds = forms.CharField(
        max_length=100,
        label="Alert me at (% of a limit)",
        help_text=(
            f"Up to {MAX_THRESHOLDS} whole numbers from 1 to 100, separated by commas. 100 means the limit is reached."
        ),
    )

    def clean_thresholds(self) -> list[int]:
        """Numbers only here; their range, count and uniqueness are the service's rules."""
        parts = [part for part in re.split(r"[,\s;]+", self.cleaned_data["thresholds"].replace("%", " ")) if part]
        if not parts:
            raise forms.ValidationError("Enter at least one threshold.")
        if not all(part.isdecimal() for part in parts):
            raise forms.ValidationError("Each threshold is a whole number from 1 to 100.")
        return [int(part) for part in parts]
