"""Mark the subscriptions Stripe holds (public schema only), so the local lifecycle leaves them to the mirror."""

from django.db import migrations


def backfill(apps, schema_editor):
    if schema_editor.connection.schema_name != "public":
        return
    StripeCustomerLink = apps.get_model("stripe_billing", "StripeCustomerLink")
    Subscription = apps.get_model("billing", "Subscription")
    for link in StripeCustomerLink.objects.exclude(subscription_id=""):
        Subscription.objects.filter(tenant_id=link.tenant_id, provider_subscription_id="").update(
            provider_subscription_id=link.subscription_id
        )


class Migration(migrations.Migration):
    dependencies = [
        ("stripe_billing", "0001_stripe_links_and_webhook_inbox"),
        ("billing", "0014_subscription_cancelled_at_provider_credits_discounts"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
