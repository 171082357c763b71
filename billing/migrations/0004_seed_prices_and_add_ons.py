"""Seeds the price list and the add-on marketplace (issue 5's default catalog).

Plan prices, in minor units (cents; halalas for SAR):

- Monthly, USD: Starter $49, Professional $149, Enterprise $499 (the issue's table).
- EUR and SAR monthly prices are round conversions, not a live exchange rate. Staff change
  them in admin.
  - EUR: about 0.92 EUR per USD, rounded to a price ending in 5 or 9: €45, €139, €459.
  - SAR: the riyal is pegged at 3.75 per USD, rounded the same way: SAR 185, 559, 1,869.
- Quarterly is 3 × monthly with 5% off. Annual is 12 × monthly with 17% off. Both are computed
  from the monthly price of the same currency and are exact to the minor unit, e.g. Starter
  USD: quarterly 3 × 4,900 × 0.95 = 13,965, annual 12 × 4,900 × 0.83 = 48,804.

Add-ons are priced per unit per month, with the same conversions.

Like 0002, this never overwrites: rows staff already made are kept.
"""

from django.db import migrations

MONTHLY_PRICES = {
    # plan code: {currency: monthly price in minor units}
    "starter": {"USD": 4_900, "EUR": 4_500, "SAR": 18_500},
    "professional": {"USD": 14_900, "EUR": 13_900, "SAR": 55_900},
    "enterprise": {"USD": 49_900, "EUR": 45_900, "SAR": 186_900},
}

# billing cycle: (months, percent off)
CYCLES = {"monthly": (1, 0), "quarterly": (3, 5), "annual": (12, 17)}

ADD_ONS = [
    {
        "code": "extra_agents_10",
        "name": "10 extra agents",
        "description": "Ten more agents on top of your plan's limit, per pack.",
        "features": [],
        "limit_increments": {"agents": 10},
        "sort_order": 10,
        "prices": {"USD": 2_900, "EUR": 2_700, "SAR": 10_900},
    },
    {
        "code": "extra_api_calls_100k",
        "name": "100,000 extra API calls",
        "description": "100,000 more API calls per month on top of your plan's limit, per pack.",
        "features": [],
        "limit_increments": {"api_calls_per_month": 100_000},
        "sort_order": 20,
        "prices": {"USD": 3_900, "EUR": 3_500, "SAR": 14_500},
    },
    {
        "code": "lead_capture",
        "name": "Lead capture",
        "description": "Agents collect contact details and hand qualified leads to your team.",
        "features": ["lead_capture"],
        "limit_increments": {},
        "sort_order": 30,
        "prices": {"USD": 1_900, "EUR": 1_700, "SAR": 6_900},
    },
    {
        "code": "analytics",
        "name": "Advanced analytics",
        "description": "Advanced analytics on any plan.",
        "features": ["advanced_analytics"],
        "limit_increments": {},
        "sort_order": 40,
        "prices": {"USD": 2_900, "EUR": 2_700, "SAR": 10_900},
    },
    {
        "code": "white_label",
        "name": "White label",
        "description": "Remove the platform's branding from the portal, widget and emails.",
        "features": ["remove_branding"],
        "limit_increments": {},
        "sort_order": 50,
        "prices": {"USD": 9_900, "EUR": 8_900, "SAR": 36_900},
    },
]


def cycle_amount(monthly: int, months: int, percent_off: int) -> int:
    """`months` × `monthly` less `percent_off`, rounded half up to the minor unit."""
    return (monthly * months * (100 - percent_off) + 50) // 100


def seed(apps, schema_editor):
    if schema_editor.connection.schema_name != "public":
        return
    Plan = apps.get_model("billing", "Plan")
    PlanPrice = apps.get_model("billing", "PlanPrice")
    AddOn = apps.get_model("billing", "AddOn")
    AddOnPrice = apps.get_model("billing", "AddOnPrice")
    for plan in Plan.objects.filter(code__in=MONTHLY_PRICES):
        for currency, monthly in MONTHLY_PRICES[plan.code].items():
            for cycle, (months, percent_off) in CYCLES.items():
                PlanPrice.objects.get_or_create(
                    plan=plan,
                    billing_cycle=cycle,
                    currency=currency,
                    defaults={"amount": cycle_amount(monthly, months, percent_off)},
                )
    for spec in ADD_ONS:
        fields = {key: value for key, value in spec.items() if key not in ("code", "prices")}
        add_on, _ = AddOn.objects.get_or_create(code=spec["code"], defaults=fields)
        for currency, amount in spec["prices"].items():
            AddOnPrice.objects.get_or_create(add_on=add_on, currency=currency, defaults={"amount": amount})


class Migration(migrations.Migration):
    dependencies = [("billing", "0003_catalog_prices_add_ons_and_overrides")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
