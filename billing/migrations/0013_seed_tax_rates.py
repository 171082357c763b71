"""Seeds the tax rates by buyer country (standard rates at the time of writing; staff edit them in admin).

Saudi Arabia 15 % VAT; a few EU member states at their standard VAT rate (EU business buyers from
another country than the seller's pay 0 % under reverse charge, see billing/tax.py); the United
States 0 % (sales tax on software services depends on the state and is not collected here). Like the
other seeds, this never overwrites a row staff already made.
"""

from decimal import Decimal

from django.db import migrations

TAX_RATES = [
    # country, name, percent
    ("SA", "VAT", "15.00"),
    ("AT", "VAT", "20.00"),
    ("BE", "VAT", "21.00"),
    ("DE", "VAT", "19.00"),
    ("ES", "VAT", "21.00"),
    ("FR", "VAT", "20.00"),
    ("IE", "VAT", "23.00"),
    ("IT", "VAT", "22.00"),
    ("NL", "VAT", "21.00"),
    ("US", "Sales tax", "0.00"),
]


def seed(apps, schema_editor):
    TaxRate = apps.get_model("billing", "TaxRate")
    for country, name, rate in TAX_RATES:
        TaxRate.objects.get_or_create(country=country, defaults={"name": name, "rate": Decimal(rate)})


class Migration(migrations.Migration):
    dependencies = [("billing", "0012_tax_rates_billing_profiles_and_invoice_tax_details")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
