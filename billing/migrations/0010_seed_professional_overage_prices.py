"""Seeds the overage prices of the plans that allow overage (Professional; Enterprise is unlimited).

Per started package, in minor units; EUR and SAR are the same round conversions as the plan prices
(about 0.92 EUR and 3.75 SAR per USD). Staff change them in admin (Plans → overage prices).

| meter | package | USD | EUR | SAR |
|---|---|---|---|---|
| API calls | 1,000 | 1.00 | 0.90 | 3.75 |
| chat messages | 1,000 | 2.00 | 1.85 | 7.50 |
| model tokens | 1,000,000 | 5.00 | 4.60 | 18.75 |

Like the other seeds, this never overwrites a price staff already set.
"""

from django.db import migrations

OVERAGE_PRICES = {
    "professional": {
        "api_calls": (1_000, {"USD": 100, "EUR": 90, "SAR": 375}),
        "chat_messages": (1_000, {"USD": 200, "EUR": 185, "SAR": 750}),
        "tokens": (1_000_000, {"USD": 500, "EUR": 460, "SAR": 1_875}),
    },
}


def seed(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    PlanOveragePrice = apps.get_model("billing", "PlanOveragePrice")
    for code, meters in OVERAGE_PRICES.items():
        plan = Plan.objects.filter(code=code).first()
        if plan is None:
            continue
        for meter, (package_size, amounts) in meters.items():
            for currency, amount in amounts.items():
                PlanOveragePrice.objects.get_or_create(
                    plan=plan,
                    meter=meter,
                    currency=currency,
                    defaults={"amount": amount, "package_size": package_size},
                )


class Migration(migrations.Migration):
    dependencies = [("billing", "0009_overage_prices_and_records")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
