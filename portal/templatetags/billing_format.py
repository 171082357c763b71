"""Money in minor units, shown in major units with its currency (the catalog stores cents and halalas)."""

from django import template

register = template.Library()


@register.filter
def money(amount: int | None, currency: str) -> str:
    if amount is None:
        return ""
    return f"{amount / 100:,.2f} {currency}"
