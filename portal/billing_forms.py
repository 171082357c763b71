"""Forms of the billing pages."""

from __future__ import annotations

from django import forms


class CardForm(forms.Form):
    """A test card for the local backend. The number is read once by `payment_method_set` and dropped."""

    card_number = forms.CharField(
        max_length=23,
        label="Card number",
        help_text="Test cards: 4242 4242 4242 4242 is charged, 4000 0000 0000 0002 is declined.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )
    exp_month = forms.IntegerField(label="Expiry month", min_value=1, max_value=12)
    exp_year = forms.IntegerField(label="Expiry year", min_value=2000, max_value=2100)


class BillingProfileForm(forms.Form):
    legal_name = forms.CharField(max_length=200, label="Legal name")
    address = forms.CharField(max_length=500, label="Address", widget=forms.Textarea(attrs={"rows": 3}))
    country = forms.CharField(
        min_length=2, max_length=2, label="Country", help_text="Two-letter ISO code, e.g. SA, DE or US."
    )
    tax_id = forms.CharField(
        max_length=32, required=False, label="VAT or tax id", help_text="EU businesses: your VAT id, e.g. DE123456789."
    )
